"""Network: parity with openai-whisper on the same random weights, KV cache, dtypes, init, alignment heads."""

from __future__ import annotations

import base64
import gzip
import math
from dataclasses import asdict

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from olmoasr.model.dims import VARIANTS, ModelDimensions
from olmoasr.model.network import ResidualAttentionBlock, Whisper, init_fan_in_gaussian_


def _inputs(model: Whisper, batch: int = 2, n_tokens: int = 9, seed: int = 1):
    gen = torch.Generator().manual_seed(seed)
    dims = model.dims
    mel = torch.randn(batch, dims.n_mels, 2 * dims.n_audio_ctx, generator=gen)
    tokens = torch.randint(0, dims.n_vocab, (batch, n_tokens), generator=gen)
    return mel, tokens


def _openai_twin(model: Whisper):
    whisper_model = pytest.importorskip("whisper.model")
    twin = whisper_model.Whisper(whisper_model.ModelDimensions(**asdict(model.dims)))
    twin.load_state_dict(model.state_dict())
    return twin.eval()


def test_state_dict_keys_equal_openai_whisper(make_model, dims_name):
    model = make_model(dims_name)
    twin = _openai_twin(model)
    assert list(model.state_dict()) == list(twin.state_dict())


@torch.no_grad()
def test_encoder_and_logits_match_openai_whisper(make_model, dims_name):
    model = make_model(dims_name)
    twin = _openai_twin(model)
    mel, tokens = _inputs(model)
    features = model.embed_audio(mel)
    assert features.shape == (2, model.dims.n_audio_ctx, model.dims.n_audio_state)
    assert (features - twin.embed_audio(mel)).abs().max() < 1e-4
    logits = model.logits(tokens, features)
    assert logits.dtype == torch.float32
    assert (logits - twin.logits(tokens, features)).abs().max() < 1e-4
    assert (model(mel, tokens) - twin(mel, tokens)).abs().max() < 1e-4


@torch.no_grad()
def test_incremental_logits_with_cache_equal_full_logits(make_model, dims_name):
    model = make_model(dims_name)
    mel, tokens = _inputs(model, n_tokens=10)
    features = model.embed_audio(mel)
    full = model.logits(tokens, features)
    cache = model.new_kv_cache(batch_size=2)
    steps = [model.logits(tokens[:, a:b], features, cache) for a, b in [(0, 3), (3, 4), (4, 8), (8, 9), (9, 10)]]
    assert cache.length == 10
    assert (torch.cat(steps, dim=1) - full).abs().max() < 1e-4


@torch.no_grad()
def test_cache_reorder_reset_and_truncate(make_model):
    model = make_model()
    mel, tokens = _inputs(model, batch=3, n_tokens=6)
    features = model.embed_audio(mel[:1]).expand(3, -1, -1)  # three beams of one audio
    cache = model.new_kv_cache(3)
    model.logits(tokens[:, :5], features, cache)
    order = torch.tensor([2, 2, 0])
    cache.reorder(order)
    step = model.logits(tokens[order, 5:6], features, cache)
    expected = model.logits(tokens[order], features)[:, -1:]
    assert (step - expected).abs().max() < 1e-4

    cache.truncate(2)
    again = model.logits(tokens[order, 2:6], features, cache)
    assert (again - model.logits(tokens[order], features)[:, 2:]).abs().max() < 1e-4

    cache.reset()
    other = model.embed_audio(mel[1:2]).expand(3, -1, -1)
    assert (model.logits(tokens, other, cache) - model.logits(tokens, other)).abs().max() < 1e-4


@torch.no_grad()
def test_rows_of_one_window_share_its_cross_attention_keys_and_values(make_model):
    model = make_model()
    mel, tokens = _inputs(model, batch=2, n_tokens=6)
    features = model.embed_audio(mel)
    rows = tokens.repeat(3, 1)[torch.tensor([0, 2, 4, 1, 3, 5])]  # three rows per window, window-major
    shared = model.new_kv_cache(6)
    model.decoder.cache_cross_attention(shared, features)
    assert shared.cross(0)[0].shape[0] == 2
    grouped = torch.cat([model.logits(rows[:, :4], features, shared), model.logits(rows[:, 4:], features, shared)], 1)
    expected = model.logits(rows, features.repeat_interleave(3, dim=0))
    assert (grouped - expected).abs().max() < 1e-4
    with pytest.raises(ValueError, match="cannot share"):
        cache = model.new_kv_cache(5)
        model.decoder.cache_cross_attention(cache, features)
        model.logits(rows[:5, :2], features, cache)


def test_cache_overflow_and_context_limit(make_model):
    model = make_model()
    mel, tokens = _inputs(model, batch=1, n_tokens=5)
    features = model.embed_audio(mel)
    cache = model.new_kv_cache(1, max_len=4)
    with pytest.raises(ValueError, match="overflow"):
        model.logits(tokens, features, cache)
    too_long = torch.zeros(1, model.dims.n_text_ctx + 1, dtype=torch.long)
    with pytest.raises(ValueError, match="context"):
        model.logits(too_long, features)


@torch.no_grad()
def test_right_padding_does_not_change_real_positions(make_model):
    model = make_model()
    mel, tokens = _inputs(model, batch=1, n_tokens=6)
    padded = torch.cat([tokens, torch.full((1, 4), 50256)], dim=1)
    assert (model(mel, padded)[:, :6] - model(mel, tokens)).abs().max() < 1e-5


def test_wrong_mel_shape_is_a_clear_error(make_model):
    model = make_model()
    with pytest.raises(ValueError, match="encoder expects mel"):
        model.embed_audio(torch.zeros(1, model.dims.n_mels, 17))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@torch.no_grad()
def test_half_precision_close_to_fp32(make_model, dtype):
    model = make_model()
    mel, tokens = _inputs(model)
    reference = model.logits(tokens, model.embed_audio(mel))
    half = model.to(dtype)
    assert half.dtype == dtype
    logits = half.logits(tokens, half.embed_audio(mel))
    assert logits.dtype == torch.float32
    assert (logits - reference).abs().max() < 0.25
    assert (logits.argmax(-1) == reference.argmax(-1)).float().mean() > 0.9


@torch.no_grad()
def test_fan_in_init_starts_near_uniform_loss(make_model):
    dims = ModelDimensions(80, 20, 64, 4, 2, 51864, 32, 64, 4, 2)
    torch.manual_seed(0)
    default = Whisper(dims)
    fan_in = init_fan_in_gaussian_(Whisper(dims))
    mel = torch.randn(2, 80, 40)
    tokens = torch.randint(0, 51864, (2, 17))

    def loss(model: Whisper) -> float:
        logits = model(mel, tokens[:, :-1])
        return float(F.cross_entropy(logits.reshape(-1, dims.n_vocab), tokens[:, 1:].reshape(-1)))

    uniform = math.log(dims.n_vocab)
    assert abs(loss(fan_in) - uniform) < 2.0
    assert loss(default) > uniform + 20  # N(0, 1) embeddings give huge tied logits
    weight = fan_in.decoder.token_embedding.weight
    assert abs(float(weight.std()) - math.sqrt(2 / dims.n_text_state)) < 0.01


def test_blocks_are_residual_attention_blocks(make_model):
    model = make_model()
    blocks = [m for m in model.modules() if isinstance(m, ResidualAttentionBlock)]
    assert len(blocks) == model.dims.n_audio_layer + model.dims.n_text_layer


def test_model_properties(make_model):
    english, v3, multi = make_model("en-80"), make_model("multi-128"), make_model("multi-99")
    assert (english.is_multilingual, english.num_languages) == (False, 99)
    assert (v3.is_multilingual, v3.num_languages) == (True, 100)
    assert (multi.is_multilingual, multi.num_languages) == (True, 99)
    assert v3.tokenizer().n_vocab == 51866 and english.tokenizer().eot == 50256
    assert english.device.type == "cpu" and english.dtype == torch.float32
    assert VARIANTS["large-v3"].n_mels == 128 and VARIANTS["tiny.en"] == VARIANTS["tiny"]


def test_alignment_heads_default_and_setters(make_model):
    model = make_model()  # 3 text layers x 4 heads
    assert model.alignment_heads.tolist() == [[False] * 4, [True] * 4, [True] * 4]
    mask = np.zeros((3, 4), dtype=bool)
    mask[0, 1] = mask[2, 3] = True
    model.set_alignment_heads(base64.b85encode(gzip.compress(mask.tobytes())).decode())
    assert model.alignment_heads.nonzero().tolist() == [[0, 1], [2, 3]]
    model.set_alignment_heads([[1, 0], [2, 2]])
    assert model.alignment_heads.nonzero().tolist() == [[1, 0], [2, 2]]
    with pytest.raises(ValueError, match="outside"):
        model.set_alignment_heads([[3, 0]])
    assert "alignment_heads" not in model.state_dict()


@torch.no_grad()
def test_cross_attention_weights_match_openai_whisper(make_model):
    model = make_model()
    model.set_alignment_heads([[0, 1], [2, 0], [2, 3]])
    twin = _openai_twin(model)
    whisper_model = pytest.importorskip("whisper.model")
    mel, tokens = _inputs(model, n_tokens=7)
    features = model.embed_audio(mel)
    n_frames = 15

    weights = model.cross_attention_weights(tokens, features, n_frames=n_frames)
    assert weights.shape == (3, 2, 7, n_frames)
    assert torch.allclose(weights.sum(-1), torch.ones(3, 2, 7), atol=1e-5)

    captured = {}
    hooks = [
        block.cross_attn.register_forward_hook(lambda _m, _i, out, layer=i: captured.__setitem__(layer, out[-1]))
        for i, block in enumerate(twin.decoder.blocks)
    ]
    previous, whisper_model.MultiHeadAttention.use_sdpa = whisper_model.MultiHeadAttention.use_sdpa, False
    try:
        twin(mel, tokens)
    finally:
        whisper_model.MultiHeadAttention.use_sdpa = previous
        for hook in hooks:
            hook.remove()
    theirs = torch.stack([captured[layer][:, head] for layer, head in [(0, 1), (2, 0), (2, 3)]])
    theirs = theirs[..., :n_frames].float().softmax(dim=-1)
    assert (weights - theirs).abs().max() < 1e-5


def _plain_logits(model: Whisper, mel: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Logits through the plain parameters (autograd on), as training computes them."""
    with torch.enable_grad():
        return model(mel, tokens).detach()


def test_inference_weights_equal_the_plain_parameters(make_model, dims_name):
    model = make_model(dims_name)
    mel, tokens = _inputs(model)
    with torch.inference_mode():
        fused = model(mel, tokens)
    assert (fused - _plain_logits(model, mel, tokens)).abs().max() < 1e-4


def test_inference_weights_follow_parameter_updates(make_model):
    model = make_model()
    mel, tokens = _inputs(model)
    with torch.no_grad():
        before = model(mel, tokens)
        entries = {id(value) for _, value in model.decoder.derived._entries.values()}
        model.decoder.blocks[0].attn.key.weight.mul_(1.5)  # as an optimiser step does, in place
        model.decoder.token_embedding.weight.add_(0.01)
        after = model(mel, tokens)
    assert not torch.allclose(before, after)
    assert (after - _plain_logits(model, mel, tokens)).abs().max() < 1e-4
    assert entries.isdisjoint(id(value) for _, value in model.decoder.derived._entries.values())


def test_training_uses_the_parameters_and_keeps_derived_weights_out_of_state(make_model):
    model = make_model().train()
    mel, tokens = _inputs(model)
    model(mel, tokens).logsumexp(-1).mean().backward()
    attention = model.decoder.blocks[0].attn
    for parameter in (attention.query.weight, attention.key.weight, attention.value.weight):
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0
    assert model.decoder.token_embedding.weight.grad is not None
    assert not model.decoder.derived._entries  # nothing derived while training
    with torch.no_grad():
        model(mel, tokens)
    assert model.decoder.derived._entries
    assert set(model.state_dict()) == set(make_model().state_dict())
    assert all(not name.startswith("derived") for name, _ in model.named_buffers())


@torch.no_grad()
def test_bfloat16_decoding_derives_the_float32_projection_once(make_model):
    model = make_model().to(torch.bfloat16)
    mel, tokens = _inputs(model, batch=1)
    features = model.embed_audio(mel)
    cache = model.new_kv_cache(1)

    def projections() -> dict[str, int]:
        return {key: id(value) for key, (_, value) in model.decoder.derived._entries.items() if "logits" in key}

    model.logits(tokens[:, :4], features, kv_cache=cache)
    model.logits(tokens[:, 4:5], features, kv_cache=cache)
    made = projections()
    assert made and all("float32" in key for key in made)
    for position in range(5, tokens.shape[1]):
        logits = model.logits(tokens[:, position : position + 1], features, kv_cache=cache)
    assert logits.dtype == torch.float32
    assert projections() == made


def test_a_model_used_for_decoding_copies_and_pickles(make_model):
    """Derived weights (oneDNN's packed logits weight among them) are not copied: a copy rebuilds its own."""
    import copy
    import pickle

    model = make_model()
    mel, tokens = _inputs(model)
    with torch.inference_mode():
        expected = model(mel, tokens)
    assert model.decoder.derived._entries
    for twin in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        assert not twin.decoder.derived._entries
        with torch.inference_mode():
            assert (twin(mel, tokens) - expected).abs().max() < 1e-5
        assert twin.decoder.derived._entries
