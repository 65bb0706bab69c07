"""Align a document's machine (auto-caption) transcript with its manual segment windows (spec §2.5).

For each manual window, in order, the machine window starts at the machine caption whose start is
closest to the manual window's start and extends while the next machine caption's end is closer to the
manual window's end. Machine captions are consumed in order (a caption is never used twice). The
intended per-segment fields, which the original computed but never wrote:

- `seg_text` / `mach_seg_text`: Whisper-English-normalised manual / machine text of the window
  (machine text extracted with the rolling auto-caption rules, `machine_transcript_text`),
- `mach_seg_content`: the machine captions re-timed to the manual window's start (same format rules
  as `seg_content`), `mach_timestamp`: their absolute range `HH:MM:SS,mmm_HH:MM:SS,mmm`,
- `seg_edit_dist`: WER(manual, machine) on the normalised texts, with the original's fallbacks
  (normalised manual text empty -> compare raw texts; both empty -> 0.0; no machine text -> 1.0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import jiwer

from olmoasr.pipeline.segmenting import Window
from olmoasr.pipeline.transcripts import (
    Caption,
    format_transcript,
    machine_transcript_text,
    transcript_text,
)
from olmoasr.text import normalize_english
from olmoasr.timestamps import format_range_ms


@dataclass(frozen=True, slots=True)
class MachineWindow:
    captions: tuple[Caption, ...]  # absolute times

    @property
    def timestamp(self) -> str | None:
        if not self.captions:
            return None
        return format_range_ms(self.captions[0].start_ms, max(c.end_ms for c in self.captions))


def machine_windows(windows: Sequence[Window], machine: Sequence[Caption]) -> list[MachineWindow]:
    """One machine window per manual window (empty when no machine caption overlaps it)."""
    out: list[MachineWindow] = []
    pos = 0
    n = len(machine)
    for window in windows:
        w_start, w_end = window.start_ms, window.text_end_ms
        if pos >= n:
            out.append(MachineWindow(()))
            continue
        first = pos
        while first + 1 < n and abs(machine[first + 1].start_ms - w_start) < abs(machine[first].start_ms - w_start):
            first += 1
        if machine[first].start_ms >= w_end or machine[first].end_ms <= w_start:
            # The closest machine caption lies outside the window: the machine heard nothing here.
            out.append(MachineWindow(()))
            continue
        last = first
        while last + 1 < n and abs(machine[last + 1].end_ms - w_end) < abs(machine[last].end_ms - w_end):
            last += 1
        out.append(MachineWindow(tuple(machine[first : last + 1])))
        pos = last + 1
    return out


def seg_edit_distance(manual_text: str, machine_text: str, manual_norm: str, machine_norm: str) -> float:
    """WER of the machine text against the manual text, with the original's fallbacks."""
    reference, hypothesis = manual_norm, machine_norm
    if not reference.strip():
        reference, hypothesis = manual_text, machine_text
    if not reference.strip():
        return 0.0 if not hypothesis.strip() else 1.0
    if not hypothesis.strip():
        return 1.0
    return float(jiwer.wer(reference, hypothesis))


def alignment_fields(window: Window, mach_window: MachineWindow, fmt: str) -> dict[str, object]:
    """The §2.5 fields of one segment record."""
    manual_raw = transcript_text(window.captions)
    machine_raw = machine_transcript_text(mach_window.captions)
    manual_norm = normalize_english(manual_raw) if manual_raw else ""
    machine_norm = normalize_english(machine_raw) if machine_raw else ""
    start = window.start_ms
    relative = [Caption(max(0, c.start_ms - start), max(0, c.end_ms - start), c.text) for c in mach_window.captions]
    fields: dict[str, object] = {
        "seg_text": manual_norm,
        "mach_seg_text": machine_norm,
        "mach_seg_content": format_transcript(relative, fmt),
        "seg_edit_dist": seg_edit_distance(manual_raw, machine_raw, manual_norm, machine_norm),
    }
    if mach_window.timestamp is not None:  # no machine caption in this window: no range to give
        fields["mach_timestamp"] = mach_window.timestamp
    return fields
