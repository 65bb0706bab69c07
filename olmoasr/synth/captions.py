"""Caption files for synthetic speech: manual SRT/WebVTT, YouTube-style rolling auto-captions, and
machine-transcript corruption that imitates ASR errors.

Times are integer milliseconds. Timestamps are written with `olmoasr.timestamps`, so they parse back
exactly.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from olmoasr.timestamps import format_time_ms


@dataclass(frozen=True)
class Cue:
    start_ms: int
    end_ms: int
    text: str


@dataclass(frozen=True)
class TimedWord:
    start_ms: int
    end_ms: int
    text: str


def _srt_time(ms: int) -> str:
    return format_time_ms(ms, ",")


def _vtt_time(ms: int) -> str:
    return format_time_ms(ms, ".")


def format_srt(cues: list[Cue], crlf: bool = False) -> str:
    blocks = [f"{i}\n{_srt_time(c.start_ms)} --> {_srt_time(c.end_ms)}\n{c.text}\n" for i, c in enumerate(cues, 1)]
    text = "\n".join(blocks)
    return text.replace("\n", "\r\n") if crlf else text


def format_vtt(cues: list[Cue], cue_ids: bool = False, note: str | None = None) -> str:
    parts = ["WEBVTT\n"]
    if note:
        parts.append(f"NOTE {note}\n")
    for i, c in enumerate(cues, 1):
        ident = f"cue-{i}\n" if cue_ids else ""
        parts.append(f"{ident}{_vtt_time(c.start_ms)} --> {_vtt_time(c.end_ms)}\n{c.text}\n")
    return "\n".join(parts)


def format_transcript(cues: list[Cue], suffix: str, **options: bool) -> str:
    if suffix == ".srt":
        return format_srt(cues, crlf=bool(options.get("crlf", False)))
    if suffix == ".vtt":
        return format_vtt(cues, cue_ids=bool(options.get("cue_ids", False)), note=options.get("note"))  # type: ignore[arg-type]
    raise ValueError(f"unsupported transcript suffix {suffix!r} (use .srt or .vtt)")


def word_timings(cue: Cue) -> list[TimedWord]:
    """Spread a cue's words over its span in proportion to their length (a stand-in for forced alignment)."""
    words = cue.text.split()
    if not words:
        return []
    weights = [len(w) + 1 for w in words]
    total = sum(weights)
    span = cue.end_ms - cue.start_ms
    out, acc = [], 0
    for word, weight in zip(words, weights, strict=True):
        start = cue.start_ms + round(span * acc / total)
        acc += weight
        end = cue.start_ms + round(span * acc / total)
        out.append(TimedWord(start, end, word))
    return out


_PUNCT = re.compile(r"[^\w\s'-]|(?<!\w)['-]|['-](?!\w)")

# Plausible recogniser confusions (both directions are applied); other words get generic errors.
_CONFUSION_PAIRS = (
    "the:a and:in for:four to:too their:there its:it's our:are then:than where:were would:wood some:sum by:buy "
    "know:no here:hear right:write sea:see hour:our one:won two:to flour:flower whole:hole tide:tied rode:road "
    "through:threw piece:peace eight:ate night:knight weather:whether made:maid"
)
_CONFUSIONS = dict(pair.split(":") for pair in _CONFUSION_PAIRS.split())
_CONFUSIONS.update({v: k for k, v in list(_CONFUSIONS.items())})
_FILLERS = ["the", "and", "a", "so", "that", "of"]


def machine_words(words: list[TimedWord]) -> list[TimedWord]:
    """What a perfect recogniser of that era emits: lower case, no punctuation."""
    out = []
    for w in words:
        text = _PUNCT.sub("", w.text).lower()
        if text:
            out.append(TimedWord(w.start_ms, w.end_ms, text))
    return out


def _misrecognise(word: str, rng: random.Random) -> str:
    if word in _CONFUSIONS:
        return _CONFUSIONS[word]
    if len(word) > 4 and word.endswith("s"):
        return word[:-1]
    if len(word) > 5 and word.endswith("ed"):
        return word[:-2]
    if len(word) > 3:
        return word + rng.choice(["s", "ing", "er"])
    return rng.choice(_FILLERS)


def corrupt_like_asr(words: list[TimedWord], error_rate: float, rng: random.Random) -> list[TimedWord]:
    """Machine-caption errors at about `error_rate` per word: 70% substitutions, 20% deletions, 10% insertions.

    Errors are spread out (never two in a row) so every window of the transcript keeps roughly the
    document's error rate.
    """
    out: list[TimedWord] = []
    previous_error = False
    for w in machine_words(words):
        if previous_error or rng.random() >= error_rate:
            out.append(w)
            previous_error = False
            continue
        previous_error = True
        kind = rng.random()
        if kind < 0.7:
            out.append(TimedWord(w.start_ms, w.end_ms, _misrecognise(w.text, rng)))
        elif kind < 0.9:
            continue
        else:
            mid = (w.start_ms + w.end_ms) // 2
            out.append(TimedWord(w.start_ms, mid, rng.choice(_FILLERS)))
            out.append(TimedWord(mid, w.end_ms, w.text))
    return out


def _line_groups(words: list[TimedWord], max_chars: int, max_gap_ms: int) -> list[list[TimedWord]]:
    lines: list[list[TimedWord]] = []
    for w in words:
        if lines:
            line = lines[-1]
            length = sum(len(x.text) + 1 for x in line) + len(w.text)
            if length <= max_chars and w.start_ms - line[-1].end_ms <= max_gap_ms:
                line.append(w)
                continue
        lines.append([w])
    return lines


def youtube_auto_vtt(words: list[TimedWord], language: str = "en", max_chars: int = 42) -> str:
    """Rolling auto-captions as YouTube serves them (`.vtt` from a video's automatic captions).

    Each line of recognised words gets a two-line cue (previous line on top, the new line with
    per-word `<time><c>` tags below) followed by a 10 ms cue holding only the finished line; the last
    line has no 10 ms cue. The extraction rule of spec §2.5 (keep single-line cues, the last line of
    the final cue, drop a duplicated first cue) recovers each line exactly once.
    """
    header = f"WEBVTT\nKind: captions\nLanguage: {language}\n"
    if not words:
        return header
    lines = _line_groups(words, max_chars=max_chars, max_gap_ms=2000)
    blocks = [header]
    settings = "align:start position:0%"
    previous_text = " "
    for i, line in enumerate(lines):
        start = line[0].start_ms
        if i + 1 < len(lines):
            end = max(min(lines[i + 1][0].start_ms, line[-1].end_ms + 1500) - 10, start + 10)
        else:
            end = line[-1].end_ms + 300
        tagged = line[0].text + "".join(f"<{_vtt_time(w.start_ms)}><c> {w.text}</c>" for w in line[1:])
        blocks.append(f"{_vtt_time(start)} --> {_vtt_time(end)} {settings}\n{previous_text}\n{tagged}\n")
        line_text = " ".join(w.text for w in line)
        if i + 1 < len(lines):
            blocks.append(f"{_vtt_time(end)} --> {_vtt_time(end + 10)} {settings}\n{line_text}\n \n")
        previous_text = line_text
    return "\n".join(blocks)


def rolling_cues(cues: list[Cue]) -> list[Cue]:
    """Manual captions typed as a growing line: each sentence first shows its first half, then the whole
    sentence, so every second cue contains the previous cue's text (the `repeating_lines` defect)."""
    out = []
    for cue in cues:
        words = cue.text.split()
        if len(words) < 4:
            out.append(cue)
            continue
        half = len(words) // 2
        mid = cue.start_ms + (cue.end_ms - cue.start_ms) * half // len(words)
        out.append(Cue(cue.start_ms, mid, " ".join(words[:half])))
        out.append(Cue(mid, cue.end_ms, cue.text))
    return out
