"""Cut a document's captions into <= 30 s training windows (spec §2.1).

Rules, in the terms of the original that users know:

1. The first window starts at the first caption's start; every later window starts at the END of the
   last caption of the previous window (so audio windows may overlap; text never repeats).
2. Captions are added while `caption.end - window.start <= 30 s`.
3. The first caption that does not fit closes the window. Its audio is always the full 30 s from the
   window start (a Whisper-style "partial" window: the text stops at `norm_end`), except for the last
   window of a document, whose audio ends with its last caption.
4. An empty window whose next caption starts >= 30 s later yields floor(gap / 30 s) no-speech windows of
   30 s (empty transcript, `norm_end` 30000); the next window starts where they end.
5. An empty window whose next caption starts < 30 s later but does not fit yields one empty-transcript
   window from the start to that caption's start (`norm_end` = the gap; audio still 30 s); the next
   window starts at that caption.
6. A single caption longer than 30 s is skipped (counted); the next window starts at the next caption.
7. Token check with Whisper's English tokenizer, each caption encoded as `" " + text.strip()`:
   timestamp mode = text tokens + 2 per caption (+1 unless last window) + 2; no-timestamp mode = text
   tokens + 3. Over 448 in both modes drops the window; flags `ts_mode` / `no_ts_mode` say which fit.
8. A caption starting before its window start (overlapping captions) is clamped to the window start and
   the window is flagged `only_no_ts_mode`. Windows with < 15 ms of text or audio are dropped.
9. At most `max_segments` windows per document (default 120, about an hour).

All times are integer milliseconds. Unlike the original, audio windows are clipped to the real audio
duration when it is known, and a window starting beyond the end of the audio is dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from olmoasr.records.transcripts import Caption
from olmoasr.timestamps import format_time_ms

WINDOW_MS = 30_000
MAX_TOKENS = 448
MIN_MS = 15
DEFAULT_MAX_SEGMENTS = 120

CountTokens = Callable[[str], int]


@dataclass(frozen=True, slots=True)
class Window:
    """One segment window. `captions` keep absolute times; `relative_captions()` re-times them."""

    kind: str  # "speech" | "no_speech" (>= 30 s silence) | "gap" (short silence before a caption)
    start_ms: int
    text_end_ms: int
    audio_end_ms: int
    captions: tuple[Caption, ...] = ()
    ts_mode: bool = True
    no_ts_mode: bool = True
    only_no_ts_mode: bool = False
    num_tokens_ts_mode: int = 0
    num_tokens_no_ts_mode: int = 0

    @property
    def norm_end(self) -> int | str:
        """The original's `norm_end`: int 30000 for no-speech windows, else relative `HH:MM:SS.mmm`."""
        if self.kind == "no_speech":
            return self.text_end_ms - self.start_ms
        return format_time_ms(self.text_end_ms - self.start_ms)

    def relative_captions(self) -> list[Caption]:
        start = self.start_ms
        return [Caption(max(0, c.start_ms - start), max(0, c.end_ms - start), c.text) for c in self.captions]


@dataclass
class WindowingOptions:
    max_segments: int = DEFAULT_MAX_SEGMENTS  # 0 = no cap
    window_ms: int = WINDOW_MS
    max_tokens: int = MAX_TOKENS
    min_ms: int = MIN_MS
    # How far a caption may run past the end of the audio (captions stay on screen a little after the
    # last word); a caption ending later covers speech the audio lacks and is dropped (`captions_past_audio`).
    text_past_audio_ms: int = 1000


@dataclass
class WindowingStats:
    """Why windows were not emitted (additive counts, reported in the stage summary)."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, reason: str, n: int = 1) -> None:
        self.counts[reason] = self.counts.get(reason, 0) + n


def count_caption_tokens(captions: Sequence[Caption], count_tokens: CountTokens) -> int:
    return sum(count_tokens(" " + c.text.strip()) for c in captions)


def segment_windows(
    captions: Sequence[Caption],
    count_tokens: CountTokens,
    duration_ms: int | None = None,
    options: WindowingOptions | None = None,
    stats: WindowingStats | None = None,
) -> list[Window]:
    """The windows of one document, in order. `captions` must be sorted by start (the parser does)."""
    opts = options or WindowingOptions()
    stats = stats if stats is not None else WindowingStats()
    builder = _WindowBuilder(count_tokens, duration_ms, opts, stats)
    if duration_ms is not None:
        within = [c for c in captions if c.end_ms - duration_ms <= opts.text_past_audio_ms]
        if len(within) < len(captions):
            stats.add("captions_past_audio", len(captions) - len(within))
        captions = within
    n = len(captions)
    if n == 0:
        return []
    window_ms = opts.window_ms
    start = captions[0].start_ms
    current: list[Caption] = []
    i = 0
    while i < n and not builder.full:
        caption = captions[i]
        if caption.end_ms - start <= window_ms:
            current.append(caption)
            i += 1
            continue
        if current:  # rule 3
            builder.speech(start, current, is_last=False)
            start = max(start, current[-1].end_ms)
            current = []
            continue
        gap = caption.start_ms - start
        if gap >= window_ms:  # rule 4
            for _ in range(gap // window_ms):
                builder.no_speech(start)
                start += window_ms
                if builder.full:
                    break
            continue
        if gap > 0:  # rule 5
            builder.gap(start, caption.start_ms)
            start = caption.start_ms
            continue
        stats.add("over_30s_caption")  # rule 6
        i += 1
        if i < n:
            start = max(start, captions[i].start_ms)
    if current and not builder.full:
        builder.speech(start, current, is_last=True)
        current = []
    if builder.full and (i < n or current):
        stats.add("docs_capped")
    return builder.windows


class _WindowBuilder:
    def __init__(self, count_tokens: CountTokens, duration_ms: int | None, opts: WindowingOptions, stats):
        self.count_tokens = count_tokens
        self.duration_ms = duration_ms
        self.opts = opts
        self.stats = stats
        self.windows: list[Window] = []

    @property
    def full(self) -> bool:
        return 0 < self.opts.max_segments <= len(self.windows)

    def _audio_end(self, start: int, nominal_end: int) -> int | None:
        """Nominal audio end clipped to the recording; None when too little audio is left."""
        end = nominal_end if self.duration_ms is None else min(nominal_end, self.duration_ms)
        if end - start < self.opts.min_ms:
            self.stats.add("beyond_audio" if self.duration_ms is not None and end < nominal_end else "too_short")
            return None
        return end

    def no_speech(self, start: int) -> None:
        end = self._audio_end(start, start + self.opts.window_ms)
        if end is None:
            return
        self.windows.append(Window("no_speech", start, start + self.opts.window_ms, end))

    def gap(self, start: int, caption_start: int) -> None:
        if caption_start - start < self.opts.min_ms:
            self.stats.add("too_short")
            return
        end = self._audio_end(start, start + self.opts.window_ms)
        if end is None:
            return
        self.windows.append(Window("gap", start, caption_start, end))

    def speech(self, start: int, captions: list[Caption], is_last: bool) -> None:
        text_end = captions[-1].end_ms
        if text_end - start < self.opts.min_ms:
            self.stats.add("too_short")
            return
        try:
            text_tokens = count_caption_tokens(captions, self.count_tokens)
        except Exception:  # a tokenizer failure on odd text drops the window, never the document
            self.stats.add("bad_text")
            return
        n_ts = text_tokens + 2 * len(captions) + (0 if is_last else 1) + 2
        n_no_ts = text_tokens + 3
        ts_ok, no_ts_ok = n_ts <= self.opts.max_tokens, n_no_ts <= self.opts.max_tokens
        if not ts_ok and not no_ts_ok:
            self.stats.add("over_ctx_len")
            return
        end = self._audio_end(start, text_end if is_last else start + self.opts.window_ms)
        if end is None:
            return
        self.windows.append(
            Window(
                "speech",
                start,
                text_end,
                end,
                tuple(captions),
                ts_mode=ts_ok,
                no_ts_mode=no_ts_ok,
                only_no_ts_mode=any(c.start_ms < start for c in captions),
                num_tokens_ts_mode=n_ts,
                num_tokens_no_ts_mode=n_no_ts,
            )
        )
