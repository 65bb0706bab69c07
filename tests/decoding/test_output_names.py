"""Output names: two inputs never write the same transcript (`x.wav` + `x.mp3`, `a/x.wav` + `b/x.wav`)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from olmoasr.cli.main import run
from olmoasr.errors import UsageError
from olmoasr.outputs.runner import collect_inputs, transcribe_files


def _touch(*paths: Path) -> None:
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")


def _names(inputs) -> dict[str, str]:
    return {item.path.as_posix(): (item.output_dir / item.output_name).as_posix() for item in inputs}


def test_a_lone_stem_keeps_the_plain_name(tmp_path):
    _touch(tmp_path / "in" / "x.wav", tmp_path / "in" / "y.mp3")
    inputs, _ = collect_inputs([tmp_path / "in"], "out")
    assert sorted(_names(inputs).values()) == ["out/x", "out/y"]


def test_same_stem_in_one_folder_keeps_the_extensions(tmp_path):
    _touch(tmp_path / "in" / "x.wav", tmp_path / "in" / "x.mp3", tmp_path / "in" / "sub" / "x.ogg")
    inputs, _ = collect_inputs([tmp_path / "in"], "out")
    assert sorted(_names(inputs).values()) == ["out/sub/x", "out/x.mp3", "out/x.wav"]
    # the same rule for files given one by one
    inputs, _ = collect_inputs([tmp_path / "in" / "x.wav", tmp_path / "in" / "x.mp3"], "out")
    assert sorted(_names(inputs).values()) == ["out/x.mp3", "out/x.wav"]


def test_same_name_in_folders_of_a_directory_input_is_mirrored(tmp_path):
    _touch(tmp_path / "in" / "a" / "x.wav", tmp_path / "in" / "b" / "x.wav")
    inputs, _ = collect_inputs([tmp_path / "in"], "out")
    assert sorted(_names(inputs).values()) == ["out/a/x", "out/b/x"]


def test_same_file_name_from_two_folders_given_as_files_is_refused(tmp_path):
    a, b = tmp_path / "a" / "x.wav", tmp_path / "b" / "x.wav"
    _touch(a, b)
    with pytest.raises(UsageError) as caught:
        collect_inputs([a, b], "out")
    message = str(caught.value)
    assert "\n" not in message and str(a) in message and str(b) in message and "out/x.wav.*" in message


def test_the_same_file_twice_is_transcribed_once(tmp_path):
    _touch(tmp_path / "x.wav")
    inputs, _ = collect_inputs([tmp_path / "x.wav", tmp_path / ".." / tmp_path.name / "x.wav"], "out")
    assert _names(inputs) == {(tmp_path / "x.wav").as_posix(): "out/x"}


def test_colliding_inputs_fail_before_the_model_loads(tmp_path, capsys, monkeypatch):
    from olmoasr.model import checkpoints

    monkeypatch.setattr(checkpoints, "load_model", lambda *a, **k: pytest.fail("the model was loaded"))
    a, b = tmp_path / "a" / "x.wav", tmp_path / "b" / "x.wav"
    _touch(a, b)
    assert run(["transcribe", str(a), str(b), "-m", "m", "--engine", "torch", "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert f"{a} and {b} would both write" in err


@pytest.mark.parametrize("batched", [False, True], ids=["sequential", "batched"])
def test_x_wav_and_x_mp3_both_written(tmp_path, monkeypatch, batched):
    """Through the runner: each input's own transcript lands in its own file."""
    from olmoasr.model import batched as batched_module
    from olmoasr.model import transcribe as transcribe_module

    _touch(tmp_path / "in" / "x.wav", tmp_path / "in" / "x.mp3")

    def fake_transcribe(model, path, progress=None, **options):
        progress(0.0, 10.0)
        progress(10.0, 10.0)
        return {"text": Path(path).name, "segments": [{"start": 0, "end": 1, "text": Path(path).name}]}

    class FakeBatched:
        def __init__(self, model, **options):
            pass

        def run(self, sources, progress):
            for index, source in enumerate(sources):
                progress(index, 10.0, 10.0)
                yield index, {**fake_transcribe(None, source, lambda *a: None), "dropped": []}

    monkeypatch.setattr(transcribe_module, "transcribe", fake_transcribe)
    monkeypatch.setattr(batched_module, "BatchedTranscriber", FakeBatched)
    model = SimpleNamespace(device=torch.device("cpu"))
    summary = transcribe_files(model, [tmp_path / "in"], tmp_path / "out", "txt", batched=batched, show_progress=True)
    assert summary.succeeded == 2 and summary.audio_seconds == 20.0
    out = tmp_path / "out"
    assert (out / "x.wav.txt").read_text() == "x.wav\n"
    assert (out / "x.mp3.txt").read_text() == "x.mp3\n"
