"""A finished two-step micro training run (checkpoints at steps 1 and 2) to copy and damage."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

TRAIN_FLAGS = ("--config", "micro", "--dims.n_audio_ctx", "150", "--dims.n_text_layer", "1", "--shuffle", "false",
               "--train_batch_size", "2", "--eff_batch_size", "2", "--num_workers", "0", "--device", "cpu",
               "--precision", "float32", "--train_log_freq", "1", "--ckpt_freq", "1", "--train_steps", "2")  # fmt: skip


@dataclass(frozen=True)
class TrainedRun:
    data: Path
    path: Path


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> TrainedRun:
    from olmoasr.cli.main import run

    from ..train.conftest import make_mix

    root = tmp_path_factory.mktemp("hostile-train")
    data = make_mix(root, n=8, files=1)
    assert run(["train", *TRAIN_FLAGS, "--data", str(data), "--out", str(root / "run")]) == 0
    return TrainedRun(data, root / "run")


def refresh_sizes(checkpoint: Path) -> None:
    """Make meta.json's size list agree with the files (so a test reaches the loader, not the damage check)."""
    meta = json.loads((checkpoint / "meta.json").read_text())
    meta["sizes"] = {name: (checkpoint / name).stat().st_size for name in meta["sizes"]}
    (checkpoint / "meta.json").write_text(json.dumps(meta))


def with_payload(checkpoint: Path, name: str, payload: object) -> Path:
    """Replace `name` in a checkpoint by a pickle that carries `payload`, manifest kept consistent."""
    torch.save({"state": {}, "x": payload}, checkpoint / name)
    refresh_sizes(checkpoint)
    return checkpoint
