"""Benchmark `tag lang` (voxlingua107 backend): segments/s end to end, and the model step against the
original's approach (every segment zero-padded to 30 s, batches in file order, no lengths).

The network is the full-size VoxLingua107 ECAPA-TDNN (21M parameters) with random weights, saved and
loaded in SpeechBrain's layout: speed does not depend on the weights' values. Segment lengths are drawn
uniformly from 2-30 s (the built-in sample shard's segments average 20 s); the audio is synthetic.

    python benchmarks/bench_tag_lang.py --segments 512 --device cuda     # on a GPU
    python benchmarks/bench_tag_lang.py --segments 24 --device cpu       # quick CPU figure
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from olmoasr.audio import write_audio
from olmoasr.io import JsonlWriter
from olmoasr.pipeline.lang_id import LangIdOptions, get_classifier, tag_audio_language
from olmoasr.pipeline.lang_id.backends import resolve_device
from olmoasr.pipeline.lang_id.ecapa import ClassifierConfig, EcapaConfig
from olmoasr.pipeline.lang_id.fbank import FbankConfig
from olmoasr.pipeline.lang_id.speechbrain_format import SpeechBrainLidSpec
from olmoasr.pipeline.lang_id.stages import length_batches
from olmoasr.pipeline.lang_id.voxlingua import SpeechBrainLanguageId, save_speechbrain_model

SR = 16000


def make_corpus(root: Path, n: int, seed: int) -> tuple[Path, list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    waves = []
    with JsonlWriter(root / "segs" / "shard_00000.jsonl") as out:
        for i in range(n):
            seconds = float(rng.uniform(2, 30))
            t = np.arange(int(seconds * SR)) / SR
            wave = 0.2 * np.sin(2 * np.pi * rng.uniform(100, 1000) * t) + 0.05 * rng.standard_normal(t.size)
            wave = wave.astype(np.float32)
            path = root / "audio" / f"{i}.flac"
            path.parent.mkdir(parents=True, exist_ok=True)
            write_audio(path, wave)
            waves.append(wave)
            out.write(
                {
                    "subtitle_file": f"{i}.vtt",
                    "seg_content": "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nspeech\n",
                    "text_timestamp": "00:00:00,000_00:00:01,000",
                    "audio_timestamp": "00:00:00,000_00:00:01,000",
                    "norm_end": "00:00:01.000",
                    "id": f"doc{i // 4}",
                    "seg_id": f"doc{i // 4}_{i % 4}",
                    "audio_file": str(path),
                }
            )
    return root / "segs", waves


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


class Timer:
    """Wall and process CPU seconds (CPU seconds stay meaningful on a machine shared with other jobs)."""

    def __enter__(self) -> Timer:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


@torch.inference_mode()
def original_approach(model: SpeechBrainLanguageId, waves: list[np.ndarray], batch: int, device: str) -> Timer:
    """Every segment padded/trimmed to 30 s, batches in file order, relative lengths all 1 (as the original)."""
    with Timer() as timer:
        _original_batches(model, waves, batch, device)
    return timer


def _original_batches(model: SpeechBrainLanguageId, waves: list[np.ndarray], batch: int, device: str) -> None:
    for start in range(0, len(waves), batch):
        chunk = np.zeros((len(waves[start : start + batch]), 30 * SR), dtype=np.float32)
        for row, wave in enumerate(waves[start : start + batch]):
            chunk[row, : min(len(wave), 30 * SR)] = wave[: 30 * SR]
        x = torch.from_numpy(chunk).to(device)
        model(x, torch.ones(len(chunk), device=device)).argmax(-1).cpu()
    sync(device)


def ours(classifier, waves: list[np.ndarray], batch: int, device: str, max_batch_seconds: float) -> Timer:
    """Real lengths, batches of similar length under the padded-audio budget (what the classify stage does)."""
    order = sorted(range(len(waves)), key=lambda i: len(waves[i]))
    with Timer() as timer:
        for chunk in length_batches([len(waves[i]) for i in order], batch, max_batch_seconds):
            classifier.classify([waves[order[k]] for k in chunk])
        sync(device)
    return timer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--segments", type=int, default=24)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 = per-core figures)")
    parser.add_argument("--no-write", action="store_true", help="print only; do not update RESULTS.md")
    args = parser.parse_args()
    device = resolve_device(args.device)
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        spec = SpeechBrainLidSpec(FbankConfig(n_mels=60), True, False, EcapaConfig(), ClassifierConfig())
        torch.manual_seed(args.seed)
        model_dir = save_speechbrain_model(
            SpeechBrainLanguageId(spec, [f"l{i}: Language {i}" for i in range(107)]), root / "model"
        )
        segs, waves = make_corpus(root, args.segments, args.seed)
        audio_s = sum(len(w) for w in waves) / SR
        classifier = get_classifier("voxlingua107", str(model_dir), device)
        budget = 960.0 if device.startswith("cuda") else 120.0  # tag_audio_language's defaults
        ours(classifier, waves[: min(4, len(waves))], args.batch_size, device, budget)  # warm-up
        t_ours = ours(classifier, waves, args.batch_size, device, budget)
        t_orig = original_approach(classifier.model, waves, args.batch_size, device)
        with Timer() as t_e2e:
            report = tag_audio_language(
                segs,
                root / "out",
                LangIdOptions(model=str(model_dir), batch_size=args.batch_size, device=device, workers=1),
                show_progress=False,
            )
        assert report.summary["segments_classified"] == args.segments
        gpu_mem = torch.cuda.max_memory_allocated() / 2**30 if device.startswith("cuda") else 0.0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    rows = [
        ("model step, ours (real lengths, length-sorted batches)", t_ours),
        ("model step, original's approach (pad to 30 s, file order)", t_orig),
        ("`tag lang` end to end (decode FLAC + classify + vote + write)", t_e2e),
    ]
    body = [
        f"{args.segments} segments, {audio_s / 60:.1f} min of audio (lengths uniform 2-30 s), batch "
        f"{args.batch_size}, device `{device}`, full-size VoxLingua107 ECAPA-TDNN (random weights), "
        f"padded audio per batch <= {budget:.0f} s.",
        "",
        "| step | wall s | CPU s | segments / wall s | segments / CPU s | audio x real time (wall) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    body += [
        f"| {name} | {t.wall:.2f} | {t.cpu:.2f} | {args.segments / t.wall:.2f} | {args.segments / t.cpu:.2f} "
        f"| {audio_s / t.wall:.1f} |"
        for name, t in rows
    ]
    on_gpu = device.startswith("cuda")
    ratio = t_orig.wall / t_ours.wall if on_gpu else t_orig.cpu / t_ours.cpu
    body += [
        "",
        f"Model step speed-up over the original's approach: **{ratio:.2f}x** by "
        f"{'wall' if on_gpu else 'CPU'} time (no compute spent on padding; {args.threads} torch thread(s)).",
        f"Peak RSS {rss:.2f} GiB" + (f", peak GPU memory {gpu_mem:.2f} GiB." if gpu_mem else "."),
    ]
    text = "\n".join(body)
    print(text)
    if not args.no_write:
        from _results import write_section

        write_section("tag lang", text)


if __name__ == "__main__":
    main()
