"""The training recipe: set up, train, save, clean up — one file that reads top to bottom.

Loss normalisation. Each optimizer step's loss is the cross-entropy summed over every real target token
of the *global* batch (all ranks, all accumulation micro-batches) divided by that token count, so one
process, DDP and FSDP give the same loss and gradient for the same global batch (the original averaged
per-micro-batch means, which weights tokens differently depending on how the batch is split).
"""

from __future__ import annotations

import math
import resource
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
import yaml

from olmoasr.errors import OlmoasrError
from olmoasr.log import note, warn
from olmoasr.model.dims import MULTILINGUAL_VOCAB
from olmoasr.train import checkpointing as ckpt
from olmoasr.train.config import TrainConfig
from olmoasr.train.data import IGNORE_INDEX, StreamSpec, find_data_files, make_loader
from olmoasr.train.heldout import Evaluator, window_samples
from olmoasr.train.metrics import MetricsLogger, teacher_forced_texts, teacher_forced_wer, train_flops
from olmoasr.train.parallel import (
    LossScaler,
    Runtime,
    all_reduce_sum,
    autocast,
    barrier,
    clip_grad_norm,
    gather_objects,
    gradient_sync,
    init_runtime,
    shutdown,
    unwrap,
    wrap_model,
)


class TrainingDiverged(OlmoasrError):
    """A non-finite loss or gradient norm: training stops, the last complete checkpoint is kept."""


@dataclass
class TrainResult:
    steps: int
    losses: dict[int, float] = field(default_factory=dict)  # step -> global mean token loss
    samples_seen: list[tuple[int, tuple[int, int]]] = field(default_factory=list)  # rank 0's (epoch, (file, line))
    skipped: dict[str, int] = field(default_factory=dict)
    last_checkpoint: str | None = None
    export: str | None = None
    best_eval_wer: float | None = None


def model_dimensions(config: TrainConfig):
    from olmoasr.model.dims import variant_dims

    try:
        dims = variant_dims(config.model_variant)
    except ValueError as err:
        raise OlmoasrError(f"config: {err}") from None
    return replace(dims, **config.dims) if config.dims else dims


def build_model(config: TrainConfig):
    """A fresh network with the fan-in Gaussian init, or the weights of `init_from` (fine-tuning)."""
    if config.init_from:
        from olmoasr.model.checkpoints import load_model

        model = load_model(config.init_from, device="cpu", dtype=torch.float32)
        return model.train(), model.dims
    from olmoasr.model.network import Whisper, init_fan_in_gaussian_

    dims = model_dimensions(config)
    model = Whisper(dims)
    init_fan_in_gaussian_(model)
    return model, dims


def lr_factor(step: int, warmup: int, total: int) -> float:
    """Linear warm-up over `warmup` updates, then linear decay to 0 at `total` (spec §7.5)."""
    if step < warmup:
        return (step + 1) / warmup
    return max(0.0, (total - step) / max(1, total - warmup))


class TrainingRecipe:
    def __init__(self, config: TrainConfig, runtime: Runtime):
        self.config = config
        self.rt = runtime

    # ------------------------------------------------------------------------------ set up
    def setup(self) -> None:
        cfg, rt = self.config, self.rt
        files = find_data_files(cfg.samples_dicts_dir) if cfg.samples_dicts_dir else None
        if files is None:
            raise OlmoasrError("no training data: pass --data TRAIN_MIX (a JSONL file or directory of segment records)")
        torch.manual_seed(cfg.seed)  # identical initial weights on every rank (FSDP shards them as they are)
        model, self.dims = build_model(cfg)
        if rt.device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        self.model = wrap_model(model, rt, cfg.precision, cfg.sharding_strategy,
                                cfg.activation_checkpointing, cfg.compile)  # fmt: skip
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, betas=cfg.betas, eps=cfg.eps,
                                           weight_decay=cfg.weight_decay)  # fmt: skip
        warmup = cfg.warmup_steps
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: lr_factor(s, warmup, cfg.train_steps)
        )
        self.scaler = LossScaler(enabled=cfg.precision == "float16")
        per_step = rt.world_size * cfg.train_batch_size
        self.accumulation = max(1, cfg.eff_batch_size // per_step)
        if cfg.eff_batch_size % per_step and rt.is_main:
            warn(f"eff_batch_size {cfg.eff_batch_size} is not a multiple of world x train_batch_size ({per_step}); "
                 f"using {self.accumulation * per_step}")  # fmt: skip
        self.step = 0
        self.best_eval_wer: float | None = None
        positions: dict[int, tuple[int, int]] = {}
        first_worker = 0
        self.resumed_from = self._find_resume_checkpoint()
        if self.resumed_from is not None:
            state = ckpt.load_checkpoint(self.resumed_from, self.model, self.optimizer, self.rt)
            self.step = int(state["step"])
            self.scheduler.load_state_dict(state["scheduler"])
            self.scaler.load_state_dict(state["scaler"])
            self.best_eval_wer = state.get("best_eval_wer")
            ckpt.set_rng_state(state["rng"])
            data = state["data_position"]
            if data["num_streams"] != rt.world_size * max(1, cfg.num_workers):
                raise OlmoasrError(
                    f"{self.resumed_from.path}: saved with {data['num_streams']} data streams (ranks x loader "
                    f"workers), now {rt.world_size * max(1, cfg.num_workers)}; resume with the same num_workers"
                )
            positions = {int(k): tuple(v) for k, v in data["positions"].items()}
            first_worker = int(data["next_worker"])
        self.positions = dict(positions)
        self.next_worker = first_worker
        self.spec = StreamSpec(
            files=[str(f) for f in files], batch_size=cfg.train_batch_size, seed=cfg.seed, shuffle=cfg.shuffle,
            shuffle_buffer=cfg.shuffle_buffer, timestamp_prob=cfg.timestamp_prob,
            nospeech_placement=cfg.nospeech_placement, feature_padding=cfg.feature_padding, rank=rt.rank,
            world_size=rt.world_size, num_workers=cfg.num_workers, positions=positions, first_worker=first_worker,
        )  # fmt: skip
        self.loader = make_loader(self.spec, cfg.prefetch_factor, cfg.pin_memory and rt.device.type == "cuda")
        self.logger = MetricsLogger(cfg.metrics_dir, cfg, resume_step=self.step, enabled=rt.is_main)
        self.evaluator = Evaluator(cfg, self.dims, rt) if (cfg.run_eval or cfg.run_val) else None
        from olmoasr.model.tokenizer import get_tokenizer

        self.tokenizer = get_tokenizer(multilingual=self.dims.n_vocab >= MULTILINGUAL_VOCAB)
        # 30 s for every real variant; micro test models may use a shorter encoder context
        self.window_samples = window_samples(self.dims)
        if rt.is_main:
            cfg.run_dir.mkdir(parents=True, exist_ok=True)
            (cfg.run_dir / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
            where = f"resumed from {self.resumed_from.path} at step {self.step}" if self.resumed_from else "fresh"
            n_params = sum(p.numel() for p in unwrap(self.model).parameters())
            note(f"training {cfg.exp_name}: {n_params / 1e6:.1f} M params, {rt.strategy} x {rt.world_size} on "
                 f"{rt.device.type}, {cfg.precision}, accumulation {self.accumulation}, {where}")  # fmt: skip

    def _find_resume_checkpoint(self) -> ckpt.CheckpointInfo | None:
        choice = self.config.resume_from
        if choice == "never":
            return None
        if choice == "auto":
            point = ckpt.resume_point(self.config.checkpoint_dir)
            report = point.report()
            if report and point.checkpoint is None:
                raise OlmoasrError(f"{self.config.checkpoint_dir}: {report}; repair or move them away, or pass "
                                   "--resume never to start afresh")  # fmt: skip
            if report and self.rt.is_main:
                warn(report)
            return point.checkpoint
        return ckpt.verified_checkpoint(choice)

    # ------------------------------------------------------------------------------ train
    def train(self) -> TrainResult:
        cfg, rt = self.config, self.rt
        result = TrainResult(steps=self.step, best_eval_wer=self.best_eval_wer)
        result.last_checkpoint = str(self.resumed_from.path) if self.resumed_from else None
        stop_at = cfg.train_steps
        if cfg.stop_after_steps > 0:
            stop_at = min(stop_at, self.step + cfg.stop_after_steps)
        batches = iter(self.loader)
        window = _Window()
        skipped_total: dict[str, int] = {}
        while self.step < stop_at:
            step_start = time.perf_counter()
            micro_batches, wait = [], 0.0
            for _ in range(self.accumulation):
                t = time.perf_counter()
                batch = next(batches)
                wait += time.perf_counter() - t
                micro_batches.append(batch)
                worker, epoch, position = batch["state"]
                self.positions[worker] = (epoch, position)
                self.next_worker = (worker + 1) % max(1, cfg.num_workers)
                for reason, n in batch["skipped"].items():
                    skipped_total[reason] = skipped_total.get(reason, 0) + n
                if rt.is_main:
                    result.samples_seen.extend((epoch, tuple(key)) for key in batch["keys"])
            log_now = (self.step + 1) % cfg.train_log_freq == 0
            loss, grad_norm, stepped, tf_wer = self._optimizer_step(micro_batches, want_wer=log_now and rt.is_main)
            self.step += 1
            result.losses[self.step] = loss
            window.add(time.perf_counter() - step_start, wait, micro_batches, self.dims)
            if cfg.verbose and rt.is_main:
                note(f"step {self.step}: loss {loss:.5f} grad-norm {grad_norm:.4f}{'' if stepped else ' (skipped)'}")
            if log_now:
                skipped = sum(gather_objects(sum(skipped_total.values()), rt))
                record = window.record(self, loss, grad_norm, tf_wer, skipped)
                self.logger.log(record)
                window = _Window()
            if self.evaluator is not None:
                self._maybe_evaluate(result)
            epoch_end = cfg.epoch_steps > 0 and self.step % cfg.epoch_steps == 0
            if self.step % cfg.ckpt_freq == 0 or self.step == stop_at or epoch_end:
                result.last_checkpoint = str(self.save(kind="epoch" if epoch_end else "step"))
        result.steps = self.step
        result.skipped = skipped_total
        result.best_eval_wer = self.best_eval_wer
        if self.step >= cfg.train_steps or cfg.stop_after_steps > 0:
            result.export = self.export(cfg.run_dir / "export.pt")
        return result

    def _optimizer_step(self, micro_batches: list[dict[str, Any]], want_wer: bool):
        cfg, rt, model = self.config, self.rt, self.model
        from olmoasr.model.features import log_mel_batch

        local_tokens = sum(int((b["targets"] != IGNORE_INDEX).sum()) for b in micro_batches)
        (global_tokens,) = all_reduce_sum([float(local_tokens)], rt)
        model.train()
        loss_sum = torch.zeros((), dtype=torch.float64, device=rt.device)
        tf_wer = None
        for i, batch in enumerate(micro_batches):
            inputs = batch["inputs"].to(rt.device, non_blocking=True)
            targets = batch["targets"].to(rt.device, non_blocking=True)
            mel = log_mel_batch(batch["clips"], self.dims.n_mels, pad=batch["pads"], n_samples=self.window_samples,
                                device=rt.device)  # fmt: skip
            with gradient_sync(model, rt, sync=i == len(micro_batches) - 1), autocast(rt, cfg.precision):
                logits = model(mel, inputs)
                ce = F.cross_entropy(logits.float().flatten(0, 1), targets.flatten(),
                                     ignore_index=IGNORE_INDEX, reduction="sum")  # fmt: skip
                # gradients are averaged over ranks, hence * world_size
                loss = ce * (rt.world_size / max(global_tokens, 1.0))
                self.scaler.scale_loss(loss).backward()
            loss_sum += ce.detach()
            if want_wer and i == len(micro_batches) - 1:
                hyps = teacher_forced_texts(logits.detach(), targets, self.tokenizer)
                tf_wer = teacher_forced_wer(hyps, batch["texts"])
        (total,) = all_reduce_sum([float(loss_sum)], rt)
        loss_value = total / max(global_tokens, 1.0)
        if not math.isfinite(loss_value):
            self._diverged(f"non-finite loss ({loss_value})")
        self.scaler.unscale_(model)
        grad_norm = clip_grad_norm(model, cfg.max_grad_norm)
        stepped = self.scaler.update(grad_norm)
        if stepped:
            self.optimizer.step()
        elif not self.scaler.enabled:
            self._diverged(f"non-finite gradient norm ({grad_norm})")
        self.optimizer.zero_grad(set_to_none=True)
        self.scheduler.step()
        return loss_value, grad_norm, stepped, tf_wer

    def _diverged(self, what: str) -> None:
        last = ckpt.latest_checkpoint(self.config.checkpoint_dir)
        keep = f"last good checkpoint: {last.path} (step {last.step})" if last else "no checkpoint was written yet"
        raise TrainingDiverged(
            f"{what} at step {self.step + 1}; training stopped, {keep}. Lower lr or check the data, then resume."
        )

    def _maybe_evaluate(self, result: TrainResult) -> None:
        cfg = self.config
        do_eval = cfg.run_eval and self.step % cfg.eval_freq == 0
        do_val = cfg.run_val and self.step % cfg.val_freq == 0
        if not (do_eval or do_val):
            return
        outcome = self.evaluator.run(self.model, wer=do_eval, val_loss=do_val)
        if self.rt.is_main:
            record = {"kind": "eval", "step": self.step, **outcome.metrics}
            to_wandb = (do_eval and cfg.eval_wandb_log) or (do_val and cfg.val_wandb_log)
            self.logger.log(record, console=do_eval, wandb=to_wandb)
            if do_eval and (self.best_eval_wer is None or outcome.wer < self.best_eval_wer):
                self.best_eval_wer = outcome.wer
                ckpt.export_inference(
                    outcome.state_dict, self.dims, cfg.run_dir / "best_eval.pt", self.alignment_heads()
                )
                (cfg.run_dir / "best_eval.json").write_text(f'{{"step": {self.step}, "wer": {outcome.wer}}}\n')
        self.best_eval_wer = _broadcast_float(self.best_eval_wer, self.rt)

    # ------------------------------------------------------------------------------ save
    def save(self, kind: str = "step") -> Path:
        cfg, rt = self.config, self.rt
        state = {
            "step": self.step,
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "best_eval_wer": self.best_eval_wer,
            "config": cfg.to_dict(),
            "dims": self.dims.to_dict() if hasattr(self.dims, "to_dict") else vars(self.dims),
            "data_position": {
                "positions": self.positions,
                "next_worker": self.next_worker,
                "num_streams": self.spec.num_streams,
            },  # fmt: skip
        }
        return ckpt.save_checkpoint(cfg.checkpoint_dir, self.step, self.model, self.optimizer, rt, state,
                                    kind=kind, keep_last=cfg.keep_last)  # fmt: skip

    def alignment_heads(self) -> list[list[int]]:
        """The network's word-timestamp heads (`--init-from`'s, or the default last-half heads)."""
        return unwrap(self.model).alignment_heads.nonzero().tolist()

    def export(self, path: Path) -> str | None:
        state_dict = ckpt.full_state_dict(self.model, self.rt)
        if state_dict is not None:
            ckpt.export_inference(state_dict, self.dims, path, self.alignment_heads())
        barrier(self.rt)
        return str(path)

    # ------------------------------------------------------------------------------ clean up
    def cleanup(self) -> None:
        if getattr(self, "logger", None) is not None:
            self.logger.close()
        self.loader = None


def _broadcast_float(value: float | None, rt: Runtime) -> float | None:
    from olmoasr.train.parallel import broadcast_object

    return broadcast_object(value, rt)


class _Window:
    """Throughput counters between two log lines."""

    def __init__(self):
        self.seconds = self.wait = 0.0
        self.samples = self.tokens = self.steps = 0
        self.flops = 0.0

    def add(self, seconds: float, wait: float, micro_batches: list[dict[str, Any]], dims: Any) -> None:
        self.seconds += seconds
        self.wait += wait
        self.steps += 1
        for batch in micro_batches:
            rows, length = batch["inputs"].shape
            self.samples += rows
            self.tokens += int((batch["targets"] != IGNORE_INDEX).sum())
            self.flops += train_flops(dims, [length] * rows)

    def record(self, recipe: TrainingRecipe, loss: float, grad_norm: float, tf_wer, skipped: int) -> dict:
        cfg, rt = recipe.config, recipe.rt
        seconds = max(self.seconds, 1e-9)
        samples_per_s = self.samples * rt.world_size / seconds
        peak = cfg.effective_peak_flops(rt.device.type)
        if rt.device.type == "cuda":
            peak_mem = torch.cuda.max_memory_allocated(rt.device) / 1e9
        else:
            peak_mem = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
        record = {
            "kind": "train",
            "step": recipe.step,
            "train_steps": cfg.train_steps,
            "epoch": min((e for e, _ in recipe.positions.values()), default=0),
            "train/loss": loss,
            "train/lr": recipe.scheduler.get_last_lr()[0],
            "train/grad_norm": grad_norm,
            "train/loss_scale": recipe.scaler.scale,
            "perf/step_time_s": seconds / self.steps,
            "perf/samples_per_s": samples_per_s,
            "perf/tokens_per_s": self.tokens * rt.world_size / seconds,
            "perf/audio_min_per_device_s": self.samples * 30.0 / 60.0 / seconds,
            "perf/data_wait_fraction": self.wait / seconds,
            "perf/mfu": (self.flops / seconds) / peak if peak > 0 else None,
            "perf/peak_mem_gb": peak_mem,
            "data/skipped": skipped,
        }
        if tf_wer is not None:
            record["train/wer"] = tf_wer
        return record


def train(config: TrainConfig) -> TrainResult:
    """Run training in this process (one rank of a group when torchrun/our launcher set the env vars)."""
    runtime = init_runtime(config.strategy, config.device)
    recipe = TrainingRecipe(config, runtime)
    try:
        with _run_dir_lock(config, runtime):
            recipe.setup()
            return recipe.train()
    finally:
        recipe.cleanup()
        shutdown(runtime)


def _run_dir_lock(config: TrainConfig, runtime: Runtime):
    """Rank 0 holds the run folder's lock: a second training into the same folder stops at once."""
    import contextlib

    from olmoasr.io.lock import output_lock

    if not runtime.is_main:
        return contextlib.nullcontext()
    config.run_dir.mkdir(parents=True, exist_ok=True)
    return output_lock(config.run_dir, "train")
