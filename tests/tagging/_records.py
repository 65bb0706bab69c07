"""Hand-made transcripts and records for the tagging tests."""

from __future__ import annotations

from pathlib import Path

from olmoasr.io.jsonl import JsonlWriter, iter_jsonl


def vtt(*captions: str, step_ms: int = 2000) -> str:
    out = ["WEBVTT\n\n"]
    for i, text in enumerate(captions):
        start, end = i * step_ms, (i + 1) * step_ms
        out.append(f"{_t(start, '.')} --> {_t(end, '.')}\n{text}\n\n")
    return "".join(out)


def srt(*captions: str, step_ms: int = 2000) -> str:
    return "".join(
        f"{i + 1}\n{_t(i * step_ms, ',')} --> {_t((i + 1) * step_ms, ',')}\n{text}\n\n"
        for i, text in enumerate(captions)
    )


def _t(ms: int, sep: str) -> str:
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def doc(id_: str, *captions: str, mach: str | None = None, fmt: str = "vtt", **extra) -> dict:
    content = vtt(*captions) if fmt == "vtt" else srt(*captions)
    record = {
        "subtitle_file": f"pairs/{id_}/transcript_{id_}.{fmt}",
        "content": content,
        "length": 2.0 * len(captions),
        "audio_file": f"pairs/{id_}/audio_{id_}.m4a",
        "id": id_,
    }
    if mach is not None:
        record["mach_content"] = mach
    record.update(extra)
    return record


def seg(seg_id: str, *captions: str, seconds: float = 30.0, fmt: str = "vtt", **extra) -> dict:
    end_ms = int(seconds * 1000)
    record = {
        "subtitle_file": f"segs/{seg_id}.{fmt}",
        "seg_content": vtt(*captions) if fmt == "vtt" else srt(*captions),
        "text_timestamp": f"00:00:00,000_{_t(end_ms, ',')}",
        "audio_timestamp": f"00:00:00,000_{_t(end_ms, ',')}",
        "norm_end": _t(end_ms, "."),
        "id": seg_id.rsplit("_", 1)[0],
        "seg_id": seg_id,
    }
    record.update(extra)
    return record


def write_shard(path: Path, records: list[dict]) -> Path:
    with JsonlWriter(path) as out:
        out.write_many(records)
    return path


def read_shard(path: Path) -> list[dict]:
    return [record for _, record in iter_jsonl(path)]
