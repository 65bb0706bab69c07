"""Any checkpoint runs on CTranslate2: converted once (through CTranslate2's own spec) into a content-keyed cache."""

from __future__ import annotations

import pytest
import torch

from olmoasr.engines import as_engine
from olmoasr.engines import ctranslate2_convert as convert
from olmoasr.engines.ctranslate2_engine import CTranslate2Engine, load_ctranslate2
from olmoasr.model.checkpoints import save_model
from olmoasr.model.decoding import DecodingOptions
from olmoasr.model.dims import ModelDimensions
from olmoasr.model.network import Whisper, init_fan_in_gaussian_

pytest.importorskip("ctranslate2")

WINDOW_DIMS = ModelDimensions(80, 1500, 64, 4, 2, 51864, 448, 64, 4, 2)  # full 30 s windows, micro width


@pytest.fixture
def micro_model() -> Whisper:
    torch.manual_seed(1)
    return init_fan_in_gaussian_(Whisper(WINDOW_DIMS)).eval()


def test_converted_weights_decode_like_torch(micro_model, tmp_path):
    folder = save_model(micro_model, tmp_path / "ct2", "ctranslate2", quantization="float32")
    fast = CTranslate2Engine(folder, device="cpu", compute_type="float32")
    mel = torch.randn(2, 80, 3000, generator=torch.Generator().manual_seed(0))
    options = DecodingOptions(language="en", sample_len=24)
    reference = as_engine(micro_model)
    expected = reference.decode(reference.encode(mel), options)
    results = fast.decode(fast.encode(mel), options)
    assert [r.tokens for r in results] == [r.tokens for r in expected]
    assert any(token >= 50363 for r in results for token in r.tokens)  # timestamps were decoded too


def test_cache_is_keyed_by_content_and_compute_type(micro_model, tmp_path, monkeypatch):
    monkeypatch.setenv("OLMOASR_CACHE", str(tmp_path / "cache"))
    checkpoint = save_model(micro_model, tmp_path / "model.pt", "openai")
    first = load_ctranslate2(checkpoint, device="cpu", compute_type="int8")
    assert first.model_dir.parent == tmp_path / "cache" / "ctranslate2"
    assert first.model_dir.name.endswith("-int8") and first.precision.startswith("int8")
    assert (first.model_dir / "tokenizer.json").is_file()

    def no_conversion(*args, **kwargs):
        raise AssertionError("converted again")

    monkeypatch.setattr(convert, "write_ctranslate2", no_conversion)
    assert load_ctranslate2(checkpoint, device="cpu", compute_type="int8").model_dir == first.model_dir
    monkeypatch.undo()
    monkeypatch.setenv("OLMOASR_CACHE", str(tmp_path / "cache"))
    other = load_ctranslate2(checkpoint, device="cpu", compute_type="float32")
    assert other.model_dir != first.model_dir and other.model_dir.name.endswith("-float32")

    with torch.no_grad():
        micro_model.decoder.ln.bias += 1.0
    save_model(micro_model, checkpoint, "openai")  # same path, new content -> new entry
    changed = load_ctranslate2(checkpoint, device="cpu", compute_type="int8")
    assert changed.model_dir != first.model_dir
    leftovers = [p.name for p in (tmp_path / "cache" / "ctranslate2").iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_ctranslate2_folder_is_used_in_place(micro_model, tmp_path, monkeypatch):
    monkeypatch.setenv("OLMOASR_CACHE", str(tmp_path / "cache"))
    folder = save_model(micro_model, tmp_path / "ct2", "ctranslate2")
    assert load_ctranslate2(folder, device="cpu", compute_type="int8").model_dir == folder
    assert not (tmp_path / "cache" / "ctranslate2").exists()
