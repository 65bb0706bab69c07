"""Where and how inference runs: device and dtype choice, thread count after loading the VAD."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from olmoasr.errors import UsageError
from olmoasr.model.runtime import (
    fp16_request,
    inference_dtype,
    parse_dtype,
    resolve_device,
    warn_if_fp16_ignored,
)

needs_no_gpu = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the answers of a machine without CUDA")


@needs_no_gpu
def test_devices_without_a_gpu():
    assert resolve_device(None) == resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(UsageError, match="no CUDA device is available here"):
        resolve_device("cuda:1")
    with pytest.raises(UsageError, match="expected auto, cpu, cuda or cuda:N"):
        resolve_device("gpu")


@pytest.mark.parametrize(
    ("device", "requested", "expected"),
    [
        ("cpu", None, torch.float32),
        ("cpu", "auto", torch.float32),
        ("cpu", "bf16", torch.bfloat16),
        ("cpu", torch.float32, torch.float32),
        ("cuda", None, torch.float16),
        ("cuda:1", "bfloat16", torch.bfloat16),
        ("cuda", "fp32", torch.float32),
    ],
)
def test_inference_dtype_per_device(device, requested, expected):
    assert inference_dtype(device, requested) == expected


def test_float16_on_a_cpu_is_refused_and_bad_names_are_errors():
    with pytest.raises(UsageError, match="float16 needs a CUDA device"):
        inference_dtype("cpu", "float16")
    with pytest.raises(UsageError, match="float16 needs a CUDA device"):
        inference_dtype("cpu", fp16_request(True))
    with pytest.raises(UsageError, match="expected auto, float32, float16 or bfloat16"):
        parse_dtype("int4")
    assert (fp16_request(None), fp16_request(False)) == (None, "float32")


def test_a_per_call_fp16_switch_that_differs_from_the_model_is_said_once(capsys):
    warn_if_fp16_ignored(True, "float32")
    assert capsys.readouterr().err.strip() == (
        "warning: fp16=True ignored: the model runs in float32; choose the precision when loading it"
    )
    warn_if_fp16_ignored(None, "float32")
    warn_if_fp16_ignored(True, "float16")
    assert capsys.readouterr().err == ""


def test_loading_the_vad_keeps_the_thread_count():
    pytest.importorskip("silero_vad")
    code = (
        "import torch; torch.set_num_threads(2)\n"
        "from olmoasr.model.vad import load_silero_vad\n"
        "load_silero_vad(); print(torch.get_num_threads())"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split()[-1] == "2"
