"""Transcription speed on CPU: real-time factor of olmoasr (sequential, batched) vs openai-whisper.

Same weights, same audio, one run: the real Whisper tiny.en (if `olmoasr[offline]` is installed)
and random base-sized weights; the audio is the LibriVox utterances of pocketsphinx-testdata joined
with short pauses and repeated to about two minutes. RTF = audio seconds / wall seconds (higher is
faster). openai-whisper is a test/benchmark-only dependency.

    python benchmarks/bench_transcribe.py [--minutes 2] [--threads 2] [--batch-size 8]
"""

from __future__ import annotations

import argparse
import glob
import re
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._results import write_section  # noqa: E402
from olmoasr.audio import load_audio  # noqa: E402
from olmoasr.model.batched import transcribe_batched  # noqa: E402
from olmoasr.model.dims import ModelDimensions  # noqa: E402
from olmoasr.model.network import Whisper, init_fan_in_gaussian_  # noqa: E402
from olmoasr.model.transcribe import transcribe  # noqa: E402
from olmoasr.text.normalize import normalize_english  # noqa: E402
from olmoasr.text.wer import corpus_wer  # noqa: E402

LIBRIVOX = "/usr/share/pocketsphinx/test/data/librivox"
BASE_DIMS = ModelDimensions(80, 1500, 512, 8, 6, 51864, 448, 512, 8, 6)


def librivox_transcripts() -> dict[str, str]:
    transcripts = {}
    with open(f"{LIBRIVOX}/transcription", encoding="utf-8") as fh:
        for line in fh:
            match = re.match(r"^(.*)\((\S+)\)\s*$", line.strip())
            if match:
                transcripts[match.group(2)] = match.group(1).replace("<s>", "").replace("</s>", "").strip()
    return transcripts


def bench_audio(minutes: float) -> tuple[np.ndarray, str]:
    """The utterances joined with 1 s pauses, repeated to about `minutes`; and the reference text."""
    files = sorted(glob.glob(f"{LIBRIVOX}/*.wav"))
    if not files:
        sys.exit("pocketsphinx-testdata is not installed (apt-get install pocketsphinx-testdata)")
    transcripts = librivox_transcripts()
    pause = np.zeros(16000, dtype=np.float32)
    once = np.concatenate([part for path in files for part in (load_audio(path), pause)])
    text = " ".join(transcripts[Path(path).stem] for path in files)
    repeats = max(1, round(minutes * 60 / (len(once) / 16000)))
    return np.concatenate([once] * repeats), " ".join([text] * repeats)


def models() -> list[tuple[str, Whisper]]:
    found = []
    from olmoasr.model.hub import offline_model_path

    if offline_model_path() is not None:
        from olmoasr.model import load_model

        found.append(("tiny.en (real weights)", load_model("tiny.en-offline", device="cpu")))
    torch.manual_seed(0)
    found.append(("base (random weights)", init_fan_in_gaussian_(Whisper(BASE_DIMS)).eval()))
    return found


def reference_model(ours: Whisper):
    import whisper

    reference = whisper.model.Whisper(whisper.model.ModelDimensions(**ours.dims.to_dict())).eval()
    reference.load_state_dict(ours.state_dict())
    return reference


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started


def wer(reference: str, hypothesis: str) -> float:
    return corpus_wer([normalize_english(reference)], [normalize_english(hypothesis)]).wer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--no-write", action="store_true", help="print only; do not update RESULTS.md")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    audio, truth = bench_audio(args.minutes)
    seconds = len(audio) / 16000

    rows = []
    for name, ours in models():
        random_weights = "random" in name
        # real weights: transcribe()'s defaults (greedy with temperature fallback); random weights fail every
        # fallback check, so they run greedy only, capped at 48 tokens per window
        run_options = dict(temperature=0.0, sample_len=48) if random_weights else {}
        reference = reference_model(ours)
        torch.manual_seed(0)
        expected, t_ref = timed(reference.transcribe, audio, fp16=False, language="en", **run_options)
        torch.manual_seed(0)
        sequential, t_seq = timed(transcribe, ours, audio, **run_options)
        [batched], t_bat = timed(transcribe_batched, ours, [audio], batch_size=args.batch_size, vad=True, **run_options)
        for system, wall, text in (
            ("openai-whisper sequential", t_ref, expected["text"]),
            ("olmoasr sequential", t_seq, sequential["text"]),
            (f"olmoasr batched (VAD, batch {args.batch_size})", t_bat, batched["text"]),
        ):
            if system.startswith("openai"):
                same = "reference"
            else:
                same = "identical" if text == expected["text"] else f"WER {wer(expected['text'], text):.1%} vs it"
            accuracy = "-" if random_weights else f"{wer(truth, text):.1%}"
            rows.append((name, system, wall, seconds / wall, t_ref / wall, same, accuracy))
            print(
                f"{name:24} {system:34} {wall:7.1f} s  RTF {seconds / wall:6.1f}  x{t_ref / wall:4.2f}  {same}  "
                f"WER {accuracy}"
            )

    lines = [
        f"Audio: {seconds:.0f} s (LibriVox utterances joined with 1 s pauses, repeated); CPU, "
        f"{args.threads} torch threads, fp32; real weights with transcribe()'s defaults (greedy, temperature "
        "fallback 0.2..1.0), random weights greedy only, capped at 48 tokens per window. RTF = audio seconds "
        "per wall second; x = speed-up over openai-whisper on the same weights and audio. The machine's 2 "
        "cores are shared, so wall times are noisy.",
        "",
        "| weights | system | wall s | RTF | x openai-whisper | text vs openai-whisper | WER vs truth |",
        "|---|---|---:|---:|---:|---|---:|",
    ]
    lines += [f"| {w} | {s} | {t:.1f} | {rtf:.1f} | {x:.2f} | {same} | {acc} |" for w, s, t, rtf, x, same, acc in rows]
    if not args.no_write:
        write_section("bench_transcribe", "## Transcription speed (bench_transcribe.py)\n\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
