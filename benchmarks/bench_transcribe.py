"""Transcription speed on CPU: olmoasr (torch and CTranslate2 engines) vs faster-whisper and openai-whisper.

One process tree: each round runs every system in its own child process, the systems' order rotating
from round to round, so a burst of load on a shared machine hits every system alike. A child runs the
rows one after the other, each with its model loaded and warmed up before the clock starts; the peak
RSS of each row is the process's VmHWM, reset before the row's model is loaded. Threads are pinned
equal: torch, OpenMP and CTranslate2 all get `--threads`; every worker runs with OMP_WAIT_POLICY=PASSIVE.

Weights: the real Whisper tiny.en of `olmoasr[offline]` ("tiny.en-offline"). CTranslate2 systems
(olmoasr's engine and faster-whisper) load the SAME folder, the one olmoasr's conversion cache
resolves (`olmoasr.engines.ctranslate2_convert.converted_model_dir`), at the same compute type;
openai-whisper and olmoasr's torch engine get the same weights in float32.
Audio: the real LibriVox utterances of Debian's pocketsphinx-testdata, WER against their transcription.

Workloads (rows):
  short_b1  N short clips (the five utterances in turn), one at a time, through each system's
            sequential `transcribe` (openai-whisper `model.transcribe`, faster-whisper
            `WhisperModel.transcribe`, olmoasr `transcribe`)
  short_b8  the same clips 8 at a time: openai-whisper `whisper.decode` on a batch of 8 windows,
            faster-whisper `BatchedInferencePipeline` with one clip per chunk (clip_timestamps),
            olmoasr `transcribe_batched` (one chunk per clip, no VAD)
  long_seq  a ~10-minute recording (the utterances joined with 1 s pauses, repeated), sequential long-form
  long_vad  the same recording, batched with VAD (batch 8): faster-whisper's BatchedInferencePipeline
            (Silero VAD), olmoasr `transcribe_batched(vad=True)` (Silero VAD)

    python benchmarks/bench_transcribe.py [--rounds 2] [--threads 2] [--quick] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

from _children import load_average, run_json_child  # this script's folder is first on sys.path

REPO = Path(__file__).resolve().parents[1]
LIBRIVOX = "/usr/share/pocketsphinx/test/data/librivox"  # Debian's pocketsphinx-testdata
CHECKPOINT = "tiny.en-offline"
WORKLOADS = ("short_b1", "short_b8", "long_seq", "long_vad")
BATCH = 8
TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
# (label, family, compute type); the compute type of a torch system is its dtype
SYSTEMS = (
    ("openai-whisper", "openai", "float32"),
    ("olmoasr torch", "olmoasr-torch", "float32"),
    ("faster-whisper float32", "faster", "float32"),
    ("olmoasr ct2 float32", "olmoasr-ct2", "float32"),
    ("faster-whisper int8", "faster", "int8"),
    ("olmoasr ct2 int8", "olmoasr-ct2", "int8"),
)
# The decoding options, the same on every side (greedy everywhere; language given)
OPTIONS = {
    # one window per clip: greedy at temperature 0 only, no timestamps, nothing to condition on
    "short": {"temperature": 0.0, "without_timestamps": True, "condition_on_previous_text": False},
    # transcribe()'s defaults: fallback schedule 0..1.0 (thresholds 2.4 / -1.0 / 0.6), timestamps,
    # conditioning on the previous text
    "long_seq": {"temperature": TEMPERATURES, "without_timestamps": False, "condition_on_previous_text": True},
    # independent chunks: no timestamps, no conditioning; the fallback schedule is passed to both, but
    # faster-whisper's pipeline decodes at its first temperature only
    "long_vad": {"temperature": TEMPERATURES, "without_timestamps": True, "condition_on_previous_text": False},
}
OPTIONS_TEXT = (
    "greedy (beam 1, best_of 1) and language `en` everywhere. Short clips: temperature 0 only (no fallback), "
    "without timestamps. Long file, sequential: transcribe()'s defaults: temperature fallback 0.0-1.0 step 0.2 "
    "(compression 2.4, log-prob -1.0, no-speech 0.6), timestamps on, condition_on_previous_text. Long file, "
    "batched: batch 8, Silero VAD chunks of <= 30 s, without timestamps, no conditioning, the same fallback "
    "schedule (faster-whisper's BatchedInferencePipeline decodes at its first temperature only; olmoasr retries "
    "the chunks that fail)."
)


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


def inputs(n_clips: int, minutes: float):
    """(clips, their texts, the long recording, its text): the utterances in turn; the long recording
    joins them with 1 s pauses, repeated to about `minutes`."""
    import numpy as np

    from olmoasr.audio import load_audio

    pairs = librivox()
    audio = [load_audio(path) for path, _ in pairs]
    texts = [text for _, text in pairs]
    clips = [audio[i % len(audio)] for i in range(n_clips)]
    refs = [texts[i % len(texts)] for i in range(n_clips)]
    once = np.concatenate([part for clip in audio for part in (clip, np.zeros(16000, dtype=np.float32))])
    repeats = max(1, round(minutes * 60 * 16000 / len(once)))
    return clips, refs, np.concatenate([once] * repeats), " ".join([" ".join(texts)] * repeats)


# ---- one worker process --------------------------------------------------------------------------
def peak_rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def runner(family: str, compute_type: str, workload: str, threads: int):
    """A function (audio clips or one recording -> texts) for this system and workload; loads the model."""
    import numpy as np
    import torch

    torch.set_num_threads(threads)
    kind = "short" if workload.startswith("short") else workload
    options = OPTIONS[kind]

    if family == "openai":
        import whisper

        from olmoasr.model import load_model

        ours = load_model(CHECKPOINT, device="cpu")
        model = whisper.model.Whisper(whisper.model.ModelDimensions(**ours.dims.to_dict())).eval()
        model.load_state_dict(ours.state_dict())
        del ours
        if workload == "short_b8":

            def run(clips):
                texts = []
                decode_options = whisper.DecodingOptions(language="en", without_timestamps=True, fp16=False)
                for i in range(0, len(clips), BATCH):
                    batch = [
                        whisper.log_mel_spectrogram(whisper.pad_or_trim(torch.from_numpy(a)))
                        for a in clips[i : i + BATCH]
                    ]
                    texts += [r.text for r in whisper.decode(model, torch.stack(batch), decode_options)]
                return texts

            return run
        if workload == "long_vad":
            return None

        def run(clips):
            return [model.transcribe(a, language="en", fp16=False, **options)["text"] for a in clips]

        return run

    if family == "faster":
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        from olmoasr.engines.ctranslate2_convert import converted_model_dir

        model = WhisperModel(
            str(converted_model_dir(CHECKPOINT, compute_type)),
            device="cpu",
            compute_type=compute_type,
            cpu_threads=threads,
            num_workers=1,
        )
        common = {"language": "en", "beam_size": 1, "best_of": 1, **options}
        if workload in ("short_b1", "long_seq"):

            def run(clips):
                out = []
                for a in clips:
                    segments, _ = model.transcribe(a, vad_filter=False, **common)
                    out.append("".join(segment.text for segment in segments))
                return out

            return run
        pipeline = BatchedInferencePipeline(model)
        if workload == "short_b8":

            def run(clips):
                # one chunk per clip, BATCH chunks per batch, through the pipeline's own clip_timestamps
                joined = np.concatenate(clips)
                bounds = np.cumsum([0] + [len(a) for a in clips]) / 16000
                stamps = [{"start": float(s), "end": float(e)} for s, e in zip(bounds[:-1], bounds[1:], strict=True)]
                segments, _ = pipeline.transcribe(
                    joined, clip_timestamps=stamps, vad_filter=False, batch_size=BATCH, **common
                )
                return ["".join(segment.text for segment in segments)]

            return run

        def run(clips):
            out = []
            for a in clips:
                segments, _ = pipeline.transcribe(a, vad_filter=True, batch_size=BATCH, **common)
                out.append("".join(segment.text for segment in segments))
            return out

        return run

    # olmoasr, torch or CTranslate2
    import olmoasr
    from olmoasr.model.batched import transcribe_batched
    from olmoasr.model.transcribe import transcribe

    if family == "olmoasr-torch":
        model = olmoasr.load_model(CHECKPOINT, device="cpu")
    else:
        model = olmoasr.load_model(CHECKPOINT, device="cpu", engine="ctranslate2", compute_type=compute_type)
    if workload in ("short_b1", "long_seq"):

        def run(clips):
            return [transcribe(model, a, language="en", **options)["text"] for a in clips]

        return run
    batched_options = {k: v for k, v in options.items() if k != "condition_on_previous_text"}

    def run(clips):
        results = transcribe_batched(
            model, clips, batch_size=BATCH, vad=workload == "long_vad", language="en", **batched_options
        )
        return [result["text"] for result in results]

    return run


def reset_peak_rss() -> None:
    """Start a new peak-RSS measurement (Linux >= 4.0: writing 5 to clear_refs resets VmHWM)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def worker(label: str, workloads: list[str], threads: int, n_clips: int, minutes: float) -> dict:
    """Every row of one system in this process, one after the other: {workload: figures}."""
    import gc

    import torch

    family, compute_type = next((f, c) for name, f, c in SYSTEMS if name == label)
    clips, _, long_audio, _ = inputs(n_clips, minutes)
    out = {}
    for workload in workloads:
        if not applies(label, workload):
            continue
        gc.collect()
        reset_peak_rss()
        run = runner(family, compute_type, workload, threads)
        with torch.inference_mode():
            run(clips[:2] if workload == "short_b8" else clips[:1])  # warm-up: first calls, allocator, VAD model
            work = [long_audio] if workload.startswith("long") else clips
            started, cpu_started = time.perf_counter(), time.process_time()
            texts = run(work)
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        seconds = sum(len(a) for a in work) / 16000
        out[workload] = {"wall": wall, "cpu": cpu, "seconds": seconds, "text": " ".join(texts), "rss_mb": peak_rss_mb()}
        del run
    return out


# ---- the driver ----------------------------------------------------------------------------------
def run_worker(label: str, workloads: list[str], args) -> dict:
    threads = str(args.threads)
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        "CT2_INTER_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        # idle OpenMP threads sleep instead of spinning: on a shared, oversubscribed machine spinning
        # threads made CTranslate2's token-by-token decoding 3-8x slower and erratic (measured)
        "OMP_WAIT_POLICY": "PASSIVE",
    }
    command = [sys.executable, __file__, "--worker", label, ",".join(workloads)]
    command += ["--threads", threads, "--clips", str(args.clips), "--minutes", str(args.minutes)]
    return run_json_child(command, env, label)


def applies(label: str, workload: str) -> bool:
    return not (label == "openai-whisper" and workload == "long_vad")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--clips", type=int, default=24, help="short clips (the five utterances in turn)")
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the long recording")
    parser.add_argument("--quick", action="store_true", help="1 round, 8 clips, a 2-minute recording; prints only")
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--systems", default="", help="comma-separated labels (default: all)")
    parser.add_argument("--no-write", action="store_true", help="print only; do not update RESULTS.md")
    parser.add_argument("--worker", nargs=2, metavar=("SYSTEM", "WORKLOAD"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        label, workloads = args.worker
        print(json.dumps(worker(label, workloads.split(","), args.threads, args.clips, args.minutes)))
        return
    if not os.path.isdir(LIBRIVOX):
        sys.exit("bench_transcribe.py: pocketsphinx-testdata is not installed (apt-get install pocketsphinx-testdata)")
    if args.quick:
        args.rounds, args.clips, args.minutes, args.no_write = 1, 8, 2.0, True
    labels = [name for name, _, _ in SYSTEMS]
    if args.systems:
        wanted = [name.strip() for name in args.systems.split(",")]
        unknown = [name for name in wanted if name not in labels]
        if unknown:
            sys.exit(f"bench_transcribe.py: unknown systems {unknown}; known: {labels}")
        labels = [name for name in labels if name in wanted]
    workloads = [w for w in args.workloads.split(",") if w]
    results: dict[tuple[str, str], list[dict]] = {}
    loads = []
    started = time.perf_counter()
    for round_index in range(args.rounds):
        shift = round_index % len(labels)
        order = labels[shift:] + labels[:shift]  # rotate, so no system always runs first
        for label in order:
            loads.append(load_average())
            figures = run_worker(label, workloads, args)
            for workload, result in figures.items():
                results.setdefault((label, workload), []).append(result)
                print(
                    f"round {round_index + 1} {workload:8} {label:24} wall {result['wall']:7.2f} s  "
                    f"cpu {result['cpu']:7.2f} s  RTFx {result['seconds'] / result['wall']:6.1f}  "
                    f"rss {result['rss_mb']:5.0f} MB  load {loads[-1]}",
                    flush=True,
                )
    print(f"total {time.perf_counter() - started:.0f} s", flush=True)
    write(results, labels, workloads, args, loads)


def reference_label(label: str) -> str | None:
    """The faster-whisper system this one is compared with: same compute type (float32 for torch systems)."""
    if label.startswith("faster-whisper"):
        return None
    return "faster-whisper int8" if label.endswith("int8") else "faster-whisper float32"


def write(results: dict, labels: list[str], workloads: list[str], args, loads: list[float]) -> None:
    sys.path.insert(0, str(REPO))
    from benchmarks._results import write_section
    from olmoasr.text.normalize import normalize_english
    from olmoasr.text.wer import corpus_wer

    _, refs, _, long_ref = inputs(args.clips, args.minutes)
    minutes = (len(inputs(1, args.minutes)[2]) / 16000) / 60
    names = {
        "short_b1": f"{args.clips} short clips, batch 1",
        "short_b8": f"{args.clips} short clips, batch {BATCH}",
        "long_seq": f"{minutes:.1f}-min file, sequential",
        "long_vad": f"{minutes:.1f}-min file, batched (VAD, batch {BATCH})",
    }
    mode = {"short_b1": "seq", "short_b8": "batched", "long_seq": "seq", "long_vad": "batched"}
    lines = [
        f"CPU, {args.threads} threads for every system (torch, OpenMP, CTranslate2; OMP_WAIT_POLICY=PASSIVE), "
        "real tiny.en weights "
        f"(`{CHECKPOINT}`; the CTranslate2 systems load the same folder at the same compute type), "
        f"{args.rounds} interleaved rounds (each system in a fresh process per round, rows after a warm-up); load "
        f"average while running {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} cores (other jobs "
        "shared the machine). RTFx = audio seconds per wall second, best round (range over rounds); CPU s "
        "of that round; peak RSS during the row (model included; the worker ran the earlier rows first, and memory "
        "its allocator kept counts); x fw = faster-whisper's wall time "
        "over this system's, same round, median over rounds, against faster-whisper at the same compute type "
        "(float32 for the torch systems) in the same mode (sequential / batched pipeline); x fw CPU the same "
        "with CPU seconds. WER against the LibriVox transcription (olmoasr's English normaliser), range over rounds "
        "(sampling at temperature > 0 differs from run to run).",
        "",
        f"Decoding options: {OPTIONS_TEXT}",
        "",
        "| work | system | RTFx | RTFx range | wall s | CPU s | WER | peak RSS MB | x fw | x fw CPU |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for workload in workloads:
        truth = long_ref if workload.startswith("long") else " ".join(refs)
        for label in labels:
            runs = results.get((label, workload))
            if not runs:
                continue
            best = min(runs, key=lambda r: r["wall"])
            rtfx = [r["seconds"] / r["wall"] for r in runs]
            wers = [corpus_wer([normalize_english(truth)], [normalize_english(r["text"])]).wer for r in runs]
            wer_text = f"{min(wers):.1%}" if max(wers) - min(wers) < 0.0005 else f"{min(wers):.1%}-{max(wers):.1%}"
            versus = reference_label(label)
            ratio = ratio_cpu = "-"
            if versus and (versus, workload) in results:
                pairs = list(zip(results[(versus, workload)], runs, strict=False))
                ratio = f"{statistics.median(f['wall'] / o['wall'] for f, o in pairs):.2f}"
                ratio_cpu = f"{statistics.median(f['cpu'] / o['cpu'] for f, o in pairs):.2f}"
            name = label if label.startswith("openai") else f"{label} ({mode[workload]})"
            lines.append(
                f"| {names[workload]} | {name} | {max(rtfx):.1f} | {min(rtfx):.1f}-{max(rtfx):.1f} | "
                f"{best['wall']:.1f} | {best['cpu']:.1f} | {wer_text} | {max(r['rss_mb'] for r in runs):.0f} | "
                f"{ratio} | {ratio_cpu} |"
            )
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section("bench_transcribe", "## Transcription speed (bench_transcribe.py)\n\n" + text)


if __name__ == "__main__":
    main()
