"""`olmoasr transcribe` on a directory with one corrupt file: the rest finish, the failure is reported."""

from __future__ import annotations

import copy
import json
import shutil

import pytest
import torch

from olmoasr.cli.main import run
from olmoasr.model.checkpoints import save_model
from olmoasr.model.tokenizer import get_tokenizer


@pytest.mark.parametrize("mode", [[], ["--batched", "--batch-size", "2"]], ids=["sequential", "batched"])
def test_directory_with_a_corrupt_file(tmp_path, model_pair, librivox_utterances, capsys, mode):
    ours, _ = model_pair
    quick = copy.deepcopy(ours)
    with torch.no_grad():  # make end-of-text likely so each random window stops after a few tokens
        quick.decoder.token_embedding.weight[get_tokenizer(False).eot].mul_(6.0)
    checkpoint = save_model(quick, tmp_path / "micro.pt")
    inputs = tmp_path / "in"
    (inputs / "sub").mkdir(parents=True)
    shutil.copy(librivox_utterances[0][0], inputs / "a.wav")
    shutil.copy(librivox_utterances[1][0], inputs / "sub" / "b.wav")
    (inputs / "broken.mp3").write_bytes(b"not audio at all")
    (inputs / "notes.txt").write_text("ignored: not a media file")

    code = run(
        [
            "transcribe",
            str(inputs),
            "--model",
            str(checkpoint),
            "-o",
            str(tmp_path / "out"),
            "-f",
            "srt,json",
            "--temperature",
            "0",
            "--temperature-increment-on-fallback",
            "0",
            "--without-timestamps",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "broken.mp3" in err and "1 file(s) failed" in err and "transcribed 2 file(s)" in err
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.*")) == [
        "a.json",
        "a.srt",
        "sub/b.json",
        "sub/b.srt",
    ]
    assert json.loads((tmp_path / "out" / "a.json").read_text())["language"] == "en"


def test_invalid_options_fail_before_loading(tmp_path, capsys):
    code = run(["transcribe", str(tmp_path), "--model", str(tmp_path / "missing.pt"), "--patience", "2"])
    assert code == 1
    assert "patience needs beam_size" in capsys.readouterr().err
