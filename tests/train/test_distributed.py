"""Two CPU processes over gloo: DDP and FSDP2 give the single-process loss curve; failures are one line."""

from __future__ import annotations

import pytest
import torch

from olmoasr.train import load_config, train
from olmoasr.train.checkpointing import list_checkpoints
from olmoasr.train.launch import TrainingFailed

from .conftest import make_mix, micro_overrides
from .test_train_single import GOLDEN


def test_ddp_with_accumulation_matches_one_process(mix16, tmp_path):
    # 2 ranks x micro-batch 1 x 2 accumulation steps = the single-process global batch of 4
    result = train(load_config("micro", micro_overrides(
        mix16, tmp_path / "ddp", train_steps=2, nproc_per_node=2, strategy="ddp", train_batch_size=1)))  # fmt: skip
    assert result.losses == pytest.approx({1: GOLDEN[1], 2: GOLDEN[2]}, abs=2e-3)
    assert result.samples_seen[:4] == [(0, (0, line)) for line in (1, 3, 5, 7)]  # rank 0 reads every other line
    payload = torch.load(result.export, weights_only=True)
    assert not any(k.startswith("module.") for k in payload["model_state_dict"])


def test_ddp_on_one_launched_process_wraps_the_model_and_matches_one_process(mix16, tmp_path):
    # what bench_train measures on one GPU: a one-rank process group, the model wrapped in DDP
    from olmoasr.train.launch import spawn_workers

    result = spawn_workers(load_config("micro", micro_overrides(mix16, tmp_path / "ddp1", train_steps=2,
                                                                strategy="ddp")))  # fmt: skip
    assert result.losses == pytest.approx({1: GOLDEN[1], 2: GOLDEN[2]}, abs=2e-3)
    meta = list_checkpoints(tmp_path / "ddp1" / "checkpoints")[-1].meta
    assert (meta["strategy"], meta["world_size"]) == ("ddp", 1)


def test_fsdp_on_the_sample_shard_matches_one_process_and_saves_sharded(sample_segments, tmp_path):
    values = micro_overrides(sample_segments, tmp_path / "one", train_steps=2, ckpt_freq=1, train_batch_size=4)
    single = train(load_config("micro", values))
    values.update(out=str(tmp_path / "fsdp"), nproc_per_node=2, strategy="fsdp", train_batch_size=2)
    result = train(load_config("micro", values))
    assert result.losses == pytest.approx(single.losses, abs=2e-3)
    checkpoints = list_checkpoints(tmp_path / "fsdp" / "checkpoints")
    assert [c.step for c in checkpoints] == [1, 2]
    assert (checkpoints[-1].path / "dcp").is_dir() and checkpoints[-1].meta["strategy"] == "fsdp"
    from olmoasr.model.checkpoints import load_model

    assert load_model(result.export, device="cpu").dims.n_audio_state == 64  # consolidated release format


@pytest.mark.slow
def test_fsdp_bf16_with_clipping_resumes_exactly(mix16, tmp_path):
    values = micro_overrides(mix16, tmp_path / "run", train_steps=4, nproc_per_node=2, strategy="fsdp",
                             train_batch_size=2, precision="bfloat16", max_grad_norm=0.5)  # fmt: skip
    full = train(load_config("micro", {**values, "out": str(tmp_path / "full")}))
    train(load_config("micro", {**values, "stop_after_steps": 2}))
    rest = train(load_config("micro", values))
    assert rest.losses[3] == pytest.approx(full.losses[3], abs=1e-4)
    assert rest.losses[4] == pytest.approx(full.losses[4], abs=1e-4)
    assert full.losses[4] < full.losses[1]


@pytest.mark.slow
def test_failing_rank_is_reported_in_one_line(tmp_path):
    one_record = make_mix(tmp_path, n=1, files=1)  # rank 1's loader stream gets nothing
    with pytest.raises(TrainingFailed, match=r"training worker rank 1 failed: .*part-000.jsonl: loader stream 1 of 2"):
        train(load_config("micro", micro_overrides(one_record, tmp_path / "run", nproc_per_node=2,
                                                   train_batch_size=1, eff_batch_size=2)))  # fmt: skip


@pytest.mark.slow
def test_torchrun_runs_the_cli_as_two_ranks(mix16, tmp_path):
    import os
    import subprocess
    import sys

    out = tmp_path / "run"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "olmoasr",
               "train", "--config", "micro", "--data", str(mix16), "--out", str(out), "--train_steps", "2",
               "--train_batch_size", "2", "--shuffle", "false", "--dims.n_audio_ctx", "150", "--train_log_freq", "1",
               "--lr", "3e-3", "--seed", "0", "--device", "cpu"]  # fmt: skip
    proc = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("inference checkpoint") == 1  # printed by rank 0 only
    import json

    losses = [json.loads(line)["train/loss"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert losses == pytest.approx([GOLDEN[1], GOLDEN[2]], abs=2e-3)
