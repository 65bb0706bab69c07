"""Benchmark `prep jsonl` + `prep segment` on a >= 1-hour shard of MP3/M4A, against the original's approach.

    python benchmarks/bench_prep.py                # 70 min of audio (40 min M4A + 2 x 15 min MP3)
    python benchmarks/bench_prep.py --minutes 10   # quicker, smaller shard

Audio: real read speech (Debian's pocketsphinx-testdata LibriVox clips; the packaged sample shard's
synthetic speech when absent) tiled with pauses and a faint noise floor, encoded like web audio
(44.1 kHz stereo AAC in M4A, MP3), with SRT captions per clip.

Measured, each stage in a fresh child process with one worker (so CPU time is per core):
- ours: audio hours segmented per CPU minute, x real time per core, peak RSS, output bytes per audio
  hour vs 16-bit 16 kHz PCM;
- the original's approach (spec §2.2): one seek-and-decode per segment, first channel only, `np.save`
  of int16 `.npy` files. ffmpeg is emulated with PyAV *input* seeking (cheaper than the original's
  output seeking, which decodes from the file start for every segment; that variant is estimated from
  a sample of segments).
Figures go to benchmarks/RESULTS.md (section bench_prep).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._results import write_section  # noqa: E402
from olmoasr.audio import float_to_pcm16, load_audio  # noqa: E402
from olmoasr.records.transcripts import Caption, format_transcript  # noqa: E402

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
PCM16_BYTES_PER_HOUR = 16000 * 2 * 3600


# ------------------------------------------------------------------------------------------ input


def speech_clips() -> tuple[list[tuple[np.ndarray, str]], str]:
    """[(16 kHz float clip, its text)] of real speech, or the sample shard's synthetic speech."""
    clips = []
    transcription = LIBRIVOX / "transcription"
    if transcription.exists():
        for line in transcription.read_text().splitlines():
            if "(" not in line:
                continue
            text, file_id = line.rsplit("(", 1)
            text = text.replace("<s>", "").replace("</s>", "").strip()
            clips.append((load_audio(LIBRIVOX / f"{file_id.strip(' )')}.wav"), text))
        return clips, "LibriVox read speech (pocketsphinx-testdata)"
    from olmoasr.sample_data import extract_sample_shard, sample_manifest

    raw = extract_sample_shard(Path(tempfile.mkdtemp()))
    for pair in sample_manifest(raw):
        if pair["kind"] == "good":
            clips.append((load_audio(raw / "shard_00000" / pair["id"] / pair["audio_file"]), pair["text"]))
    return clips, "synthetic speech of the packaged sample shard"


def build_signal(clips, seconds: float, seed: int) -> tuple[np.ndarray, list[Caption]]:
    rng = np.random.default_rng(seed)
    parts, captions, pos = [], [], 0
    total = int(seconds * 16000)
    while pos < total:
        clip, text = clips[rng.integers(len(clips))]
        gap = np.zeros(int(rng.uniform(0.2, 1.5) * 16000), dtype=np.float32)
        parts.extend([gap, clip * rng.uniform(0.6, 1.0)])
        start = pos + len(gap)
        pos = start + len(clip)
        captions.append(Caption(start * 1000 // 16000, pos * 1000 // 16000, text.capitalize() + "."))
    signal = np.concatenate(parts)[:total]
    signal = signal + rng.normal(0, 10 ** (-70 / 20), len(signal)).astype(np.float32)  # -70 dBFS noise floor
    captions = [c for c in captions if c.end_ms <= total * 1000 // 16000]
    return signal.astype(np.float32), captions


def encode_web_audio(path: Path, signal16k: np.ndarray, codec: str) -> None:
    """44.1 kHz stereo, as web audio usually is (channels differ slightly)."""
    rate = 44100
    t_out = np.arange(int(len(signal16k) * rate / 16000)) / rate
    mono = np.interp(t_out, np.arange(len(signal16k)) / 16000, signal16k).astype(np.float32)
    stereo = np.stack([mono * 0.9, mono * 0.8]).astype(np.float32)
    fmt = {"aac": "mp4", "libmp3lame": "mp3"}[codec]
    with av.open(os.fspath(path), mode="w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate, layout="stereo")
        stream.bit_rate = 128_000
        frame_size = stream.codec_context.frame_size or 1152
        for start in range(0, stereo.shape[1], frame_size):
            chunk = stereo[:, start : start + frame_size]
            if chunk.shape[1] < frame_size:
                chunk = np.pad(chunk, ((0, 0), (0, frame_size - chunk.shape[1])))
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout="stereo")
            frame.sample_rate = rate
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def build_shard(root: Path, plan: list[tuple[str, float]]) -> Path:
    clips, _ = speech_clips()
    raw = root / "raw"
    for i, (codec, minutes) in enumerate(plan):
        pair_id = f"bench{i:02d}"
        folder = raw / "shard_00000" / pair_id
        folder.mkdir(parents=True)
        signal, captions = build_signal(clips, minutes * 60, seed=i)
        ext = "m4a" if codec == "aac" else "mp3"
        encode_web_audio(folder / f"audio_{pair_id}.{ext}", signal, codec)
        (folder / f"transcript_{pair_id}.srt").write_text(format_transcript(captions, "srt"))
    return raw


def build_long_wav_shard(root: Path, hours: float) -> Path:
    """One long 16 kHz WAV (written in chunks, never whole in memory) with a caption per clip."""
    clips, _ = speech_clips()
    rng = np.random.default_rng(7)
    folder = root / "raw_long" / "shard_long" / "long"
    folder.mkdir(parents=True, exist_ok=True)
    total, pos, captions = int(hours * 3600 * 16000), 0, []
    with av.open(os.fspath(folder / "audio_long.wav"), mode="w", format="wav") as container:
        stream = container.add_stream("pcm_s16le", rate=16000, layout="mono")
        while pos < total:
            clip, text = clips[rng.integers(len(clips))]
            gap = np.zeros(int(rng.uniform(0.2, 1.5) * 16000), dtype=np.float32)
            piece = np.concatenate([gap, clip])[: total - pos]
            pcm = float_to_pcm16(piece).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
            frame.sample_rate = 16000
            for packet in stream.encode(frame):
                container.mux(packet)
            start = pos + len(gap)
            pos += len(piece)
            if pos - start == len(clip):
                captions.append(Caption(start * 1000 // 16000, pos * 1000 // 16000, text.capitalize() + "."))
        for packet in stream.encode(None):
            container.mux(packet)
    (folder / "transcript_long.srt").write_text(format_transcript(captions, "srt"))
    return root / "raw_long"


# ------------------------------------------------------------------------------------------ measuring


def run_child(code: str) -> dict:
    """Run `code` in a fresh interpreter; it prints a JSON dict last. Adds its CPU seconds and peak RSS."""
    wrapped = (
        "import json, resource, time\n"
        "t0 = time.perf_counter()\n"
        f"{code}\n"
        "ru = resource.getrusage(resource.RUSAGE_SELF)\n"
        # VmHWM, not ru_maxrss: the latter keeps the parent's size from before exec.
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
        "out = dict(result, cpu_s=ru.ru_utime + ru.ru_stime, wall_s=time.perf_counter() - t0,"
        " peak_rss_mb=int(hwm) / 1024)\n"
        "print(json.dumps(out))\n"
    )
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", wrapped], capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


OURS = """
from olmoasr.pipeline import prep_jsonl, prep_segment
import resource
prep_jsonl({raw!r}, {docs!r}, workers=1, show_progress=False)
ru = resource.getrusage(resource.RUSAGE_SELF)
jsonl_cpu = ru.ru_utime + ru.ru_stime
report = prep_segment({docs!r}, {segs!r}, workers=1, show_progress=False, max_segments_per_doc=0)
result = dict(report.stats, jsonl_cpu_s=jsonl_cpu)
"""

ORIGINAL = """
import os, numpy as np, av
from olmoasr.io import iter_jsonl
from olmoasr.timestamps import parse_range_ms

def trim(path, start_ms, end_ms):
    # the original's trim_audio: 16 kHz, first channel only (pan=mono|c0=c0), int16
    with av.open(path) as container:
        stream = container.streams.audio[0]
        container.seek(int(start_ms / 1000 * av.time_base), backward=True)
        resampler = av.AudioResampler(format="s16p", rate=16000)
        t0 = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        first, last = start_ms * 16, end_ms * 16
        parts, pos = [], None
        for frame in container.decode(stream):
            if pos is None:
                pos = round((float(frame.pts * frame.time_base) - t0) * 16000)
            frame.pts = None
            for out in resampler.resample(frame):
                row = out.to_ndarray()[0]
                if pos + len(row) > first:
                    parts.append(row[max(0, first - pos): last - pos])
                pos += len(row)
            if pos >= last:
                break
    return np.concatenate(parts) if parts else np.zeros(0, np.int16)

nbytes = n = 0
for _, seg in iter_jsonl({segs_file!r}):
    start, end = parse_range_ms(seg["audio_timestamp"])
    doc_dir = os.path.join({out!r}, seg["id"])
    os.makedirs(doc_dir, exist_ok=True)
    path = os.path.join(doc_dir, seg["audio_timestamp"] + ".npy")
    np.save(path, trim({audio!r}[seg["id"]], start, end))
    nbytes += os.path.getsize(path)
    n += 1
result = dict(segments=n, bytes=nbytes)
"""

OUTPUT_SEEK_SAMPLE = """
import av, time, resource
from olmoasr.audio import iter_audio
# output seeking decodes from the file start up to the segment end: time decoding N seconds from the start
rates = []
for path in {paths!r}:
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    decoded = 0
    for chunk in iter_audio(path):
        decoded += len(chunk)
        if decoded >= 300 * 16000:
            break
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    rates.append((decoded / 16000) / ((ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)))
result = dict(decode_x_realtime=sum(rates) / len(rates))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=70.0, help="total audio minutes (>= 60 for the figures)")
    parser.add_argument("--keep", type=Path, default=None, help="work in this folder and keep it")
    args = parser.parse_args()
    share = args.minutes / 70.0
    plan = [("aac", 40 * share), ("libmp3lame", 15 * share), ("libmp3lame", 15 * share)]
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench_prep_"))
    root.mkdir(parents=True, exist_ok=True)
    _, source = speech_clips()
    t0 = time.perf_counter()
    raw = build_shard(root, plan) if not (root / "raw").exists() else root / "raw"
    print(f"built {args.minutes:.0f} min shard in {time.perf_counter() - t0:.0f} s ({source})", flush=True)

    docs, segs = root / "docs", root / "segs"
    for old in (docs, segs, root / "original_npy"):  # measure a full run, never a resumed one
        shutil.rmtree(old, ignore_errors=True)
    ours = run_child(OURS.format(raw=str(raw), docs=str(docs), segs=str(segs)))
    audio_h = ours["hours_in"]
    segment_cpu = ours["cpu_s"] - ours["jsonl_cpu_s"]
    tar_bytes = sum(p.stat().st_size for p in (segs / "audio").rglob("*.tar"))
    print(json.dumps(ours), flush=True)

    audio_by_id = {}
    from olmoasr.io import iter_jsonl

    for _, doc in iter_jsonl(docs / "shard_00000.jsonl.gz"):
        audio_by_id[doc["id"]] = doc["audio_file"]
    original = run_child(
        ORIGINAL.format(segs_file=str(segs / "shard_00000.jsonl.gz"), out=str(root / "original_npy"), audio=audio_by_id)
    )
    print(json.dumps(original), flush=True)
    decode = run_child(OUTPUT_SEEK_SAMPLE.format(paths=sorted(audio_by_id.values())))
    ends = []
    for _, seg in iter_jsonl(segs / "shard_00000.jsonl.gz"):
        from olmoasr.timestamps import parse_range_ms

        ends.append(parse_range_ms(seg["audio_timestamp"])[1] / 1000)
    output_seek_cpu = sum(ends) / decode["decode_x_realtime"] + original["cpu_s"]

    long_hours = 3.0
    long_raw = build_long_wav_shard(root, long_hours)
    for old in (root / "docs_long", root / "segs_long"):
        shutil.rmtree(old, ignore_errors=True)
    long_run = run_child(OURS.format(raw=str(long_raw), docs=str(root / "docs_long"), segs=str(root / "segs_long")))
    print(json.dumps(long_run), flush=True)

    audio_s = audio_h * 3600
    ours_total_cpu = ours["cpu_s"]
    rows = [
        ("audio in", f"{audio_h:.2f} h in {len(audio_by_id)} files (M4A AAC + MP3, 44.1 kHz stereo), {source}"),
        ("segments", f"{int(ours['segments']):,} ({ours['hours_out']:.2f} h of 16 kHz audio; windows overlap)"),
        ("ours: prep jsonl CPU", f"{ours['jsonl_cpu_s']:.1f} s (header probes + transcript parsing)"),
        ("ours: prep segment CPU", f"{segment_cpu:.1f} s -> **{audio_s / segment_cpu:.0f}x real time per core**"),
        (
            "ours: end to end",
            f"{ours_total_cpu:.1f} s CPU -> **{audio_h / (ours_total_cpu / 60):.2f} audio-hours per CPU-minute**, "
            f"{audio_s / ours_total_cpu:.0f}x real time per core",
        ),
        (
            "ours: peak RSS",
            f"{ours['peak_rss_mb']:.0f} MB (one process; longest file {max(m for _, m in plan):.0f} min)",
        ),
        (
            f"ours: one {long_hours:.0f}-hour file",
            f"peak RSS **{long_run['peak_rss_mb']:.0f} MB**, {int(long_run['segments']):,} segments (no per-document "
            f"cap), {long_hours * 3600 / long_run['cpu_s']:.0f}x real time per core (16 kHz WAV input)",
        ),
        (
            "ours: output (FLAC in tar)",
            f"{tar_bytes / audio_h / 1e6:.1f} MB per audio hour = **{tar_bytes / audio_h / PCM16_BYTES_PER_HOUR:.2f}x "
            f"16-bit PCM** ({tar_bytes / (ours['hours_out'] * PCM16_BYTES_PER_HOUR):.2f}x per hour of segment audio)",
        ),
        (
            "original approach, input seeking (PyAV emulation)",
            f"{original['cpu_s']:.1f} s CPU for {original['segments']:,} segments -> "
            f"{audio_s / original['cpu_s']:.0f}x real time; CPU ratio original / ours = "
            f"**{original['cpu_s'] / segment_cpu:.2f}** (ours also FLAC-encodes and tokenizes)",
        ),
        (
            "original approach, output seeking as in its ffmpeg call (estimated)",
            f"~{output_seek_cpu:.0f} s CPU -> CPU ratio original / ours = **~{output_seek_cpu / segment_cpu:.0f}** "
            f"(decode from file start per segment at {decode['decode_x_realtime']:.0f}x real time; "
            "process start-up per segment not counted)",
        ),
        (
            "original output (.npy int16)",
            f"{original['bytes'] / audio_h / 1e6:.1f} MB per audio hour = "
            f"{original['bytes'] / audio_h / PCM16_BYTES_PER_HOUR:.2f}x 16-bit PCM, {original['segments']:,} files; "
            f"ours is {original['bytes'] / tar_bytes:.1f}x smaller in {len(list((segs / 'audio').rglob('*.tar')))} tar",
        ),
    ]
    targets = (
        f"Targets: >= 100x real time per core end to end (measured {audio_s / ours_total_cpu:.0f}x); "
        f"output <= 0.5x 16-bit PCM (measured {tar_bytes / audio_h / PCM16_BYTES_PER_HOUR:.2f}x)."
    )
    table = "| measure | result |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows)
    body = (
        "`prep jsonl` + `prep segment` (one worker, `--max-segments-per-doc 0`), each stage in a fresh process; "
        "CPU = user + system time.\n\n" + table + "\n\n" + targets + "\n"
    )
    print(body)
    write_section("bench_prep", body)


if __name__ == "__main__":
    main()
