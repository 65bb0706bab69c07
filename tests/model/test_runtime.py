"""Where and how inference runs: thread count after loading the VAD."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_loading_the_vad_keeps_the_thread_count():
    pytest.importorskip("silero_vad")
    code = (
        "import torch; torch.set_num_threads(2)\n"
        "from olmoasr.model.vad import load_silero_vad\n"
        "load_silero_vad(); print(torch.get_num_threads())"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split()[-1] == "2"
