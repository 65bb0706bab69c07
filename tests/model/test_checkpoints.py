"""Checkpoints: every format loads from a local path, saves round-trip, bad and unsafe files fail clearly."""

from __future__ import annotations

import dataclasses
import json
import struct
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

import olmoasr
from olmoasr.errors import InputError, UsageError
from olmoasr.model.checkpoint_formats.ctranslate2 import read_model_bin
from olmoasr.model.checkpoints import infer_dims, load_model, read_checkpoint, save_model


@torch.no_grad()
def _logits(model, seed: int = 3) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    mel = torch.randn(1, model.dims.n_mels, 2 * model.dims.n_audio_ctx, generator=gen)
    tokens = torch.tensor([[50257, 50362, 440, 2068, 7586]])
    return model.logits(tokens, model.embed_audio(mel))


def _assert_same_model(loaded, original, atol: float = 1e-6) -> None:
    assert loaded.dims == original.dims
    assert (_logits(loaded) - _logits(original)).abs().max() <= atol


@pytest.mark.parametrize(
    ("dims_name", "fmt"),
    [("en-80", "openai"), ("en-80", "safetensors"), ("en-80", "hf"), ("en-80", "ctranslate2"),
     ("multi-128", "hf"), ("multi-128", "ctranslate2"), ("multi-99", "openai"), ("multi-99", "safetensors")],
)  # fmt: skip
def test_save_and_load_round_trip(make_model, dims_name, tmp_path, fmt):
    if fmt == "ctranslate2":
        pytest.importorskip("ctranslate2")  # written through CTranslate2's own converter
    model = make_model(dims_name)
    model.set_alignment_heads([[0, 1], [model.dims.n_text_layer - 1, 0]])
    path = save_model(model, tmp_path / f"model-{fmt}", fmt)
    loaded = load_model(path, device="cpu")
    _assert_same_model(loaded, model)
    assert loaded.alignment_heads.tolist() == model.alignment_heads.tolist()
    assert read_checkpoint(path).format == {"openai": "pytorch"}.get(fmt, fmt)


def test_openai_pt_written_by_hand_loads(make_model, tmp_path):
    model = make_model()
    path = tmp_path / "whisper.pt"
    torch.save({"dims": model.dims.to_dict(), "model_state_dict": model.state_dict()}, path)
    loaded = olmoasr.load_model(str(path), device="cpu", inference=True)  # the original API's keyword
    _assert_same_model(loaded, model)
    assert loaded.alignment_heads.tolist() == model.alignment_heads.tolist()  # default: last half


def test_our_openai_file_loads_in_openai_whisper(make_model, tmp_path):
    whisper_model = pytest.importorskip("whisper.model")
    model = make_model("multi-128")
    path = save_model(model, tmp_path / "for-whisper.pt", "openai")
    checkpoint = torch.load(path, weights_only=True)
    twin = whisper_model.Whisper(whisper_model.ModelDimensions(**checkpoint["dims"]))
    twin.load_state_dict(checkpoint["model_state_dict"])
    assert (_logits(twin.eval()) - _logits(model)).abs().max() < 1e-4


def _training_checkpoint(model, prefix: str) -> dict:
    """An OLMoASR DDP training file: `module.` keys, a 51 865-row embedding, optimizer and scheduler state."""
    state = {prefix + key: value.clone() for key, value in model.state_dict().items()}
    key = prefix + "decoder.token_embedding.weight"
    state[key] = torch.cat([state[key], torch.randn(1, state[key].shape[1])])
    return {
        "global_step": 1024,
        "local_step": 8,
        "epoch": 1,
        "best_eval_wer": 17.5,
        "model_state_dict": state,
        "optimizer_state_dict": {
            "state": {0: {"step": torch.tensor(8.0), "exp_avg": torch.zeros(3), "exp_avg_sq": torch.zeros(3)}},
            "param_groups": [{"lr": 1.5e-3, "betas": (0.9, 0.98), "eps": 1e-6, "weight_decay": 0.1, "params": [0]}],
        },
        "scaler_state_dict": {"scale": 65536.0, "growth_factor": 2.0, "_growth_tracker": 3},
        "scheduler_state_dict": {"base_lrs": [1.5e-3], "last_epoch": 8, "lr_lambdas": [None]},
    }


def test_olmoasr_training_checkpoint_with_pickled_dims_dataclass(make_model, tmp_path):
    model = make_model()
    module = types.ModuleType("olmoasr.config.model_dims")

    @dataclasses.dataclass
    class ModelDimensions:  # the original's dataclass, pickled by reference
        n_mels: int
        n_audio_ctx: int
        n_audio_state: int
        n_audio_head: int
        n_audio_layer: int
        n_vocab: int
        n_text_ctx: int
        n_text_state: int
        n_text_head: int
        n_text_layer: int

    ModelDimensions.__module__, ModelDimensions.__qualname__ = module.__name__, "ModelDimensions"
    module.ModelDimensions = ModelDimensions
    path = tmp_path / "latesttrain_00001024_tiny_ddp-train_grad-acc_fp16_ddp.pt"
    saved = {name: sys.modules.get(name) for name in ("olmoasr.config", "olmoasr.config.model_dims")}
    sys.modules["olmoasr.config.model_dims"] = module
    sys.modules.setdefault("olmoasr.config", types.ModuleType("olmoasr.config"))
    try:
        payload = _training_checkpoint(model, "module.")
        payload["dims"] = ModelDimensions(**model.dims.to_dict())
        torch.save(payload, path)
    finally:
        for name, previous in saved.items():
            if previous is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous
    assert "olmoasr.config.model_dims" not in sys.modules  # loading cannot import the class
    loaded = load_model(path, device="cpu")
    _assert_same_model(loaded, model)
    assert loaded.decoder.token_embedding.weight.shape[0] == 51864


def test_fsdp_bare_state_dict_without_dims(tmp_path, capsys):
    from olmoasr.model.dims import ModelDimensions
    from olmoasr.model.network import Whisper, init_fan_in_gaussian_

    torch.manual_seed(0)
    model = init_fan_in_gaussian_(Whisper(ModelDimensions(80, 10, 128, 2, 2, 51864, 16, 128, 2, 2))).eval()
    state = _training_checkpoint(model, "_fsdp_wrapped_module.")["model_state_dict"]
    state = {
        k.replace("blocks.0.", "blocks.0._fsdp_wrapped_module._checkpoint_wrapped_module."): v for k, v in state.items()
    }
    path = tmp_path / "model_state_latesttrain_00000512_small_fsdp-train_grad-acc_bfloat16.pt"
    torch.save(state, path)
    loaded = load_model(path, device="cpu")
    _assert_same_model(loaded, model)
    assert "training layout" in capsys.readouterr().err


def test_infer_dims_from_shapes(make_model):
    from olmoasr.model.dims import VARIANTS
    from olmoasr.model.network import Whisper

    with torch.device("meta"):
        tiny = Whisper(VARIANTS["tiny"])
    assert infer_dims(tiny.state_dict()) == VARIANTS["tiny"]


def test_hf_folder_uses_transformers_names(make_model, tmp_path):
    from safetensors import safe_open

    model = make_model()
    folder = save_model(model, tmp_path / "hf", "hf")
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == "whisper" and config["d_model"] == 64 and config["vocab_size"] == 51864
    with safe_open(str(folder / "model.safetensors"), framework="pt") as fh:
        keys = set(fh.keys())  # noqa: SIM118
    assert "model.encoder.layers.0.self_attn.k_proj.weight" in keys
    assert "model.encoder.layers.0.self_attn.k_proj.bias" not in keys
    assert "model.decoder.layers.2.encoder_attn.out_proj.bias" in keys
    assert "model.decoder.embed_tokens.weight" in keys
    assert json.loads((folder / "generation_config.json").read_text())["alignment_heads"]
    # The weights file alone also loads (the folder's config is found next to it).
    _assert_same_model(load_model(folder / "model.safetensors", device="cpu"), model)


def test_ctranslate2_binary_layout(make_model, tmp_path):
    pytest.importorskip("ctranslate2")
    model = make_model()
    folder = save_model(model.half(), tmp_path / "ct2", "ctranslate2")
    raw = (folder / "model.bin").read_bytes()
    assert struct.unpack("<I", raw[:4])[0] == 6
    assert raw[4:6] == struct.pack("<H", 12) and raw[6:18] == b"WhisperSpec\0"
    spec, variables = read_model_bin(folder / "model.bin")
    assert spec == "WhisperSpec"
    assert variables["decoder/embeddings/weight"].dtype == torch.float16
    assert variables["decoder/projection/weight"] is variables["decoder/embeddings/weight"]  # alias
    assert variables["encoder/layer_0/self_attention/linear_0/weight"].shape == (3 * 64, 64)  # fused q, k, v
    assert int(variables["decoder/num_heads"]) == 4
    vocabulary = json.loads((folder / "vocabulary.json").read_text(encoding="utf-8"))
    assert len(vocabulary) == 51864 and vocabulary[50256] == "<|endoftext|>" and vocabulary[262] == "Ġthe"
    loaded = load_model(folder, device="cpu", dtype=torch.float16)
    assert loaded.dtype == torch.float16
    assert (_logits(loaded) - _logits(model)).abs().max() < 1e-3


def _write_string(fh, text: str) -> None:
    raw = text.encode() + b"\0"
    fh.write(struct.pack("<H", len(raw)) + raw)


def test_ctranslate2_reader_dequantizes_and_resolves_aliases(tmp_path):
    path = tmp_path / "model.bin"
    weight = np.array([[0.5, -1.0], [0.25, 0.125]], dtype=np.float32)
    scale = (127.0 / np.abs(weight).max(axis=1)).astype(np.float32)
    quantized = np.rint(weight * scale[:, None]).astype(np.int8)
    bf16 = torch.tensor([1.5, -2.0], dtype=torch.bfloat16)
    variables = [
        ("a/bf16", [2], 5, bf16.view(torch.int16).numpy().tobytes()),
        ("a/weight", [2, 2], 1, quantized.tobytes()),
        ("a/weight_scale", [2], 0, scale.tobytes()),
    ]
    with open(path, "wb") as fh:
        fh.write(struct.pack("<I", 6))
        _write_string(fh, "WhisperSpec")
        fh.write(struct.pack("<II", 3, len(variables)))
        for name, shape, type_id, raw in variables:
            _write_string(fh, name)
            fh.write(struct.pack("<B", len(shape)) + struct.pack(f"<{len(shape)}I", *shape))
            fh.write(struct.pack("<BI", type_id, len(raw)) + raw)
        fh.write(struct.pack("<I", 1))
        _write_string(fh, "b/weight")
        _write_string(fh, "a/weight")
    _, read = read_model_bin(path)
    assert set(read) == {"a/bf16", "a/weight", "b/weight"}
    assert torch.allclose(read["a/weight"], torch.from_numpy(weight), atol=0.01)
    assert torch.allclose(read["b/weight"], read["a/weight"])
    assert read["a/bf16"].dtype == torch.bfloat16 and read["a/bf16"].tolist() == [1.5, -2.0]


def test_malicious_pickle_is_refused(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    path = tmp_path / "evil.pt"
    torch.save({"dims": {}, "model_state_dict": {"x": torch.zeros(1)}, "extra": Payload()}, path)
    with pytest.raises(InputError, match="refusing to unpickle") as err:
        load_model(path, device="cpu")
    assert "\n" not in str(err.value) and str(path) in str(err.value)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "PyTorch checkpoint"),
        (b"garbage bytes, not a checkpoint", "refusing to unpickle"),
    ],
)
def test_corrupt_files_fail_with_one_line(tmp_path, content, message):
    path = tmp_path / "broken.pt"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as err:
        load_model(path, device="cpu")
    assert "\n" not in str(err.value)


def test_truncated_and_mismatched_files(make_model, tmp_path):
    pytest.importorskip("ctranslate2")
    model = make_model()
    folder = save_model(model, tmp_path / "ct2", "ctranslate2")
    raw = (folder / "model.bin").read_bytes()
    (folder / "model.bin").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(InputError, match="truncated"):
        load_model(folder, device="cpu")
    wrong = tmp_path / "wrong.pt"
    torch.save({"dims": {**model.dims.to_dict(), "n_text_layer": 5}, "model_state_dict": model.state_dict()}, wrong)
    with pytest.raises(InputError, match="missing decoder.blocks.3"):
        load_model(wrong, device="cpu")
    no_weights = tmp_path / "train_state.pt"
    torch.save({"global_step": 3, "dims": model.dims.to_dict()}, no_weights)
    with pytest.raises(InputError, match="no model weights"):
        load_model(no_weights, device="cpu")


def test_unknown_name_and_missing_path():
    with pytest.raises(UsageError, match="not a model name"):
        load_model("gigantic")
    with pytest.raises(UsageError, match="no such checkpoint"):
        load_model("./checkpoints/nope.pt")


def test_save_rejects_unknown_format(make_model, tmp_path):
    with pytest.raises(UsageError, match="unknown checkpoint format"):
        save_model(make_model(), tmp_path / "x", "onnx")
