"""Training-test data: small segment mixes written with PREP's container writer (FLAC-in-tar)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from olmoasr.audio import SAMPLE_RATE, encode_flac
from olmoasr.records.segment_store import ContainerWriter
from olmoasr.timestamps import format_time_ms

WORDS = ["red", "green", "blue", "yellow", "black", "white", "orange", "purple"]
MICRO = {"n_audio_ctx": 150, "n_audio_state": 64, "n_audio_head": 2, "n_audio_layer": 2,
         "n_text_state": 64, "n_text_head": 2, "n_text_layer": 2}  # fmt: skip


def word_tone(word: str, seconds: float = 0.5) -> np.ndarray:
    """Each word is a chord of two tones (a learnable audio <-> text mapping)."""
    i = WORDS.index(word)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (0.3 * np.sin(2 * np.pi * (300 + 150 * i) * t) + 0.2 * np.sin(2 * np.pi * (1800 - 120 * i) * t)).astype(
        np.float32
    )


def make_mix(root: Path, n: int = 16, per_container: int = 8, seed: int = 0, files: int = 2, empty_every: int = 0):
    """n segment records over `files` JSONL shards + containers; returns the JSONL directory."""
    rng = np.random.default_rng(seed)
    data_dir = root / "mix"
    data_dir.mkdir(parents=True, exist_ok=True)
    records = []
    with ContainerWriter(root / "audio", "seg", per_container=per_container) as writer:
        for i in range(n):
            if empty_every and i % empty_every == empty_every - 1:
                audio = np.zeros(30 * SAMPLE_RATE, dtype=np.float32)
                content, norm_end = "WEBVTT\n\n", 30000
            else:
                words = [WORDS[j] for j in rng.integers(0, len(WORDS), size=rng.integers(2, 5))]
                cues, pieces, t = [], [], 0
                for w in words:
                    tone = word_tone(w)
                    pieces += [tone, np.zeros(SAMPLE_RATE // 10, dtype=np.float32)]
                    start, t = t, t + 600
                    cues.append(f"{format_time_ms(start)} --> {format_time_ms(start + 500)}\n{w}\n")
                audio = np.concatenate(pieces)
                content, norm_end = "WEBVTT\n\n" + "\n".join(cues), format_time_ms(t - 100)
            loc = writer.add(f"seg{i:04d}", encode_flac(audio))
            records.append({
                "subtitle_file": f"doc{i}.vtt", "seg_content": content, "text_timestamp": "", "norm_end": norm_end,
                "audio_timestamp": f"00:00:00,000_00:00:{min(len(audio) // SAMPLE_RATE, 30):02d},000",
                "id": f"doc{i}", "seg_id": f"seg{i:04d}", "audio_file": loc.audio_file,
                "audio_offset": loc.audio_offset, "audio_nbytes": loc.audio_nbytes,
                "ts_mode": True, "no_ts_mode": True, "only_no_ts_mode": False,
            })  # fmt: skip
    per_file = -(-n // files)
    for f in range(files):
        chunk = records[f * per_file : (f + 1) * per_file]
        (data_dir / f"part-{f:03d}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in chunk))
    return data_dir


@pytest.fixture(scope="session")
def mix16(tmp_path_factory):
    return make_mix(tmp_path_factory.mktemp("mix16"), n=16, files=1)  # one shard: streams split it by line


def micro_overrides(data, out, **changes):
    values = {"data": str(data), "out": str(out), "dims": dict(MICRO), "train_steps": 6, "eff_batch_size": 4,
              "train_batch_size": 4, "num_workers": 0, "shuffle": False, "train_log_freq": 1, "ckpt_freq": 100,
              "precision": "float32", "lr": 3e-3, "device": "cpu", "seed": 0}  # fmt: skip
    values.update(changes)
    return values


@pytest.fixture(scope="session")
def sample_segments(tmp_path_factory):
    """The built-in sample shard through PREP's `prep jsonl` + `prep segment` (segment JSONL + tar containers)."""
    from olmoasr.pipeline.prep_jsonl import prep_jsonl
    from olmoasr.pipeline.prep_segment import prep_segment
    from olmoasr.sample_data import extract_sample_shard

    root = tmp_path_factory.mktemp("sample")
    prep_jsonl(extract_sample_shard(root), root / "docs", workers=1, show_progress=False)
    prep_segment(root / "docs", root / "segs", workers=1, show_progress=False)
    return root / "segs"
