"""Decoder targets of one segment record (spec §7.3), with ONE random decision per sample.

The decision (timestamp form or not) fixes both the token sequence and the audio treatment: in the
no-timestamp form the audio is cut at `norm_end` (untranscribed speech after the last caption is
removed), in the timestamp form the whole window is kept. The original flipped a second, independent
coin for the audio (spec §11.1 item 10); here one `Example` carries both.

`<|nospeech|>` goes right after `<|startoftranscript|>` (`placement="decoder"`), which is the position
whose softmax the decoder reads as the no-speech probability. `placement="original"` reproduces the
released models' `sot, notimestamps, nospeech, eot` for continued training of those checkpoints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from olmoasr.errors import TranscriptError
from olmoasr.records.transcripts import Caption, parse_transcript
from olmoasr.timestamps import norm_end_to_ms

WINDOW_MS = 30_000
MAX_TOKENS = 448  # decoder context: the whole sequence incl. sot and eot


@dataclass(frozen=True)
class Example:
    tokens: tuple[int, ...]  # sot ... eot (teacher forcing: input tokens[:-1], target tokens[1:])
    cut_ms: int | None  # keep audio only up to here (no-timestamp form); None = whole window
    timestamps: bool  # which form was built
    text: str  # the reference text (captions joined), for WER of teacher-forced predictions


class TargetError(ValueError):
    """A record whose targets cannot be built (reported and skipped by the loader, with `reason`)."""

    def __init__(self, reason: str, message: str):
        self.reason = reason
        super().__init__(message)


def _caption_text(caption: Caption) -> str:
    return " ".join(caption.text.split())


def parse_captions(record: dict[str, Any]) -> list[Caption]:
    content = record.get("seg_content") or ""
    try:
        name = record.get("subtitle_file")
        transcript = parse_transcript(
            content, source="seg_content", allow_empty=True, name=name if isinstance(name, str) else None
        )
        return transcript.captions
    except TranscriptError as err:
        if err.reason == "empty_transcript":
            return []
        raise TargetError(err.reason, str(err)) from None


def build_example(
    record: dict[str, Any],
    use_timestamps: bool,
    tokenizer: Any,
    placement: str = "decoder",
) -> Example:
    """Targets for `record`; `use_timestamps` is the sample's one coin (True = timestamp form if allowed)."""
    sot, eot = tokenizer.sot, tokenizer.eot
    notimestamps, nospeech = tokenizer.no_timestamps, tokenizer.no_speech
    try:
        norm_end = norm_end_to_ms(record.get("norm_end"))
    except ValueError as err:
        raise TargetError("bad_norm_end", f"bad norm_end: {err}") from None
    if norm_end is None:
        raise TargetError("bad_norm_end", "record has no norm_end")
    captions = parse_captions(record)
    only_no_ts = bool(record.get("only_no_ts_mode", False))
    ts_allowed = bool(record.get("ts_mode", True)) and not only_no_ts

    if not captions:
        if norm_end >= WINDOW_MS:  # a 30 s window of silence / non-speech
            if placement == "original":
                return Example((sot, notimestamps, nospeech, eot), None, False, "")
            return Example((sot, nospeech, eot), None, False, "")
        if use_timestamps and not only_no_ts:
            end = tokenizer.timestamp_token(norm_end)
            return Example((sot, tokenizer.timestamp_token(0), end, end, eot), None, True, "")
        return Example((sot, notimestamps, eot), norm_end, False, "")

    force_no_ts = False
    if norm_end > WINDOW_MS:  # bad data: the last caption runs past the window
        captions = captions[:-1]
        norm_end = captions[-1].end_ms if captions else 0
        force_no_ts = True
    text = " ".join(_caption_text(c) for c in captions)

    if use_timestamps and ts_allowed and not force_no_ts:
        times = [t for c in captions for t in (c.start_ms, c.end_ms)] + [norm_end]
        if all(0 <= t <= WINDOW_MS for t in times):
            tokens = [sot]
            for caption in captions:
                tokens.append(tokenizer.timestamp_token(caption.start_ms))
                tokens.extend(tokenizer.encode(" " + _caption_text(caption)))
                tokens.append(tokenizer.timestamp_token(caption.end_ms))
            tokens += [tokenizer.timestamp_token(norm_end), eot]
            if len(tokens) <= MAX_TOKENS:
                return Example(tuple(tokens), None, True, text)

    tokens = [sot, notimestamps]
    for caption in captions:
        tokens.extend(tokenizer.encode(" " + _caption_text(caption)))
    tokens.append(eot)
    if len(tokens) > MAX_TOKENS:
        raise TargetError("too_many_tokens", f"{len(tokens)} target tokens exceed the decoder's {MAX_TOKENS}")
    return Example(tuple(tokens), norm_end, False, text)
