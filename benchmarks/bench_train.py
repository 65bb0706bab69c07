"""Training throughput: samples/s, audio-minutes per device-second, data-wait fraction and MFU.

CPU (always): a short run of a real-size config (tiny by default, 30 s windows, fp32) on synthetic
segments in FLAC-in-tar containers, plus the data loader alone (samples/s per loader worker) compared
with what one H100 would consume at 40% MFU. GPU (when CUDA is present): tiny/base/small in bf16, one
process on one device, MFU against the configured peak (H100: 989 TFLOP/s dense bf16).

    python benchmarks/bench_train.py                       # CPU figures -> benchmarks/RESULTS.md
    python benchmarks/bench_train.py --gpu-variants tiny,base,small --gpu-batch 64
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._results import write_section  # noqa: E402
from olmoasr.audio import SAMPLE_RATE, encode_flac  # noqa: E402
from olmoasr.pipeline.segment_audio import ContainerWriter  # noqa: E402
from olmoasr.timestamps import format_time_ms  # noqa: E402

WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "while", "seven", "wizards"]


def synthetic_mix(root: Path, n: int, seconds: float = 25.0, seed: int = 0) -> Path:
    """n ~25 s segments (noise bursts as 'words') with 1 caption per 2.5 s, in 100-segment containers."""
    rng = np.random.default_rng(seed)
    data = root / "mix"
    data.mkdir(parents=True)
    with ContainerWriter(root / "audio", "seg", per_container=100) as writer, open(data / "mix.jsonl", "w") as out:
        for i in range(n):
            audio = (0.1 * rng.standard_normal(int(seconds * SAMPLE_RATE))).astype(np.float32)
            cues = []
            for c in range(int(seconds // 2.5)):
                text = " ".join(rng.choice(WORDS, size=6))
                start = int(c * 2500)
                cues.append(f"{format_time_ms(start)} --> {format_time_ms(start + 2400)}\n{text}\n")
            loc = writer.add(f"s{i:05d}", encode_flac(audio))
            record = {"subtitle_file": "x.vtt", "seg_content": "WEBVTT\n\n" + "\n".join(cues), "text_timestamp": "",
                      "norm_end": int(seconds * 1000) - 100, "audio_timestamp": "00:00:00,000_00:00:25,000",
                      "id": f"d{i}", "seg_id": f"s{i:05d}", "audio_file": loc.audio_file,
                      "audio_offset": loc.audio_offset, "audio_nbytes": loc.audio_nbytes}  # fmt: skip
            out.write(json.dumps(record) + "\n")
    return data


def loader_rate(data: Path, batches: int, batch_size: int) -> float:
    from olmoasr.train.data import StreamSpec, find_data_files, make_loader

    spec = StreamSpec(files=[str(f) for f in find_data_files(data)], batch_size=batch_size, shuffle_buffer=64)
    iterator = iter(make_loader(spec))
    next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches * batch_size / (time.perf_counter() - start)


def run_training(data: Path, out: Path, variant: str, steps: int, batch: int, precision: str, device: str):
    from olmoasr.train import load_config, train

    values = {"data": str(data), "out": str(out), "train_steps": steps + 1, "train_batch_size": batch,
              "eff_batch_size": batch, "num_workers": 2, "precision": precision, "device": device,
              "train_log_freq": 1, "ckpt_freq": 10_000, "strategy": "auto", "pin_memory": device == "cuda"}  # fmt: skip
    config = load_config(variant, values)
    train(config)
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()][1:]  # skip warm-up
    seconds = sum(r["perf/step_time_s"] for r in records)
    samples = batch * len(records)
    return {
        "samples_per_s": samples / seconds,
        "audio_min_per_device_s": samples * 0.5 / seconds,
        "data_wait": sum(r["perf/data_wait_fraction"] * r["perf/step_time_s"] for r in records) / seconds,
        "mfu": (sum((r["perf/mfu"] or 0.0) * r["perf/step_time_s"] for r in records) / seconds),
        "peak_mem_gb": max(r["perf/peak_mem_gb"] for r in records),
        "tokens_per_sample": records[-1]["perf/tokens_per_s"] / records[-1]["perf/samples_per_s"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", default="tiny")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--segments", type=int, default=48)
    parser.add_argument("--gpu-variants", default="tiny,base,small")
    parser.add_argument("--gpu-batch", type=int, default=32)
    parser.add_argument("--gpu-steps", type=int, default=10)
    args = parser.parse_args()

    import torch

    from olmoasr.model.dims import variant_dims
    from olmoasr.train.metrics import train_flops

    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        data = synthetic_mix(Path(tmp), args.segments)
        per_worker = loader_rate(data, batches=4, batch_size=8)
        cpu = run_training(data, Path(tmp) / "cpu", args.variant, args.steps, args.batch, "float32", "cpu")
        tokens = cpu["tokens_per_sample"]
        lines += [
            f"**CPU, {args.variant}, fp32, batch {args.batch}, {args.steps} timed steps, 2 loader workers** "
            f"(synthetic 25 s segments, ~{tokens:.0f} target tokens each, FLAC-in-tar):",
            "",
            "| samples/s | audio-min per device-s | data-wait fraction | peak RSS |",
            "|---|---|---|---|",
            f"| {cpu['samples_per_s']:.2f} | {cpu['audio_min_per_device_s']:.3f} | {cpu['data_wait']:.1%} | "
            f"{cpu['peak_mem_gb']:.2f} GB |",
            "",
            f"Data loader alone (FLAC decode, targets, padding; 1 worker): **{per_worker:.1f} samples/s per worker**.",
            "",
            "What one H100 would consume at 40% MFU (989 TFLOP/s peak, analytic FLOPs, same token count), and the "
            "loader workers that needs:",
            "",
            "| variant | training GFLOP/sample | samples/s per GPU at 40% MFU | loader workers needed |",
            "|---|---|---|---|",
        ]
        for variant in ("tiny", "base", "small", "medium", "large"):
            flops = train_flops(variant_dims(variant), [int(tokens)])
            need = 0.4 * 989e12 / flops
            lines.append(f"| {variant} | {flops / 1e9:.0f} | {need:.0f} | {need / per_worker:.1f} |")
        if torch.cuda.is_available():
            lines += ["", f"**GPU ({torch.cuda.get_device_name(0)}), bf16, one process, batch {args.gpu_batch}:**",
                      "", "| variant | samples/s | audio-min per GPU-s | MFU | data-wait | peak mem |",
                      "|---|---|---|---|---|---|"]  # fmt: skip
            gpu_data = synthetic_mix(Path(tmp) / "gpu", max(args.segments, args.gpu_batch * 4))
            for variant in args.gpu_variants.split(","):
                r = run_training(gpu_data, Path(tmp) / f"gpu-{variant}", variant, args.gpu_steps, args.gpu_batch,
                                 "bfloat16", "cuda")  # fmt: skip
                lines.append(f"| {variant} | {r['samples_per_s']:.1f} | {r['audio_min_per_device_s']:.1f} | "
                             f"{r['mfu']:.1%} | {r['data_wait']:.1%} | {r['peak_mem_gb']:.1f} GB |")  # fmt: skip
        else:
            lines += ["", "GPU MFU (target >= 40% for small on one H100): **not measured** — no GPU on this machine."]
    body = "\n".join(lines)
    print(body)
    write_section("bench_train", body)


if __name__ == "__main__":
    main()
