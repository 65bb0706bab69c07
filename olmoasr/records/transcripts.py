"""SRT and WebVTT transcripts: parse messy real-world files into captions, write segment transcripts.

The one home of transcript parsing, formatting and format detection (`detect_format`) for every stage:
prep, tagging, filtering, training targets and language ID all read captions through this module.

Real subtitle files carry a BOM, CRLF line ends, cue settings, `<c>`/`<v>`/`<i>` tags, entities,
NOTE/STYLE/REGION blocks, `MM:SS.mmm` times, missing blank lines, out-of-order or overlapping cues and
YouTube's rolling auto-captions. One tolerant parser reads both formats (the format only decides how a
file is written back); every cue that cannot be used is dropped and counted by reason, and a file with
no usable cue at all is a `TranscriptError` with a typed reason.

Times are integer milliseconds throughout (`olmoasr.timestamps`).
"""

from __future__ import annotations

import contextlib
import html
import operator
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from olmoasr.errors import TranscriptError
from olmoasr.io.storage import as_path
from olmoasr.records.encoding import DecodedText, decode_transcript_bytes
from olmoasr.timestamps import format_time_ms, parse_time_ms

FORMATS = ("srt", "vtt")

_TIME = r"(?:\d+:)?(?:\d+:)?\d+(?:[.,]\d+)?"
_TIMING_LINE = re.compile(rf"^\s*({_TIME})\s*-->\s*({_TIME})(?:\s.*)?$")
# Markup inside cue text: HTML-like tags (<c>, <c.colorE5E5E5>, </c>, <v Speaker>, <i>, <font ...>),
# karaoke timestamps (<00:00:01.234>) and ASS overrides some SRT files carry ({\an8}).
_TAG = re.compile(r"</?[A-Za-z][^<>\n]*>|<\d+(?::\d+){1,2}[.,]\d+>|\{\\[^{}\n]*\}")
_KARAOKE_TIME = re.compile(r"<(\d+(?::\d+){1,2}[.,]\d+)>")
_NON_CUE_BLOCKS = ("WEBVTT", "NOTE", "STYLE", "REGION", "\ufeffWEBVTT")


@dataclass(frozen=True, slots=True)
class Caption:
    """One cue. `text`: markup removed, entities unescaped, lines stripped and kept joined by newlines."""

    start_ms: int
    end_ms: int
    text: str


@dataclass
class Transcript:
    captions: list[Caption]
    fmt: str  # "srt" | "vtt"
    dropped: dict[str, int] = field(default_factory=dict)  # cues dropped, by reason


# ------------------------------------------------------------------------------------------- format


def _format_from_suffix(name: str) -> str | None:
    suffix = os.path.splitext(name.strip())[1].lower().lstrip(".")
    return suffix if suffix in FORMATS else None


_WEBVTT_HEADER = re.compile(r"[\ufeff \t\r\n]*WEBVTT")
# A whole timing line anywhere in the text; lines end at \n, \r\n or a lone \r (old Mac files).
_FIRST_TIMING_LINE = re.compile(
    rf"(?:\A[\ufeff \t\r\n]*|^|(?<=\r))[ \t]*({_TIME})[ \t]*-->[ \t]*({_TIME})(?:[ \t][^\r\n]*)?(?=[\r\n]|\Z)",
    re.MULTILINE,
)


def detect_format(content: str, name: str | os.PathLike[str] | None = None) -> str:
    """`srt` or `vtt`: the one rule every stage uses to tell a transcript's format. What the text is
    beats what the file is called:

    1. Content that starts with a `WEBVTT` header is VTT.
    2. Else the first timing line decides: a comma before the milliseconds, or a numeric index line
       above it, means SRT; otherwise VTT.
    3. Content without a timing line: a `.srt` / `.vtt` file name decides; empty content is VTT.

    Raises ValueError when none of these tells.
    """
    if _WEBVTT_HEADER.match(content):
        return "vtt"
    timing = _FIRST_TIMING_LINE.search(content)
    if timing is not None:
        if "," in timing.group(1) or "," in timing.group(2):
            return "srt"
        above = content[: timing.start()].lstrip("\ufeff").rstrip()
        line_above = above[max(above.rfind("\n"), above.rfind("\r")) + 1 :]
        return "srt" if line_above.strip().isdigit() else "vtt"
    by_suffix = _format_from_suffix(os.fspath(name)) if name is not None else None
    if by_suffix:
        return by_suffix
    if not content.strip("\ufeff \t\r\n"):
        return "vtt"
    raise ValueError("no caption timing line (`start --> end`) found")


# ------------------------------------------------------------------------------------------- parsing


def clean_cue_text(lines: Sequence[str]) -> str:
    """Remove markup, unescape entities, strip each line, drop empty lines; lines joined by `\\n`."""
    out = []
    for line in lines:
        if "<" in line or "{" in line:
            line = _TAG.sub("", line)
        if "&" in line:
            line = html.unescape(line)
        line = line.replace("\xa0", " ").strip()
        if line:
            out.append(line)
    return "\n".join(out)


def _is_non_cue_block(first_line: str) -> bool:
    word = first_line.strip().split(" ", 1)[0].split("\t", 1)[0]
    return word in _NON_CUE_BLOCKS or first_line.lstrip("\ufeff").startswith("WEBVTT")


def parse_transcript(
    content: str,
    fmt: str | None = None,
    source: str = "<string>",
    allow_empty: bool = False,
    name: str | os.PathLike[str] | None = None,
) -> Transcript:
    """Parse SRT or WebVTT text (format `fmt`, or `detect_format(content, name)`). Bad cues are dropped and
    counted in `Transcript.dropped` by reason: `bad_timing` (unparseable time), `end_before_start`,
    `empty_text`, `duplicate` (same times and text).

    Cues are returned sorted by start time (stable). Overlapping cues are kept: rolling auto-captions
    overlap by design. Raises `TranscriptError` (reason `empty_transcript` / `unparseable_transcript`)
    when no usable cue remains, unless `allow_empty` (segment transcripts of no-speech windows are empty).
    """
    if not content.strip("\ufeff \t\r\n"):
        if allow_empty:
            return Transcript([], fmt or detect_format(content, name))
        raise TranscriptError(source, "empty_transcript", "transcript is empty")
    if fmt is None:
        try:
            fmt = detect_format(content, name)
        except ValueError as err:
            raise TranscriptError(source, "unparseable_transcript", f"not SRT or WebVTT: {err}") from None
    elif fmt not in FORMATS:
        raise TranscriptError(source, "unknown_format", f"unsupported transcript format {fmt!r} (srt or vtt)")

    text = content.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    dropped: dict[str, int] = {}
    captions: list[Caption] = []
    saw_timing = False
    saw_garbage = False

    def drop(reason: str) -> None:
        dropped[reason] = dropped.get(reason, 0) + 1

    # Blocks end at truly empty lines (WebVTT rule): YouTube puts whitespace-only lines inside cues.
    # Separators that hold stray spaces merge two cues into one block, which the split below handles.
    for block in text.split("\n\n"):
        lines = block.split("\n")
        while lines and not lines[0].strip():
            lines.pop(0)
        if not lines:
            continue
        timing_rows = [i for i, line in enumerate(lines) if "-->" in line]
        if not timing_rows:
            if not _is_non_cue_block(lines[0]) and not (len(lines) == 1 and lines[0].strip().isdigit()):
                saw_garbage = True
                drop("bad_block")
            continue
        # Several cues in one block (blank lines missing): each timing line starts a cue; a numeric line
        # right above a timing line is that cue's SRT index, not text of the cue before.
        for n, row in enumerate(timing_rows):
            stop = timing_rows[n + 1] if n + 1 < len(timing_rows) else len(lines)
            if n + 1 < len(timing_rows) and stop - 1 > row and lines[stop - 1].strip().isdigit():
                stop -= 1
            match = _TIMING_LINE.match(lines[row])
            if match is None:
                drop("bad_timing")
                continue
            saw_timing = True
            try:
                start_ms = parse_time_ms(match.group(1))
                end_ms = parse_time_ms(match.group(2))
            except ValueError:
                drop("bad_timing")
                continue
            if end_ms < start_ms:
                drop("end_before_start")
                continue
            cue_text = clean_cue_text(lines[row + 1 : stop])
            if not cue_text:
                drop("empty_text")
                continue
            captions.append(Caption(start_ms, end_ms, cue_text))

    captions = _sorted_unique(captions, drop)
    if not captions and not allow_empty:
        if saw_timing:
            message = f"transcript has no usable caption ({_describe(dropped)})"
            raise TranscriptError(source, "empty_transcript", message)
        if saw_garbage or dropped:
            raise TranscriptError(source, "unparseable_transcript", "no caption timing line (`start --> end`) found")
        raise TranscriptError(source, "empty_transcript", "transcript is empty")
    return Transcript(captions, fmt, dropped)


def _sorted_unique(captions: list[Caption], drop) -> list[Caption]:
    if any(b.start_ms < a.start_ms for a, b in zip(captions, captions[1:], strict=False)):
        captions = sorted(captions, key=lambda c: c.start_ms)
    out: list[Caption] = []
    seen: set[tuple[int, int, str]] = set()
    for caption in captions:
        key = (caption.start_ms, caption.end_ms, caption.text)
        if key in seen:
            drop("duplicate")
            continue
        seen.add(key)
        out.append(caption)
    return out


def _describe(dropped: dict[str, int]) -> str:
    if not dropped:
        return "no cues"
    return ", ".join(f"{n} {reason}" for reason, n in sorted(dropped.items()))


def read_transcript_file(path: str | os.PathLike[str]) -> DecodedText:
    """A transcript file's text and the encoding it was read in (`olmoasr.records.encoding`: BOM, strict
    UTF-8, then a detector; undecodable bytes are a `TranscriptError`, never replacement characters)."""
    try:
        data = as_path(path).read_bytes()
    except FileNotFoundError:
        raise TranscriptError(str(path), "missing_transcript", "transcript file not found") from None
    except OSError as err:
        raise TranscriptError(str(path), "unreadable_transcript", f"cannot read ({err.strerror or err})") from None
    return decode_transcript_bytes(data, str(path))


def read_transcript_text(path: str | os.PathLike[str]) -> str:
    """A transcript file's text (see `read_transcript_file`)."""
    return read_transcript_file(path).text


def read_transcript(path: str | os.PathLike[str]) -> Transcript:
    """Read and parse a `.srt` / `.vtt` file (other extensions: the content decides)."""
    content = read_transcript_text(path)
    return parse_transcript(content, source=os.fspath(path), name=path)


# ------------------------------------------------------------------------------------------- writing


def format_transcript(captions: Sequence[Caption], fmt: str) -> str:
    """Serialise captions the way segment records store them.

    VTT: `WEBVTT` header then `start --> end\\ntext\\n\\n` per cue (`HH:MM:SS.mmm`); no captions ->
    `"WEBVTT\\n\\n"`. SRT: `index\\nstart --> end\\ntext\\n\\n` (`HH:MM:SS,mmm`, index from 1); no captions -> `""`.
    """
    if fmt == "vtt":
        parts = ["WEBVTT\n\n"]
        parts.extend(f"{format_time_ms(c.start_ms)} --> {format_time_ms(c.end_ms)}\n{c.text}\n\n" for c in captions)
        return "".join(parts)
    if fmt == "srt":
        return "".join(
            f"{i}\n{format_time_ms(c.start_ms, ',')} --> {format_time_ms(c.end_ms, ',')}\n{c.text}\n\n"
            for i, c in enumerate(captions, start=1)
        )
    raise ValueError(f"unsupported transcript format {fmt!r} (srt or vtt)")


# ------------------------------------------------------------------------------------------- fast path

# One cue per block: blank lines, an optional SRT index or cue id, a `HH:MM:SS.mmm --> HH:MM:SS.mmm` timing
# line (`,` allowed, cue settings allowed), then the cue's lines. (`[^\S\n]` is whitespace but a line end:
# the blank lines `str.strip` empties.)
_CANONICAL_BLOCK = re.compile(
    r"(?:[^\S\n]*\n)*(?:[^\n]*\n)??"  # blank lines, then an id line only if the timing line is not first
    r"(\d\d:\d\d:\d\d)[.,](\d\d\d) --> (\d\d:\d\d:\d\d)[.,](\d\d\d)(?:[ \t][^\n]*)?(?:\n(.*))?",
    re.DOTALL,
)
_NEEDS_CLEANING = re.compile(r"[<&{\xa0]")


def canonical_caption_texts(content: str) -> list[str] | None:
    """Caption texts of a transcript in the common form, or None for anything else. A fast path for readers
    that need texts only (taggers): one cue per block with a `HH:MM:SS.mmm --> HH:MM:SS.mmm` timing line
    (`,` before the milliseconds and cue settings allowed; an SRT index or a cue id above it), cues in order
    of start; a BOM and CR line ends as the parser takes them, texts cleaned by `clean_cue_text`. Where it
    answers, it answers exactly what `parse_transcript` would (tested for parity); unsorted, empty, duplicate
    or backwards cues, several timing lines in a block and any other timing line return None, and the full
    parser decides."""
    text = content.lstrip("\ufeff")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    texts: list[str] = []
    seen: set[tuple[str, str, str, str, str]] = set()
    previous = ("", "")
    match_block = _CANONICAL_BLOCK.fullmatch
    needs_cleaning = _NEEDS_CLEANING.search
    for block in text.split("\n\n"):
        arrows = block.count("-->")
        if arrows != 1:
            if arrows:
                return None  # several cues in one block
            continue  # header, NOTE, index-only or stray text: never a caption (the full parser agrees)
        timing = match_block(block)
        if timing is None:
            return None
        start_s, start_ms, end_s, end_ms, body = timing.groups()
        start = (start_s, start_ms)
        if (end_s, end_ms) < start or start < previous:  # zero-padded fields compare as numbers
            return None
        previous = start
        if body is None:
            return None  # a timing line without text: an empty cue
        if needs_cleaning(body) is not None:
            if "&" in body:  # an entity may decode to a line end: line by line, as the parser does
                cue = clean_cue_text(body.split("\n"))
            else:  # markup never spans a line end, so one pass over the cue is a pass per line
                body = _TAG.sub("", body).replace("\xa0", " ")
                cue = body.strip() if "\n" not in body else _joined_lines(body)
        elif "\n" not in body:
            cue = body.strip()
        else:
            cue = _joined_lines(body)
        key = (start_s, start_ms, end_s, end_ms, cue)
        if not cue or key in seen:
            return None
        seen.add(key)
        texts.append(cue)
    return texts or None


def _joined_lines(body: str) -> str:
    """A cue's lines stripped, the empty ones dropped, joined by line ends."""
    return "\n".join(filter(None, map(str.strip, body.split("\n"))))


# ------------------------------------------------------------------------------------------- text


def transcript_text(captions: Sequence[Caption]) -> str:
    """The manual transcript's text: each caption's text stripped, joined by single spaces."""
    return " ".join(text for text in (c.text.strip() for c in captions) if text)


def is_rolling(texts: Sequence[str]) -> bool:
    """YouTube-style rolling captions (cue texts in order): at least half of the consecutive cue pairs roll
    on, i.e. the cue starts with the line the cue before it ended with (how rolling captions move up). A
    plain transcript may have a pair or two that happen to (two cues meeting at `[Music]`); rolling captions
    have nearly all of them."""
    pairs = len(texts) - 1
    if pairs < 1:
        return False
    # Every pair at once: each cue's first line (stripped) against the last line of the cue before.
    firsts = [text.split("\n", 1)[0].strip() for text in texts[1:]]
    lasts = [text.rsplit("\n", 1)[-1].strip() for text in texts[:-1]]
    return 2 * sum(map(operator.eq, firsts, lasts)) >= pairs


def _rolling_lines(texts: Sequence[str]) -> list[tuple[int, str, int | None]]:
    """The §2.5 rule for rolling captions as (cue index, kept line, the kept cue before a single-line cue or
    None): if the first two cues have the same text keep the first; keep single-line cues, and of the last
    cue its last line."""
    order = list(range(len(texts)))
    if len(texts) >= 2 and texts[0].strip() == texts[1].strip():
        del order[1]
    kept = []
    for position, index in enumerate(order):
        lines = texts[index].split("\n")
        if position == len(order) - 1:
            kept.append((index, lines[-1].strip(), None))
        elif len(lines) == 1:
            kept.append((index, lines[0].strip(), order[position - 1] if position > 0 else None))
    return [item for item in kept if item[1]]


def machine_units(captions: Sequence[Caption]) -> list[Caption]:
    """Machine captions as timed text units that never repeat, in order.

    Rolling auto-captions (spec §2.5, `is_rolling`) show each line twice: first as the new bottom line of a
    two-line cue while it is spoken, then as the top line of the next, with a short single-line "snapshot"
    cue in between; `_rolling_lines` keeps each line once. A kept snapshot is timed from the start of the cue
    in which its line was spoken to its own end. Captions that do not roll are kept whole (lines joined by
    spaces).
    """
    texts = [c.text for c in captions]
    if not is_rolling(texts):
        return [Caption(c.start_ms, c.end_ms, " ".join(c.text.split())) for c in captions]
    units = []
    for index, line, before in _rolling_lines(texts):
        start = captions[index].start_ms
        if before is not None and texts[before].rsplit("\n", 1)[-1].strip() == line:
            start = min(start, captions[before].start_ms)
        units.append(Caption(start, captions[index].end_ms, line))
    return units


def karaoke_word_starts(content: str) -> list[tuple[int, str]]:
    """`(start_ms, word)` for every word on a cue line that carries karaoke timestamps.

    YouTube auto-captions time each word (`so<00:00:01.500><c> we</c>`): the first word starts with its
    cue, each later word at the timestamp before it. Lines without timestamps contribute nothing.
    """
    out: list[tuple[int, str]] = []
    cue_start: int | None = None
    text = content.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    for line in text.split("\n"):
        timing = _TIMING_LINE.match(line)
        if timing:
            try:
                cue_start = parse_time_ms(timing.group(1))
            except ValueError:
                cue_start = None
            continue
        if cue_start is None or not _KARAOKE_TIME.search(line):
            continue
        at = cue_start
        for piece in _KARAOKE_TIME.split(line):  # odd items are the captured times
            if _KARAOKE_TIME.fullmatch(f"<{piece}>"):
                with contextlib.suppress(ValueError):
                    at = parse_time_ms(piece)
                continue
            out.extend((at, word) for word in clean_cue_text([piece]).split())
    return out


def machine_transcript_text(texts: Sequence[str]) -> str:
    """Text of a machine transcript, from its cue texts, without the repeats of rolling auto-captions (the
    text of `machine_units`)."""
    if not is_rolling(texts):
        return " ".join(" ".join(text.split()) for text in texts)
    return " ".join(line for _, line, _ in _rolling_lines(texts))
