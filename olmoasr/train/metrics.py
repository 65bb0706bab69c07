"""Training metrics: one console line per log step, `metrics.jsonl` always, wandb when asked.

FLOPs are counted analytically per 30 s sample (matmuls only, 2 FLOPs per multiply-add; training =
3x forward), so MFU = achieved FLOP/s / (devices x peak FLOP/s per device).
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import torch

from olmoasr.console import stderr_console
from olmoasr.log import warn


def forward_flops_per_sample(dims: Any, text_tokens: int) -> float:
    """Matmul FLOPs of one forward pass: encoder over n_audio_ctx frames + decoder over `text_tokens`."""
    d_a, n_a, frames = dims.n_audio_state, dims.n_audio_layer, dims.n_audio_ctx
    d_t, n_t, t = dims.n_text_state, dims.n_text_layer, text_tokens
    conv = 2 * (dims.n_mels * d_a * 3 * 2 * frames) + 2 * (d_a * d_a * 3 * frames)
    enc_block = 2 * (4 * d_a * d_a * frames) + 2 * (2 * frames * frames * d_a) + 2 * (8 * d_a * d_a * frames)
    self_attn = 2 * (4 * d_t * d_t * t) + 2 * (2 * t * t * d_t)
    cross_attn = 2 * (2 * d_t * d_t * t) + 2 * (2 * d_t * d_a * frames) + 2 * (2 * t * frames * d_t)
    mlp = 2 * (8 * d_t * d_t * t)
    logits = 2 * d_t * dims.n_vocab * t
    return conv + n_a * enc_block + n_t * (self_attn + cross_attn + mlp) + logits


def train_flops(dims: Any, token_counts: list[int]) -> float:
    return sum(3.0 * forward_flops_per_sample(dims, t) for t in token_counts)


def teacher_forced_texts(logits: torch.Tensor, targets: torch.Tensor, tokenizer: Any) -> list[str]:
    """Argmax predictions at the target positions, text tokens only (specials and timestamps dropped)."""
    predictions = logits.argmax(dim=-1)
    texts = []
    for pred, target in zip(predictions.tolist(), targets.tolist(), strict=True):
        kept = [p for p, t in zip(pred, target, strict=True) if t != -100 and p < tokenizer.eot]
        texts.append(tokenizer.decode(kept))
    return texts


def teacher_forced_wer(hyps: list[str], refs: list[str]) -> float:
    from olmoasr.text.normalize import normalize_english
    from olmoasr.text.wer import corpus_wer

    return corpus_wer([normalize_english(r) for r in refs], [normalize_english(h) for h in hyps]).wer


class MetricsLogger:
    """Rank 0 only. `metrics.jsonl` is append-only; on resume, lines after the resumed step are dropped."""

    def __init__(self, directory: Path, config: Any, resume_step: int = 0, enabled: bool = True):
        self.enabled = enabled
        self.path = directory / "metrics.jsonl"
        self._wandb = None
        if not enabled:
            return
        directory.mkdir(parents=True, exist_ok=True)
        self._truncate_after(resume_step)
        self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        if config.wandb_project and config.wandb_mode != "disabled":
            self._wandb = _start_wandb(config, directory)

    def _truncate_after(self, step: int) -> None:
        if not self.path.exists():
            return
        kept = []
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    if json.loads(line).get("step", 0) <= step:
                        kept.append(line)
                except json.JSONDecodeError:
                    continue
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("".join(kept), encoding="utf-8")
        os.replace(tmp, self.path)

    def log(self, record: dict[str, Any], console: bool = True, wandb: bool = True) -> None:
        if not self.enabled:
            return
        self._fh.write(json.dumps(record) + "\n")
        self._fh.flush()
        if console:
            stderr_console().print(format_line(record), highlight=False, soft_wrap=True)
        if self._wandb is not None and wandb:
            step = record.get("step")
            self._wandb.log({k: v for k, v in record.items() if isinstance(v, int | float)}, step=step)

    def close(self) -> None:
        if not self.enabled:
            return
        self._fh.close()
        if self._wandb is not None:
            self._wandb.finish()


def format_line(record: dict[str, Any]) -> str:
    kind = record.get("kind", "train")
    if kind == "eval":
        wer = 100 * record.get("eval/wer", float("nan"))
        return f"[bold]eval[/] step {record['step']}  wer {wer:.2f}%  ({record.get('eval/samples', 0)} samples)"
    parts = [f"step {record['step']}/{record.get('train_steps', '?')}", f"loss {record['train/loss']:.4f}"]
    if "train/wer" in record:
        parts.append(f"tf-wer {100 * record['train/wer']:.1f}%")
    parts.append(f"lr {record['train/lr']:.2e}")
    parts.append(f"gnorm {record['train/grad_norm']:.3f}")
    parts.append(f"{record['perf/samples_per_s']:.1f} samp/s")
    parts.append(f"{record['perf/audio_min_per_device_s']:.2f} audio-min/dev-s")
    if record.get("perf/mfu"):
        parts.append(f"MFU {100 * record['perf/mfu']:.1f}%")
    parts.append(f"data-wait {100 * record['perf/data_wait_fraction']:.0f}%")
    if record.get("perf/peak_mem_gb"):
        parts.append(f"mem {record['perf/peak_mem_gb']:.1f} GB")
    if record.get("data/skipped"):
        parts.append(f"skipped {record['data/skipped']}")
    return "  ".join(parts)


def _start_wandb(config: Any, directory: Path):
    try:
        import wandb
    except ImportError:
        warn("wandb is not installed (pip install 'olmoasr[wandb]'); logging to metrics.jsonl only")
        return None
    run_id_dir = Path(config.run_id_dir) if config.run_id_dir else directory
    run_id_file = run_id_dir / f"{config.exp_name}.wandb_id"
    run_id = run_id_file.read_text().strip() if run_id_file.exists() else uuid.uuid4().hex[:8]
    run_id_dir.mkdir(parents=True, exist_ok=True)
    run_id_file.write_text(run_id)
    return wandb.init(
        project=config.wandb_project,
        entity=config.wandb_entity,
        id=run_id,
        resume="allow",
        name=config.exp_name,
        job_type=config.job_type,
        mode=config.wandb_mode,
        dir=str(directory),
        config=config.to_dict(),
    )
