"""Align a document's machine (auto-caption) transcript with its manual segment windows (spec §2.5).

The machine captions are first turned into timed units that never repeat (`machine_units`: YouTube's
rolling captions show every line twice), and units into timed words (`machine_words`). Each manual
window gets the machine words that start inside its text span. (The original matched whole
captions: start at the caption whose start is closest to the window start, extend while the caption end
gets closer to the window end; a line straddling a boundary then lands entirely on one side, and a
rolling line still on screen after its words were said spills into the next window.) Words are used
once, in order. The intended per-segment fields, which the original computed but never wrote:

- `seg_text` / `mach_seg_text`: Whisper-English-normalised manual / machine text of the window (decoded
  `<` / `>` read as spaces, `normalize_caption_text`),
- `mach_seg_content`: the window's machine words, regrouped by source line and re-timed to the manual
  window's start (same format rules as `seg_content`); `mach_timestamp`: their absolute range,
- `seg_edit_dist`: WER(manual, machine) on the normalised texts, with the original's fallbacks
  (normalised manual text empty -> compare raw texts; both empty -> 0.0; no machine text -> 1.0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from olmoasr.pipeline.segmenting import Window
from olmoasr.records.transcripts import (
    Caption,
    format_transcript,
    machine_units,
    transcript_text,
)
from olmoasr.text.normalize import normalize_caption_text
from olmoasr.text.wer import word_error_rate
from olmoasr.timestamps import format_range_ms


@dataclass(frozen=True, slots=True)
class MachineWord:
    """One word of a machine unit, its time interpolated within the unit (by character length)."""

    start_ms: int
    end_ms: int
    text: str
    unit: int  # index of the machine unit it came from


MAX_WORD_MS = 1000  # a timed word's assumed longest duration (its end is otherwise the next word's start)


def machine_words(captions: Sequence[Caption], karaoke: Sequence[tuple[int, str]] = ()) -> list[MachineWord]:
    """Machine captions -> non-repeating units (`machine_units`) -> words with times.

    A caption line often straddles a manual window boundary, and rolling captions stay on screen well after
    their words were said. Word times come from karaoke timestamps when the file has them (YouTube
    auto-captions), else the unit's duration is spread over its words in proportion to their length.
    """
    words: list[MachineWord] = []
    for index, unit in enumerate(machine_units(captions)):
        tokens = unit.text.split()
        weights = [len(t) + 1 for t in tokens]
        total = sum(weights)
        span = unit.end_ms - unit.start_ms
        done = 0
        for token, weight in zip(tokens, weights, strict=True):
            start = unit.start_ms + span * done // total
            done += weight
            words.append(MachineWord(start, unit.start_ms + span * done // total, token, index))
    return _apply_karaoke_times(words, karaoke) if karaoke else words


def _apply_karaoke_times(words: list[MachineWord], karaoke: Sequence[tuple[int, str]]) -> list[MachineWord]:
    """Give each word the time of the same word in the karaoke stream (matched in order, small look-ahead)."""
    starts = [w.start_ms for w in words]
    timed = [False] * len(words)
    j = 0
    for i, word in enumerate(words):
        for k in range(j, min(j + 4, len(karaoke))):
            if karaoke[k][1] == word.text:
                starts[i], timed[i] = karaoke[k][0], True
                j = k + 1
                break
    out = []
    for i, word in enumerate(words):
        start = max(starts[i], starts[i - 1]) if i and not timed[i] else starts[i]
        starts[i] = start
        nxt = starts[i + 1] if i + 1 < len(words) else word.end_ms
        end = max(start, min(nxt, start + MAX_WORD_MS)) if timed[i] else max(start, word.end_ms)
        out.append(MachineWord(start, end, word.text, word.unit))
    return out


@dataclass(frozen=True, slots=True)
class MachineWindow:
    words: tuple[MachineWord, ...]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def captions(self) -> list[Caption]:
        """The window's words regrouped into one caption per source unit (absolute times)."""
        out: list[Caption] = []
        group: list[MachineWord] = []
        for word in self.words:
            if group and word.unit != group[-1].unit:
                out.append(Caption(group[0].start_ms, group[-1].end_ms, " ".join(w.text for w in group)))
                group = []
            group.append(word)
        if group:
            out.append(Caption(group[0].start_ms, group[-1].end_ms, " ".join(w.text for w in group)))
        return out

    @property
    def timestamp(self) -> str | None:
        if not self.words:
            return None
        return format_range_ms(self.words[0].start_ms, max(w.end_ms for w in self.words))


def machine_windows(
    windows: Sequence[Window], machine_captions: Sequence[Caption], karaoke: Sequence[tuple[int, str]] = ()
) -> list[MachineWindow]:
    """One machine window per manual window: the machine words that start inside the manual window's
    text span, in order (a word mostly before the window start belongs to no window)."""
    machine = machine_words(machine_captions, karaoke)
    out: list[MachineWindow] = []
    pos = 0
    n = len(machine)
    for window in windows:
        w_start, w_end = window.start_ms, window.text_end_ms
        while pos < n and _mid(machine[pos]) < w_start:
            pos += 1  # said before this window (or between windows): belongs to no segment
        first = pos
        while pos < n and machine[pos].start_ms < w_end:
            pos += 1
        out.append(MachineWindow(tuple(machine[first:pos])))
    return out


def _mid(word: MachineWord) -> float:
    return (word.start_ms + word.end_ms) / 2


def seg_edit_distance(manual_text: str, machine_text: str, manual_norm: str, machine_norm: str) -> float:
    """WER of the machine text against the manual text, with the original's fallbacks."""
    reference, hypothesis = manual_norm, machine_norm
    if not reference.strip():
        reference, hypothesis = manual_text, machine_text
    if not reference.strip():
        return 0.0 if not hypothesis.strip() else 1.0
    if not hypothesis.strip():
        return 1.0
    return word_error_rate(reference, hypothesis)


def alignment_fields(window: Window, mach_window: MachineWindow, fmt: str) -> dict[str, object]:
    """The §2.5 fields of one segment record."""
    manual_raw = transcript_text(window.captions)
    machine_raw = mach_window.text
    manual_norm = normalize_caption_text(manual_raw) if manual_raw else ""
    machine_norm = normalize_caption_text(machine_raw) if machine_raw else ""
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
