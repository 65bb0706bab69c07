"""Micro model dimensions for fast CPU tests (several layouts: English/multilingual, 80/128 mels)."""

from __future__ import annotations

import pytest
import torch

from olmoasr.model.dims import ModelDimensions
from olmoasr.model.network import Whisper, init_fan_in_gaussian_

MICRO_DIMS = {
    "en-80": ModelDimensions(80, 20, 64, 4, 2, 51864, 32, 64, 4, 3),
    "multi-128": ModelDimensions(128, 16, 48, 3, 1, 51866, 24, 48, 3, 2),
    "multi-99": ModelDimensions(80, 12, 32, 2, 3, 51865, 40, 32, 2, 1),
}


@pytest.fixture
def make_model():
    """make_model(dims_name="en-80", seed=0) -> a fan-in initialised Whisper in eval mode."""

    def build(dims_name: str = "en-80", seed: int = 0) -> Whisper:
        torch.manual_seed(seed)
        return init_fan_in_gaussian_(Whisper(MICRO_DIMS[dims_name])).eval()

    return build


@pytest.fixture(params=list(MICRO_DIMS))
def dims_name(request) -> str:
    return request.param
