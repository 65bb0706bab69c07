"""`olmoasr convert` through the real CLI entry point."""

from __future__ import annotations

import pytest
import torch

from olmoasr.cli.main import run
from olmoasr.model.checkpoints import load_model, save_model


def test_convert_training_file_to_ctranslate2_and_back(make_model, tmp_path, capsys):
    pytest.importorskip("ctranslate2")
    model = make_model()
    source = save_model(model, tmp_path / "export.pt", "openai")
    assert run(["convert", str(source), str(tmp_path / "ct2"), "--format", "ctranslate2", "--dtype", "fp16"]) == 0
    assert "wrote ctranslate2 checkpoint" in capsys.readouterr().out
    assert (tmp_path / "ct2" / "model.bin").is_file()
    assert run(["convert", str(tmp_path / "ct2"), str(tmp_path / "back.safetensors"), "-f", "safetensors"]) == 0
    back = load_model(tmp_path / "back.safetensors", device="cpu")
    assert back.dims == model.dims
    weight = model.decoder.token_embedding.weight
    assert torch.allclose(back.decoder.token_embedding.weight, weight.half().float())


def test_convert_errors_are_one_line(tmp_path, capsys):
    assert run(["convert", str(tmp_path / "missing.pt"), str(tmp_path / "out.pt")]) == 1
    assert run(["convert", "tiny", str(tmp_path / "out"), "--format", "onnx"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("error: ") for line in err)
    assert "no such checkpoint" in err[0] and "--format" in err[1]
