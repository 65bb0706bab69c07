"""The GPU benchmarks' code paths, run on CPU with micro sizes, so a session with a GPU only has to run them:
bench_train's accelerator table (bf16, DDP on one device through the launcher) and proof_train's cuda preset
(small config, bf16, loader workers, in-loop eval, both held-out sets through `evaluate`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def run_script(*argv: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_bench_train_accelerator_table_runs_on_cpu():
    before = (ROOT / "benchmarks" / "RESULTS.md").read_text()
    out = run_script("benchmarks/bench_train.py", "--dry-run", "--gpu-variants", "tiny,small")
    assert "bf16, DDP on one device" in out
    rows = [line for line in out.splitlines() if line.startswith(("| tiny |", "| small |"))]
    assert len(rows) == 2 and all("n/a (no peak on CPU)" in row for row in rows)
    assert (ROOT / "benchmarks" / "RESULTS.md").read_text() == before  # a dry run writes nothing


@pytest.mark.skipif(not (shutil.which("flite") and shutil.which("espeak-ng")), reason="needs flite and espeak-ng")
def test_proof_train_cuda_preset_runs_on_cpu(tmp_path):
    out = run_script("benchmarks/proof_train.py", "--dry-run", "--work", str(tmp_path))
    assert out.count("small model from scratch, 2 steps x 2 segments") == 1 and "bfloat16 on cpu" in out
    assert "| training sentences, another voice | 4 |" in out and "| new sentences |" in out
    assert (tmp_path / "eval" / "results.json").is_file() and (tmp_path / "run" / "export.pt").is_file()
