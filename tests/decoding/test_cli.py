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


@pytest.fixture
def captured_call(monkeypatch):
    """Replace model loading and the file runner; record what the CLI passes to them."""
    from olmoasr.model import checkpoints
    from olmoasr.outputs import runner

    calls: dict = {}

    def fake_load(name, device=None, dtype=None, **_):
        calls["load"] = {"device": device, "dtype": dtype}
        return object()

    def fake_run(model, inputs, output_dir, formats, **options):
        calls["options"] = options
        return runner.RunSummary()

    monkeypatch.setattr(checkpoints, "load_model", fake_load)
    monkeypatch.setattr(runner, "transcribe_files", fake_run)
    return calls


def test_cli_passes_only_the_options_the_user_set(tmp_path, captured_call):
    assert run(["transcribe", str(tmp_path), "--model", "m"]) == 0
    assert captured_call["options"] == {"batched": False, "verbose": False}
    assert captured_call["load"] == {"device": torch.device("cpu"), "dtype": torch.float32}

    argv = ["transcribe", str(tmp_path), "--model", "m", "--best-of", "3", "--no-speech-threshold", "0.5"]
    assert run([*argv, "--temperature", "0.4", "--no-condition-on-previous-text"]) == 0
    assert captured_call["options"] == {
        "batched": False,
        "verbose": False,
        "best_of": 3,
        "no_speech_threshold": 0.5,
        "temperature": (0.4, 0.6, 0.8, 1.0),
        "condition_on_previous_text": False,
    }

    assert run(["transcribe", str(tmp_path), "--model", "m", "--batched", "--no-vad"]) == 0
    assert captured_call["options"] == {"batched": True, "verbose": False, "vad": False}


def test_cli_half_precision_on_a_cpu_is_one_clear_error(tmp_path, captured_call, capsys):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert run(["transcribe", str(tmp_path), "--model", "m", "--fp16"]) == 1
    assert "float16 needs a CUDA device" in capsys.readouterr().err
    assert "load" not in captured_call
