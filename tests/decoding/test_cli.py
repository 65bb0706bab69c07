"""`olmoasr transcribe` on a directory with one corrupt file: the rest finish, the failure is reported."""

from __future__ import annotations

import json
import shutil
from types import SimpleNamespace

import pytest
import torch

from olmoasr.cli.main import run
from olmoasr.model.checkpoints import save_model
from olmoasr.model.network import Whisper
from olmoasr.model.tokenizer import get_tokenizer


@pytest.mark.parametrize("mode", [[], ["--batched", "--batch-size", "2"]], ids=["sequential", "batched"])
def test_directory_with_a_corrupt_file(tmp_path, model_pair, librivox_utterances, capsys, mode):
    ours, _ = model_pair
    quick = Whisper(ours.dims).eval()  # not deepcopy: a model that decoded holds oneDNN-packed weights
    quick.load_state_dict(ours.state_dict())
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
    # the failure is one line naming the file and ending with its whole reason, not folded at 80 columns
    failure = [line for line in err.splitlines() if line.startswith(f"  {inputs / 'broken.mp3'}:")]
    assert len(failure) == 1 and len(failure[0]) > 80 and failure[0].endswith(")"), err
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


class _FakeFastEngine:
    name = "ctranslate2"
    precision = "int8"
    cpu_threads = 2
    device = torch.device("cpu")


@pytest.fixture
def captured_call(monkeypatch):
    """Replace model loading and the file runner; record what the CLI passes to them."""
    from olmoasr.model import checkpoints
    from olmoasr.outputs import runner

    calls: dict = {}

    def fake_load(name, device=None, dtype=None, **_):
        calls["load"] = {"device": device, "dtype": dtype}
        return SimpleNamespace(device=torch.device(device), dtype=dtype)

    def fake_load_ctranslate2(name, device=None, compute_type=None, **_):
        calls["load_ctranslate2"] = {"device": device, "compute_type": compute_type}
        return _FakeFastEngine()

    def fake_run(model, inputs, output_dir, formats, **options):
        calls["options"] = options
        return runner.RunSummary()

    from olmoasr.engines import ctranslate2_engine

    monkeypatch.setattr(ctranslate2_engine, "load_ctranslate2", fake_load_ctranslate2)
    monkeypatch.setattr(checkpoints, "load_model", fake_load)
    monkeypatch.setattr(runner, "transcribe_files", fake_run)
    return calls


def test_cli_passes_only_the_options_the_user_set(tmp_path, captured_call):
    assert run(["transcribe", str(tmp_path), "--model", "m", "--engine", "torch"]) == 0
    assert captured_call["options"] == {"batched": False, "verbose": False}
    assert captured_call["load"] == {"device": torch.device("cpu"), "dtype": torch.float32}

    argv = ["transcribe", str(tmp_path), "-m", "m", "--engine", "torch", "--best-of", "3"]
    argv += ["--no-speech-threshold", "0.5"]
    assert run([*argv, "--temperature", "0.4", "--no-condition-on-previous-text"]) == 0
    assert captured_call["options"] == {
        "batched": False,
        "verbose": False,
        "best_of": 3,
        "no_speech_threshold": 0.5,
        "temperature": (0.4, 0.6, 0.8, 1.0),
        "condition_on_previous_text": False,
    }

    assert run(["transcribe", str(tmp_path), "--model", "m", "--engine", "torch", "--batched", "--no-vad"]) == 0
    assert captured_call["options"] == {"batched": True, "verbose": False, "vad": False}


def test_cli_half_precision_on_a_cpu_is_one_clear_error(tmp_path, captured_call, capsys):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert run(["transcribe", str(tmp_path), "--model", "m", "--engine", "torch", "--fp16"]) == 1
    assert "float16 needs a CUDA device" in capsys.readouterr().err
    assert "load" not in captured_call


def test_cli_engine_choice_is_said_in_one_line(tmp_path, captured_call, capsys):
    pytest.importorskip("ctranslate2")
    assert run(["transcribe", str(tmp_path), "--model", "m", "--device", "cpu"]) == 0
    assert captured_call["load_ctranslate2"] == {"device": "cpu", "compute_type": None}
    assert "engine: ctranslate2 (int8, cpu, 2 threads)" in capsys.readouterr().err

    assert run(["transcribe", str(tmp_path), "-m", "m", "--engine", "ctranslate2", "--compute-type", "float32"]) == 0
    assert captured_call["load_ctranslate2"] == {"device": None, "compute_type": "float32"}
    assert "load" not in captured_call

    assert run(["transcribe", str(tmp_path), "-m", "m", "--engine", "torch", "--compute-type", "int8"]) == 1
    assert "--compute-type is for --engine ctranslate2" in capsys.readouterr().err
    assert run(["transcribe", str(tmp_path), "-m", "m", "--engine", "torch"]) == 0
    assert "engine: torch (float32, cpu" in capsys.readouterr().err
