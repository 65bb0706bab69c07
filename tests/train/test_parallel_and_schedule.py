"""Loss scaler, learning-rate schedule and the analytic FLOP count behind MFU."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from olmoasr.train.config import load_config
from olmoasr.train.loop import lr_factor
from olmoasr.train.metrics import forward_flops_per_sample
from olmoasr.train.parallel import LossScaler


def test_warmup_then_linear_decay_to_zero():
    cfg = load_config("tiny")
    assert cfg.warmup_steps == math.ceil(0.002 * 524288) == 1049
    factors = [lr_factor(s, 10, 100) for s in range(100)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == pytest.approx(1.0)
    assert factors[10] == pytest.approx(1.0) and factors[55] == pytest.approx(0.5)
    assert factors[99] == pytest.approx(1 / 90) and lr_factor(100, 10, 100) == 0.0
    assert all(a >= b for a, b in zip(factors[10:], factors[11:], strict=False))


def test_loss_scaler_skips_overflow_steps_and_grows_back():
    scaler = LossScaler(enabled=True, init_scale=1024.0, growth_interval=2)
    assert scaler.update(float("inf")) is False and scaler.scale == 512.0
    assert scaler.update(float("nan")) is False and scaler.scale == 256.0
    assert scaler.update(1.0) and scaler.update(2.0) and scaler.scale == 512.0
    restored = LossScaler(enabled=True)
    restored.load_state_dict(scaler.state_dict())
    assert restored.scale == 512.0
    assert LossScaler(enabled=False).update(float("inf")) is False  # caller stops on it (bf16/fp32)


def test_unscale_divides_gradients_by_the_scale():
    model = torch.nn.Linear(3, 1)
    scaler = LossScaler(enabled=True, init_scale=8.0)
    scaler.scale_loss(model(torch.ones(1, 3)).sum()).backward()
    scaler.unscale_(model)
    assert torch.allclose(model.weight.grad, torch.ones(1, 3))


def test_analytic_flops_match_torch_flop_counter():
    from torch.utils.flop_counter import FlopCounterMode

    from olmoasr.model.dims import variant_dims
    from olmoasr.model.network import Whisper

    dims = replace(variant_dims("tiny"), n_audio_ctx=100, n_audio_state=64, n_audio_head=2, n_audio_layer=2,
                   n_text_state=64, n_text_head=2, n_text_layer=2)  # fmt: skip
    model = Whisper(dims)
    mel, tokens = torch.randn(1, 80, 200), torch.zeros(1, 20, dtype=torch.long)
    # training's forward (autograd on): the decoding-only oneDNN vocabulary product is invisible to the counter
    with FlopCounterMode(display=False) as counter:
        model(mel, tokens)
    # the counter skips scaled_dot_product_attention on CPU: add its QK^T and AV products by hand
    frames, t, d = 100, 20, 64
    attention = 2 * (4 * frames * frames * d) + 2 * (4 * t * t * d) + 2 * (4 * t * frames * d)
    assert forward_flops_per_sample(dims, t) == counter.get_total_flops() + attention
