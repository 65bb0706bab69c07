"""One-process training: initial loss, learning, resume equivalence, crash safety, bad input, export."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from olmoasr.errors import InputError
from olmoasr.train import load_config, train
from olmoasr.train.checkpointing import latest_checkpoint, list_checkpoints
from olmoasr.train.loop import TrainingDiverged

from .conftest import make_mix, micro_overrides

# pinned losses of the first micro steps on mix16 (seed 0, fp32, batch 4, no shuffling), feature_padding mixed
GOLDEN = {1: 11.5186, 2: 9.713, 3: 9.5108}
# the same with feature_padding audio: the original trainer's features (and this trainer's before the policy)
GOLDEN_AUDIO_PADDING = {1: 11.3962, 2: 9.6488, 3: 9.5315}


def metrics(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_golden_losses_learning_and_export(mix16, tmp_path):
    result = train(load_config("micro", micro_overrides(mix16, tmp_path / "run", train_steps=6)))
    for step, loss in GOLDEN.items():
        assert result.losses[step] == pytest.approx(loss, abs=2e-3)
    assert result.losses[6] < result.losses[1] - 2.5  # the micro model learns the tone -> word mix
    assert [r["step"] for r in metrics(tmp_path / "run")] == list(range(1, 7))
    record = metrics(tmp_path / "run")[-1]
    for key in ("train/loss", "train/lr", "train/grad_norm", "train/wer", "perf/samples_per_s", "perf/tokens_per_s",
                "perf/audio_min_per_device_s", "perf/data_wait_fraction", "perf/peak_mem_gb"):  # fmt: skip
        assert isinstance(record[key], float), key
    assert result.samples_seen[:8] == [(0, (0, line)) for line in range(1, 9)]
    # the export is the release format and loads with the model module's loader
    from olmoasr.model.checkpoints import load_model

    payload = torch.load(result.export, weights_only=True)
    assert set(payload) == {"dims", "model_state_dict", "alignment_heads"} and payload["dims"]["n_audio_state"] == 64
    model = load_model(result.export, device="cpu")
    assert model.dims.n_text_layer == 2
    assert payload["alignment_heads"] == model.alignment_heads.nonzero().tolist() != []


def test_audio_padding_reproduces_the_original_features(mix16, tmp_path):
    result = train(load_config("micro", micro_overrides(mix16, tmp_path / "run", train_steps=3,
                                                        feature_padding="audio")))  # fmt: skip
    assert result.losses == pytest.approx(GOLDEN_AUDIO_PADDING, abs=2e-3)


def test_initial_loss_is_near_ln_vocab_with_fan_in_init():
    from olmoasr.model.network import Whisper
    from olmoasr.train.loop import build_model

    from .conftest import MICRO

    torch.manual_seed(0)
    config = load_config("micro", {"dims": MICRO})
    fan_in, dims = build_model(config)
    default = Whisper(dims)
    mel = torch.randn(2, 80, 2 * dims.n_audio_ctx)
    tokens = torch.randint(0, 50000, (2, 12))

    def loss(model):
        with torch.no_grad():
            logits = model(mel, tokens[:, :-1])
        return torch.nn.functional.cross_entropy(logits.flatten(0, 1), tokens[:, 1:].flatten()).item()

    assert abs(loss(fan_in) - math.log(dims.n_vocab)) < 2.0
    assert loss(default) > 2 * math.log(dims.n_vocab)


def test_resume_equals_uninterrupted_training(tmp_path):
    data = make_mix(tmp_path, n=16)
    common = {"train_steps": 4, "train_batch_size": 2, "eff_batch_size": 2, "num_workers": 2, "shuffle": True,
              "shuffle_buffer": 4, "ckpt_freq": 100}  # fmt: skip
    full = train(load_config("micro", micro_overrides(data, tmp_path / "full", **common)))
    first = train(load_config("micro", micro_overrides(data, tmp_path / "split", stop_after_steps=3, **common)))
    assert first.steps == 3 and latest_checkpoint(tmp_path / "split" / "checkpoints").step == 3
    rest = train(load_config("micro", micro_overrides(data, tmp_path / "split", **common)))
    assert rest.steps == 4 and rest.losses[4] == pytest.approx(full.losses[4], abs=1e-5)
    assert first.samples_seen + rest.samples_seen == full.samples_seen  # same samples, same order
    assert [r["step"] for r in metrics(tmp_path / "split")] == [1, 2, 3, 4]


KILLER = textwrap.dedent("""
    import os, signal, sys
    from olmoasr.train import checkpointing, load_config, train
    real = checkpointing.write_metadata
    def write_metadata(tmp, meta):
        if meta["step"] == 4:  # die after the weights are written, before the completion marker
            os.kill(os.getpid(), signal.SIGKILL)
        real(tmp, meta)
    checkpointing.write_metadata = write_metadata
    train(load_config("micro", eval(sys.argv[1])))
""")


def test_killed_during_checkpoint_write_resumes_from_previous_complete_one(mix16, tmp_path):
    values = micro_overrides(mix16, tmp_path / "run", train_steps=4, ckpt_freq=2, train_batch_size=2,
                             eff_batch_size=2)  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", KILLER, repr(values)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": os.getcwd()})  # fmt: skip
    assert proc.returncode == -9, proc.stderr[-2000:]
    ckpt_dir = tmp_path / "run" / "checkpoints"
    assert [c.step for c in list_checkpoints(ckpt_dir)] == [2]
    assert (ckpt_dir / ".tmp-step_00000004" / "model.pt").exists()  # the half-written one
    result = train(load_config("micro", values))
    assert min(result.losses) == 3 and result.steps == 4  # resumed after step 2
    assert not list(ckpt_dir.glob(".tmp-*"))
    assert [c.step for c in list_checkpoints(ckpt_dir)] == [2, 4]


def test_unreadable_segments_are_skipped_and_counted(tmp_path):
    data = make_mix(tmp_path, n=8, files=1)
    shard = data / "part-000.jsonl"
    lines = shard.read_text().splitlines()
    broken = json.loads(lines[1])
    broken["audio_offset"] += 7  # points into the middle of a FLAC member: undecodable
    lines[1] = json.dumps(broken)
    lines[3] = "{not json"
    shard.write_text("\n".join(lines) + "\n")
    result = train(load_config("micro", micro_overrides(data, tmp_path / "run", train_steps=1)))
    assert sum(result.skipped.values()) == 2 and result.skipped.get("malformed_json") == 1
    assert result.samples_seen == [(0, (0, line)) for line in (1, 3, 5, 6)]


def test_missing_data_is_one_clear_error(tmp_path):
    with pytest.raises(InputError, match="training data not found"):
        train(load_config("micro", micro_overrides(tmp_path / "nope", tmp_path / "run")))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no .jsonl"):
        train(load_config("micro", micro_overrides(tmp_path / "empty", tmp_path / "run")))


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(mix16, tmp_path, monkeypatch):
    from olmoasr.model.network import Whisper

    real_forward = Whisper.forward
    calls = {"n": 0}

    def forward(self, mel, tokens):
        calls["n"] += 1
        logits = real_forward(self, mel, tokens)
        return logits * float("nan") if calls["n"] == 3 else logits

    monkeypatch.setattr(Whisper, "forward", forward)
    with pytest.raises(TrainingDiverged, match=r"non-finite loss \(nan\) at step 3.*step_00000002 \(step 2\)"):
        train(load_config("micro", micro_overrides(mix16, tmp_path / "run", ckpt_freq=1)))
    assert [c.step for c in list_checkpoints(tmp_path / "run" / "checkpoints")] == [1, 2]


def test_fine_tune_from_export_and_eval_in_the_loop(mix16, tmp_path):
    base = train(load_config("micro", micro_overrides(mix16, tmp_path / "base", train_steps=2)))
    payload = torch.load(base.export, weights_only=True)
    torch.save({**payload, "alignment_heads": [[1, 0]]}, base.export)  # heads of a released model travel on
    tuned = train(load_config("micro", micro_overrides(
        mix16, tmp_path / "tuned", train_steps=2, init_from=base.export, run_eval=True, eval_data=str(mix16),
        eval_freq=2, eval_max_samples=4, eval_batch_size=4, eval_sample_len=8, run_val=True, val_freq=1)))  # fmt: skip
    assert tuned.losses[1] < base.losses[1] - 0.5  # starts from the trained weights, not from scratch
    evals = [r for r in metrics(tmp_path / "tuned") if r["kind"] == "eval"]
    assert [r["step"] for r in evals] == [1, 2] and "val/loss" in evals[0] and "eval/wer" in evals[1]
    assert (tmp_path / "tuned" / "best_eval.pt").exists()
    for exported in (tuned.export, tmp_path / "tuned" / "best_eval.pt"):
        assert torch.load(exported, weights_only=True)["alignment_heads"] == [[1, 0]]
    assert tuned.best_eval_wer == pytest.approx(evals[1]["eval/wer"])


def test_cli_runs_a_config_with_overrides(mix16, tmp_path, capsys):
    from olmoasr.cli.main import run

    code = run(["train", "--config", "micro", "--data", str(mix16), "--out", str(tmp_path / "cli"),
                "--train_steps", "1", "--dims.n_audio_ctx", "150", "--dims.n_text_layer", "1", "--shuffle", "false",
                "--train-batch-size", "2", "--eff_batch_size", "2"])  # fmt: skip
    assert code == 0
    assert "inference checkpoint" in capsys.readouterr().out
    assert (tmp_path / "cli" / "export.pt").exists() and (tmp_path / "cli" / "config.yaml").exists()


@pytest.mark.parametrize("precision", ["float16", pytest.param("bfloat16", marks=pytest.mark.slow)])
def test_mixed_precision_with_activation_checkpointing_follows_fp32(mix16, tmp_path, precision):
    result = train(load_config("micro", micro_overrides(
        mix16, tmp_path / precision, train_steps=2, precision=precision, activation_checkpointing=True)))  # fmt: skip
    assert result.losses == pytest.approx({1: GOLDEN[1], 2: GOLDEN[2]}, abs=2e-2)
    scale = metrics(tmp_path / precision)[-1]["train/loss_scale"]
    assert scale == (2.0**16 if precision == "float16" else 1.0)


def test_wandb_offline_run_logs_the_metrics(mix16, tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    train(load_config("micro", micro_overrides(mix16, tmp_path / "run", train_steps=1, train_batch_size=2,
                                               wandb_project="olmoasr-test", wandb_mode="offline")))  # fmt: skip
    runs = list((tmp_path / "run" / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and list(runs[0].glob("*.wandb"))
    assert (tmp_path / "run" / "micro.wandb_id").read_text().strip() in runs[0].name
