"""The quickstart's own inputs: the sample shard split into a training pool and a held-out shard, the
held-out eval manifest, the derived filter config (no audio LID) and the train config.

Held-out split (deterministic): the first two `good` pairs of the sample manifest that are shorter than
30 s (so each is exactly one eval window) move from `shard_00000/` to `shard_heldout/`. Every stage
processes both shards (the funnel counts all 20 pairs), but only `shard_00000` is sampled for training.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml

from olmoasr.io.atomic import atomic_write_text, temporary_sibling
from olmoasr.io.jsonl import iter_jsonl, jsonl_files, strip_jsonl_suffix
from olmoasr.quickstart.layout import QuickstartError

TRAIN_SHARD = "shard_00000"
HELDOUT_SHARD = "shard_heldout"
HELDOUT_PAIRS = 2
HELDOUT_MAX_SECONDS = 30.0
HELDOUT_FILE = "heldout.json"
EVAL_MANIFEST = "heldout.jsonl"
BEST_FILTER = "text_heurs_seg_edit_dist_edit_dist"
# The fine-tune (with walk.DEFAULT_STEPS["finetune"] steps), chosen by benchmarks/proof_quickstart.py: the
# held-out WER falls while real LibriVox speech keeps its WER; longer or faster runs cost LibriVox words.
FINETUNE_LR = 5.0e-6


def choose_heldout(manifest: list[dict[str, Any]]) -> list[str]:
    good = [p for p in manifest if p.get("kind") == "good" and float(p.get("duration_s", 1e9)) < HELDOUT_MAX_SECONDS]
    if len(good) < HELDOUT_PAIRS:
        raise QuickstartError(f"the sample shard has only {len(good)} short good pairs; {HELDOUT_PAIRS} are needed")
    return [p["id"] for p in good[:HELDOUT_PAIRS]]


def prepare_sample(dest: Path) -> dict[str, Any]:
    """Extract the packaged sample shard into `dest` (atomically) and split off the held-out pairs."""
    from olmoasr.sample_data import MANIFEST_NAME, SHARD_NAME, extract_sample_shard, sample_manifest

    tmp = temporary_sibling(dest)
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        raw = extract_sample_shard(tmp)
        manifest = sample_manifest(raw)
        heldout = choose_heldout(manifest)
        (tmp / HELDOUT_SHARD).mkdir()
        for pair_id in heldout:
            (raw / SHARD_NAME / pair_id).rename(tmp / HELDOUT_SHARD / pair_id)
        (raw / SHARD_NAME).rename(tmp / TRAIN_SHARD)
        (raw / MANIFEST_NAME).rename(tmp / MANIFEST_NAME)
        raw.rmdir()
        info = {
            "pairs": len(manifest),
            "heldout": heldout,
            "kinds": {p["id"]: p["kind"] for p in manifest},
            "hours": sum(float(p.get("duration_s", 0.0)) for p in manifest) / 3600,
        }
        atomic_write_text(tmp / HELDOUT_FILE, json.dumps(info, indent=2) + "\n")
        if dest.exists():
            shutil.rmtree(dest)
        tmp.rename(dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return info


def read_sample_info(sample_dir: Path) -> dict[str, Any]:
    return json.loads((sample_dir / HELDOUT_FILE).read_text(encoding="utf-8"))


def derived_filter_config(path: Path, skipped_tag: str = "audio_lang") -> Path:
    """The paper's best filter without its `audio_lang` step, written to `path` (used when no audio LID ran)."""
    from olmoasr.configs import resolve_config

    data = yaml.safe_load(resolve_config(BEST_FILTER, "filtering").read_text(encoding="utf-8"))
    data["name"] = f"{data.get('name', BEST_FILTER)}_no_{skipped_tag}"
    data["pipeline"] = [step for step in data["pipeline"] if step.get("tag") != skipped_tag]
    text = (
        f"# {BEST_FILTER} (the paper's best filter) without its `{skipped_tag}` step: no audio language-ID\n"
        "# model was available, so that step cannot be tested (written by `olmoasr quickstart`).\n"
    ) + yaml.safe_dump(data, sort_keys=False)
    atomic_write_text(path, text)
    return path


def skip_audio_lid(stage_dir: Path, config_path: Path, reason: str) -> Path:
    """The `tag lang` stage when no audio LID model can be loaded: a note saying why + the derived filter."""
    stage_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(stage_dir / "SKIPPED.txt", f"audio language ID was skipped: {reason}\n")
    return derived_filter_config(config_path)


def write_train_config(path: Path, mode: str, device: str, base_model: str | None) -> Path:
    """The quickstart's train config: fine-tune tiny.en (small lr, batch 4) or a micro model from scratch."""
    precision = "bfloat16" if device == "cuda" else "float32"
    if mode == "finetune":
        values: dict[str, Any] = {
            "base": "tiny",
            "exp_name": "quickstart-finetune",
            "init_from": base_model,
            "lr": FINETUNE_LR,
            "warmup_fraction": 0.1,
        }
    else:
        values = {"base": "micro", "exp_name": "quickstart-micro"}
    values.update(
        eff_batch_size=4, train_batch_size=4, eval_batch_size=4, num_workers=0, pin_memory=False,
        shuffle_buffer=64, precision=precision, device=device, strategy="auto", nproc_per_node=1,
        train_log_freq=1, keep_last=1, run_eval=False, wandb_project=None,
    )  # fmt: skip
    what = "fine-tune Whisper tiny.en" if mode == "finetune" else "a micro model from scratch"
    header = f"# olmoasr quickstart: {what}\n"
    atomic_write_text(path, header + yaml.safe_dump(values, sort_keys=False))
    return path


def caption_text(seg_content: str) -> str:
    from olmoasr.records.transcripts import parse_transcript, transcript_text

    return transcript_text(parse_transcript(seg_content, allow_empty=True).captions)


def build_heldout_manifest(filtered_dir: Path, out_dir: Path) -> dict[str, Any]:
    """The kept segments of the held-out shard -> `out_dir/audio/<seg_id>.flac` + `heldout.jsonl`
    (`{"id", "audio", "text"}` lines, audio relative to the manifest: what `olmoasr eval --manifest` reads)."""
    from olmoasr.audio import write_audio
    from olmoasr.records.segment_store import load_segment_audio

    sources = [p for p in jsonl_files(filtered_dir) if strip_jsonl_suffix(p.name) == HELDOUT_SHARD]
    tmp = temporary_sibling(out_dir)
    shutil.rmtree(tmp, ignore_errors=True)
    lines, seconds = [], 0.0
    try:
        (tmp / "audio").mkdir(parents=True)
        for source in sources:
            for _, record in iter_jsonl(source):
                text = caption_text(record.get("seg_content") or "")
                if not text.strip():
                    continue  # no-speech windows have no reference to score
                samples = load_segment_audio(record)
                name = f"audio/{record['seg_id']}.flac"
                write_audio(tmp / name, samples)
                seconds += len(samples) / 16000
                lines.append({"id": record["seg_id"], "audio": name, "text": text})
        if not lines:
            raise QuickstartError(f"{filtered_dir}: no held-out segments survived the filter; nothing to evaluate")
        atomic_write_text(tmp / EVAL_MANIFEST, "".join(json.dumps(line) + "\n" for line in lines))
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"utterances": len(lines), "seconds": seconds}


def save_initial_weights(train_config: Path, path: Path) -> Path:
    """The weights a from-scratch run starts from (same seed, same init), so "before" is measured on them."""
    import torch

    from olmoasr.model import save_model
    from olmoasr.train import load_config
    from olmoasr.train.loop import build_model

    config = load_config(train_config)
    torch.manual_seed(config.seed)  # as the trainer does right before building the network
    model, _ = build_model(config)
    return save_model(model.eval(), path)
