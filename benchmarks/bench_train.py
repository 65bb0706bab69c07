"""Training throughput: samples/s, audio-minutes per device-second, data-wait fraction and MFU.

CPU (always, unless --skip-cpu): a short run of a real-size config (tiny by default, 30 s windows, fp32)
on synthetic segments in FLAC-in-tar containers, plus the data loader alone (samples/s per loader worker)
compared with what one H100 would consume at 40% MFU. Accelerator (when CUDA is present, or --device):
tiny/base/small in bf16, DDP on one device (a one-rank process group, started by the same launcher as
`olmoasr train --nproc-per-node`), MFU against the configured peak (H100: 989 TFLOP/s dense bf16).

    python benchmarks/bench_train.py                       # CPU figures (+ the GPU table on a CUDA machine)
    python benchmarks/bench_train.py --skip-cpu --gpu-variants tiny,base,small --gpu-batch 64
    python benchmarks/bench_train.py --dry-run             # the accelerator table's code path on CPU, micro sizes
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
from olmoasr.records.segment_store import ContainerWriter  # noqa: E402
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


def run_training(
    data: Path,
    out: Path,
    variant: str,
    steps: int,
    batch: int,
    precision: str,
    device: str,
    ddp: bool = False,
    workers: int = 2,
    extra: dict | None = None,
) -> dict[str, float]:
    """`steps` timed steps (after one warm-up step) of `variant`; `ddp`: a one-rank DDP group via the launcher."""
    from olmoasr.train import load_config, train
    from olmoasr.train.launch import spawn_workers

    values = {"data": str(data), "out": str(out), "train_steps": steps + 1, "train_batch_size": batch,
              "eff_batch_size": batch, "num_workers": workers, "precision": precision, "device": device,
              "train_log_freq": 1, "ckpt_freq": 10_000, "strategy": "ddp" if ddp else "auto",
              "pin_memory": device == "cuda", **(extra or {})}  # fmt: skip
    config = load_config(variant, values)
    spawn_workers(config) if ddp else train(config)
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()][1:]  # skip warm-up
    seconds = sum(r["perf/step_time_s"] for r in records)
    samples = batch * len(records)
    mfus = [r["perf/mfu"] for r in records]
    mfu = None if None in mfus else sum(m * r["perf/step_time_s"] for m, r in zip(mfus, records, strict=True)) / seconds
    return {
        "samples_per_s": samples / seconds,
        "audio_min_per_device_s": samples * 0.5 / seconds,
        "data_wait": sum(r["perf/data_wait_fraction"] * r["perf/step_time_s"] for r in records) / seconds,
        "mfu": mfu,
        "peak_mem_gb": max(r["perf/peak_mem_gb"] for r in records),
        "tokens_per_sample": records[-1]["perf/tokens_per_s"] / records[-1]["perf/samples_per_s"],
    }


def accelerator_table(
    root: Path,
    device: str,
    variants: list[str],
    batch: int,
    steps: int,
    segments: int,
    workers: int,
    compile_blocks: bool,
    extra: dict | None = None,
) -> list[str]:
    """bf16 DDP on one device, one row per variant (the GPU figures; on CPU only a check of the code path)."""
    import torch

    from olmoasr.train.config import PEAK_FLOPS

    name = torch.cuda.get_device_name(0) if device == "cuda" else "CPU"
    hardware = next((key for key in PEAK_FLOPS if key.lower() in name.lower()), "H100")  # MFU's peak FLOP/s
    lines = [f"**{name}, bf16, DDP on one device, batch {batch}, {steps} timed steps, {workers} loader workers"
             f"{', torch.compile per block' if compile_blocks else ''}:**", "",
             "| variant | samples/s | audio-min per device-s | MFU | data-wait | peak mem |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    data = synthetic_mix(root / "accelerator", max(segments, batch * (steps + 2)))
    settings = {"compile": compile_blocks, "hardware": hardware, **(extra or {})}
    for variant in variants:
        r = run_training(data, root / f"{device}-{variant}", variant, steps, batch, "bfloat16", device, ddp=True,
                         workers=workers, extra=settings)  # fmt: skip
        mfu = "n/a (no peak on CPU)" if r["mfu"] is None else f"{r['mfu']:.1%}"
        lines.append(f"| {variant} | {r['samples_per_s']:.1f} | {r['audio_min_per_device_s']:.1f} | {mfu} | "
                     f"{r['data_wait']:.1%} | {r['peak_mem_gb']:.1f} GB |")  # fmt: skip
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", default="tiny")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--segments", type=int, default=48)
    parser.add_argument("--skip-cpu", action="store_true", help="Only the accelerator table.")
    parser.add_argument(
        "--device", default="auto", choices=("auto", "cpu", "cuda"),
        help="Accelerator table on: auto (cuda when present), cuda; cpu: CPU figures only.",
    )  # fmt: skip
    parser.add_argument("--gpu-variants", default="tiny,base,small")
    parser.add_argument("--gpu-batch", type=int, default=32)
    parser.add_argument("--gpu-steps", type=int, default=10)
    parser.add_argument("--gpu-workers", type=int, default=0, help="Loader workers (0: CPU cores - 2, at most 14).")
    parser.add_argument("--compile", action="store_true", help="torch.compile each residual block.")
    parser.add_argument("--dry-run", action="store_true", help="The accelerator table's code path on CPU, micro sizes.")
    args = parser.parse_args()

    import os

    import torch

    device = "cuda" if args.device == "auto" and torch.cuda.is_available() else args.device
    if device == "cuda" and not args.dry_run and not torch.cuda.is_available():
        raise SystemExit("bench_train.py: --device cuda: no CUDA device on this machine (--dry-run checks the path)")
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.dry_run:
            micro = {"dims": {"n_audio_state": 64, "n_audio_head": 2, "n_audio_layer": 1, "n_text_state": 64,
                              "n_text_head": 2, "n_text_layer": 1}}  # fmt: skip
            lines = accelerator_table(Path(tmp), "cpu", args.gpu_variants.split(","), 2, 1, 4, 1, False, micro)
            print("\n".join(lines))
            return
        if not args.skip_cpu:
            lines += cpu_figures(Path(tmp), args)
        if device == "cuda":
            workers = args.gpu_workers or max(1, min(14, (os.cpu_count() or 4) - 2))
            lines += ["", *accelerator_table(Path(tmp), "cuda", args.gpu_variants.split(","), args.gpu_batch,
                                             args.gpu_steps, args.segments, workers, args.compile)]  # fmt: skip
        else:
            lines += ["", "GPU MFU (tiny/base/small, bf16, DDP on one device; target >= 40% for small on one H100): "
                      "**not measured** — no GPU on this machine. `python benchmarks/bench_train.py --device cuda` "
                      "on a CUDA machine writes that table; `--dry-run` runs its code path on CPU "
                      "(tests/train/test_gpu_paths.py)."]  # fmt: skip
    body = "\n".join(lines)
    print(body)
    write_section("bench_train", body)


def cpu_figures(root: Path, args: argparse.Namespace) -> list[str]:
    from olmoasr.model.dims import variant_dims
    from olmoasr.train.metrics import train_flops

    data = synthetic_mix(root, args.segments)
    per_worker = loader_rate(data, batches=4, batch_size=8)
    cpu = run_training(data, root / "cpu", args.variant, args.steps, args.batch, "float32", "cpu")
    tokens = cpu["tokens_per_sample"]
    lines = [
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
    return lines


if __name__ == "__main__":
    main()
