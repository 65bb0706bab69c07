"""The torch engine against openai-whisper on CPU: same real tiny.en weights, same LibriVox speech, one run.

Every (system, workload) pair runs in a fresh process after a warm-up, and the pairs are interleaved
round by round, so a burst of load on a shared machine hits every system alike; each row reports the
best round. Systems: openai-whisper (fp32), olmoasr's torch engine in float32 (and bfloat16 with
`--bf16`), and optionally an older olmoasr checkout (`--baseline DIR`) for before/after figures.
Workloads: 24 short clips decoded one at a time and 8 at a time (greedy, no timestamps, as short-form
evaluation runs), and a ~10-minute recording transcribed sequentially with `transcribe()`'s defaults.
RTFx = audio seconds per wall second. Also reported for olmoasr: encoder ms per 30 s window and
decoder ms per token step (batch 1, 100 cached steps after a 20-token prompt).

    python benchmarks/bench_torch_engine.py [--rounds 3] [--threads 2] [--baseline ../olmoasr-old] [--bf16]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

from _children import load_average, run_json_child  # this script's folder is first on sys.path

REPO = Path(__file__).resolve().parents[1]
LIBRIVOX = "/usr/share/pocketsphinx/test/data/librivox"  # Debian's pocketsphinx-testdata
WORKLOADS = ("short_b1", "short_b8", "long_seq")
N_CLIPS = 24
LONG_MINUTES = 10.0


# ---- inputs (the same in every worker) ----------------------------------------------------------
def librivox() -> list[tuple[str, str]]:
    pairs = []
    with open(f"{LIBRIVOX}/transcription", encoding="utf-8") as fh:
        for line in fh:
            match = re.match(r"^(.*)\((\S+)\)\s*$", line.strip())
            if match:
                text = match.group(1).replace("<s>", "").replace("</s>", "").strip()
                pairs.append((f"{LIBRIVOX}/{match.group(2)}.wav", text))
    return pairs


def clips_and_texts():
    """24 short clips (the five utterances in turn) with their texts, and the ~10-minute recording with its text:
    the utterances joined with 1 s pauses, repeated."""
    import numpy as np

    from olmoasr.audio import load_audio

    pairs = librivox()
    clips = [load_audio(path) for path, _ in pairs]
    texts = [text for _, text in pairs]
    out, refs = [], []
    while len(out) < N_CLIPS:
        index = len(out) % len(clips)
        out.append(clips[index])
        refs.append(texts[index])
    long_once = np.concatenate([part for clip in clips for part in (clip, np.zeros(16000, dtype=np.float32))])
    repeats = max(1, round(LONG_MINUTES * 60 * 16000 / len(long_once)))
    return out, refs, np.concatenate([long_once] * repeats), " ".join([" ".join(texts)] * repeats)


# ---- one worker process --------------------------------------------------------------------------
def worker(system: str, workload: str, threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    from olmoasr.model import load_model

    clips, _, long_audio, _ = clips_and_texts()
    ours = load_model("tiny.en-offline", device="cpu")
    if system == "openai-whisper":
        import whisper

        model = whisper.model.Whisper(whisper.model.ModelDimensions(**ours.dims.to_dict())).eval()
        model.load_state_dict(ours.state_dict())
        del ours

        def short(batch):
            mel = torch.stack([whisper.log_mel_spectrogram(whisper.pad_or_trim(torch.from_numpy(a))) for a in batch])
            options = whisper.DecodingOptions(language="en", without_timestamps=True, fp16=False)
            return [r.text for r in whisper.decode(model, mel, options)]

        def long(audio):
            return model.transcribe(audio, language="en", fp16=False)["text"]
    else:
        from olmoasr.model.decoding import DecodingOptions, decode
        from olmoasr.model.features import N_SAMPLES, log_mel_spectrogram, pad_or_trim
        from olmoasr.model.transcribe import transcribe

        model = ours if system.endswith("float32") else ours.to(torch.bfloat16)

        def short(batch):
            mel = log_mel_spectrogram(torch.stack([torch.from_numpy(pad_or_trim(a, N_SAMPLES)) for a in batch]))
            return [r.text for r in decode(model, mel, DecodingOptions(language="en", without_timestamps=True))]

        def long(audio):
            return transcribe(model, audio, language="en")["text"]

    with torch.inference_mode():
        short(clips[:1])  # warm-up
        started, cpu_started = time.perf_counter(), time.process_time()
        if workload == "long_seq":
            texts = [long(long_audio)]
            seconds = len(long_audio) / 16000
        else:
            size = 1 if workload == "short_b1" else 8
            texts = [text for i in range(0, len(clips), size) for text in short(clips[i : i + size])]
            seconds = sum(len(clip) for clip in clips) / 16000
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        result = {"wall": wall, "cpu": cpu, "seconds": seconds, "texts": texts}
        if system != "openai-whisper" and workload == "short_b1":
            result.update(step_times(model))
    return result


def step_times(model) -> dict:
    """Encoder ms per window and decoder ms per cached token step at batch 1."""
    import torch

    mel = torch.zeros(1, model.dims.n_mels, 3000)
    model.embed_audio(mel)
    started = time.perf_counter()
    for _ in range(3):
        features = model.embed_audio(mel)
    encoder_ms = (time.perf_counter() - started) / 3 * 1e3
    prompt = torch.full((1, 20), 50257, dtype=torch.long)
    best = float("inf")
    for _ in range(2):
        cache = model.new_kv_cache(1, 448)
        model.logits(prompt, features, kv_cache=cache)
        token = torch.full((1, 1), 220, dtype=torch.long)
        started = time.perf_counter()
        for _ in range(100):
            logits = model.logits(token, features, kv_cache=cache)
            token = logits[:, -1].argmax(-1, keepdim=True)
        best = min(best, (time.perf_counter() - started) / 100 * 1e3)
    return {"encoder_ms": encoder_ms, "step_ms": best}


# ---- the driver ----------------------------------------------------------------------------------
def run_worker(system: str, workload: str, threads: int, tree: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": str(threads), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, __file__, "--worker", system, workload, "--threads", str(threads)]
    return run_json_child(command, env, f"{system} {workload}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--baseline", type=Path, help="an older olmoasr checkout, run as 'olmoasr before'")
    parser.add_argument("--bf16", action="store_true", help="also run the torch engine in bfloat16")
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--no-write", action="store_true", help="print only; do not update RESULTS.md")
    parser.add_argument("--worker", nargs=2, metavar=("SYSTEM", "WORKLOAD"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(*args.worker, args.threads)))
        return
    if not os.path.isdir(LIBRIVOX):
        sys.exit("pocketsphinx-testdata is not installed (apt-get install pocketsphinx-testdata)")

    systems: list[tuple[str, str, Path]] = [("openai-whisper", "openai-whisper", REPO)]
    if args.baseline:
        systems.append(("olmoasr before", "olmoasr float32", args.baseline.resolve()))
    systems.append(("olmoasr torch float32", "olmoasr float32", REPO))
    if args.bf16:
        systems.append(("olmoasr torch bfloat16", "olmoasr bfloat16", REPO))
    workloads = [w for w in args.workloads.split(",") if w]
    best: dict[tuple[str, str], dict] = {}
    loads = []
    for round_index in range(args.rounds):
        for workload in workloads:
            for label, system, tree in systems:
                loads.append(load_average())
                result = run_worker(system, workload, args.threads, tree)
                print(
                    f"round {round_index + 1} {workload:9} {label:24} wall {result['wall']:7.2f} s  "
                    f"cpu {result['cpu']:7.2f} s  RTFx {result['seconds'] / result['wall']:6.1f}  load {loads[-1]}",
                    flush=True,
                )
                key = (label, workload)
                if key not in best or result["wall"] < best[key]["wall"]:
                    best[key] = result
    write(best, systems, workloads, args, loads)


def write(best: dict, systems: list, workloads: list[str], args, loads: list[float]) -> None:
    sys.path.insert(0, str(REPO))
    from benchmarks._results import write_section
    from olmoasr.text.normalize import normalize_english
    from olmoasr.text.wer import corpus_wer

    _, refs, _, long_ref = clips_and_texts()
    names = {"short_b1": "24 short clips, batch 1", "short_b8": "24 short clips, batch 8", "long_seq": "10-min file"}
    lines = [
        f"CPU, {args.threads} torch threads, real tiny.en weights, best of {args.rounds} interleaved rounds "
        f"(each in a fresh process); load average while running {min(loads):.1f}-{max(loads):.1f} on "
        f"{os.cpu_count()} cores. RTFx = audio seconds per wall second; x = vs openai-whisper on the same row.",
        "",
        "| work | system | wall s | CPU s | RTFx | x openai-whisper | text vs openai-whisper | WER |",
        "|---|---|---:|---:|---:|---:|---|---:|",
    ]
    for workload in workloads:
        reference = best[("openai-whisper", workload)]
        truth = [long_ref] if workload == "long_seq" else refs
        for label, _, _ in systems:
            result = best[(label, workload)]
            same = "identical" if result["texts"] == reference["texts"] else "differs"
            if label == "openai-whisper":
                same = "reference"
            wer = corpus_wer([normalize_english(t) for t in truth], [normalize_english(t) for t in result["texts"]])
            lines.append(
                f"| {names[workload]} | {label} | {result['wall']:.2f} | {result['cpu']:.2f} | "
                f"{result['seconds'] / result['wall']:.1f} | {reference['wall'] / result['wall']:.2f} | {same} | "
                f"{wer.wer:.1%} |"
            )
    steps = [(label, best[(label, "short_b1")]) for label, _, _ in systems if (label, "short_b1") in best]
    steps = [(label, r) for label, r in steps if "step_ms" in r]
    if steps:
        lines += ["", "| system | encoder ms / 30 s window | decoder ms / token step (batch 1) |", "|---|---:|---:|"]
        lines += [f"| {label} | {r['encoder_ms']:.0f} | {r['step_ms']:.2f} |" for label, r in steps]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section("bench_torch_engine", "## Torch engine vs openai-whisper (bench_torch_engine.py)\n\n" + text)


if __name__ == "__main__":
    main()
