"""The tagger abstraction: one small unit that reads a record's transcript and returns one tag value.

A tagger sees a `TagContext` (the parsed caption texts, the joined manual text, the machine text when
there is one, the record's duration) and returns a JSON value. The stage writes it under the tagger's
field and turns `bucket(value)` into counted statistics (records and seconds per bucket), so every tag
shows up in the run summary the way the original's `*_cumulative_stats.log` did.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Literal

from olmoasr.errors import TranscriptError
from olmoasr.text.normalize import normalize_caption_text

Level = Literal["document", "segment"]
LEVELS: tuple[Level, ...] = ("document", "segment")


class TagContext:
    """What every tagger reads for one record. Machine text is computed only if a tagger asks for it."""

    __slots__ = (
        "captions",
        "man_text",
        "duration_s",
        "level",
        "_mach_loader",
        "_mach_text",
        "_mach_unparseable",
        "_normalized",
    )

    def __init__(
        self,
        captions: Sequence[str],
        man_text: str,
        duration_s: float = 0.0,
        level: Level = "document",
        mach_text: str | None = None,
        mach_loader: Callable[[], str | None] | None = None,
    ):
        self.captions = captions
        self.man_text = man_text
        self.duration_s = duration_s
        self.level = level
        self._mach_text = mach_text
        self._mach_loader = mach_loader
        self._mach_unparseable = False
        self._normalized: dict[str, str] = {}

    @property
    def mach_text(self) -> str | None:
        """The machine transcript's text, or None when the record has none (or one that does not parse:
        `mach_unparseable`). The loader returns None for no transcript and raises TranscriptError for one
        that does not parse."""
        if self._mach_loader is not None:
            try:
                self._mach_text = self._mach_loader()
            except TranscriptError:
                self._mach_text, self._mach_unparseable = None, True
            self._mach_loader = None
        return self._mach_text

    @property
    def mach_unparseable(self) -> bool:
        """True when the machine text is None because the machine transcript does not parse."""
        return self.mach_text is None and self._mach_unparseable

    def normalized(self, text: str) -> str:
        """`normalize_caption_text(text)`, computed once per record for every tagger that compares texts."""
        out = self._normalized.get(text)
        if out is None:
            out = self._normalized[text] = normalize_caption_text(text)
        return out


@dataclass
class Tagger(ABC):
    """Base class. Subclasses set `name` (the YAML `tag:` value) and `field`, and implement `tag`.

    Dataclass fields of a subclass are its YAML options; any other key in a config is rejected at load time.
    """

    name: ClassVar[str]
    field: ClassVar[str]
    levels: ClassVar[tuple[Level, ...]] = LEVELS

    def __post_init__(self) -> None:
        self.events: Counter[str] = Counter()

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def output_field(self, level: Level) -> str:
        """Segment-level tags get a `seg_` prefix, so the document tags that prep copied into each
        segment (and that the filter configs test) are never overwritten."""
        if level == "segment" and not self.field.startswith("seg_"):
            return "seg_" + self.field
        return self.field

    @abstractmethod
    def tag(self, ctx: TagContext) -> Any:
        """The tag value for one record (a JSON value)."""

    def bucket(self, value: Any) -> str | None:
        """The statistics bucket a value falls in (None: no per-bucket statistics)."""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            return value
        return None

    def note(self, event: str) -> None:
        """Count an event (e.g. a language-id error) that ends up in the stage's statistics."""
        self.events[event] += 1
