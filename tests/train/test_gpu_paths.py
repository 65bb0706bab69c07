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
NO_CUDA = pytest.mark.skipif(
    __import__("torch").cuda.is_available(), reason="checks the message on a machine without CUDA"
)


def run_script(*argv: str, returncode: int = 0) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == returncode, proc.stderr[-3000:]
    return proc


@NO_CUDA
@pytest.mark.parametrize("script", ["bench_train.py", "proof_train.py"])
def test_device_cuda_without_a_gpu_is_one_line_before_any_work(script, tmp_path):
    work = ["--work", str(tmp_path / "work")] if script == "proof_train.py" else []
    proc = run_script(f"benchmarks/{script}", "--device", "cuda", *work, returncode=1)
    assert proc.stderr.strip() == f"{script}: --device cuda: no CUDA device on this machine (--dry-run checks the path)"
    assert not (tmp_path / "work").exists()  # no corpus synthesised


@pytest.mark.slow
def test_bench_train_accelerator_table_runs_on_cpu():
    before = (ROOT / "benchmarks" / "RESULTS.md").read_text()
    out = run_script("benchmarks/bench_train.py", "--dry-run", "--gpu-variants", "tiny,small").stdout
    assert "bf16, DDP on one device" in out
    rows = [line for line in out.splitlines() if line.startswith(("| tiny |", "| small |"))]
    assert len(rows) == 2 and all("n/a (no peak on CPU)" in row for row in rows)
    assert (ROOT / "benchmarks" / "RESULTS.md").read_text() == before  # a dry run writes nothing


@pytest.mark.slow
@pytest.mark.skipif(not (shutil.which("flite") and shutil.which("espeak-ng")), reason="needs flite and espeak-ng")
def test_proof_train_cuda_preset_runs_on_cpu(tmp_path):
    out = run_script("benchmarks/proof_train.py", "--dry-run", "--work", str(tmp_path)).stdout
    assert out.count("small model (d=32, 1+1 layers) from scratch, 2 steps x 2 segments") == 1
    assert "bfloat16 on cpu" in out and "**not measured** — no GPU" in out
    assert "| training sentences, another voice | 4 |" in out and "| new sentences |" in out
    assert (tmp_path / "eval" / "results.json").is_file() and (tmp_path / "run" / "export.pt").is_file()
