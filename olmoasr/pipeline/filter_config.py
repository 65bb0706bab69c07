"""Filter configs (spec §5.1): the original's YAML grammar, checked strictly when loaded.

Each step is a tiny unit with `apply(record) -> None` (keep) or a drop reason string. The kind of a
step is decided by its keys when the config loads (not by the type a record happens to carry):
- `ref_value` (or `reference_value`) a bool            -> equality;
- `ref_value` a string or a list of strings            -> membership, `comparison: in` (default) / `not_in`;
- `lower_bound` and/or `upper_bound` (+ `inclusive`)   -> numeric range (inclusive by default);
- `tag: seg_content` alone                             -> clean-up of the segment transcript text.
Unknown keys, mixed kinds and wrong value types fail at load time with the file and the key named.

Drop reasons: `<field>` (the test failed), `missing:<field>` (no such field, or null), `type:<field>`
(a value of the wrong type, e.g. a string where a number is tested).
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from olmoasr.configs import load_yaml_mapping, resolve_config
from olmoasr.errors import ConfigError, TranscriptError
from olmoasr.records.transcripts import Caption, format_transcript, parse_transcript

MISSING_POLICIES = ("drop", "pass")
DROP_REASON_KINDS = {  # why a record went, as the funnel output says it
    "test": "value failed the step",
    "missing": "no value, absent or null",
    "type": "value of the wrong type",
    "unparseable": "transcript does not parse",
}
_REF_KEYS = ("ref_value", "reference_value")


def drop_reason_kind(reason: str) -> str:
    """`missing`, `type`, `unparseable` or `test` (a bare field name) for a drop reason."""
    kind, sep, _ = reason.partition(":")
    return kind if sep and kind in DROP_REASON_KINDS else "test"


@dataclass(frozen=True)
class FilterStep(ABC):
    field: str
    kind: ClassVar[str] = "step"

    @abstractmethod
    def describe(self) -> str:
        """The step as one short line for the funnel table."""

    def test(self, value: Any) -> bool | None:
        """True keep, False drop, None: wrong value type. (Clean-up steps override `apply` instead.)"""
        return None

    def apply(self, record: dict[str, Any], missing: str = "drop") -> str | None:
        value = record.get(self.field)
        if value is None:
            return None if missing == "pass" else f"missing:{self.field}"
        result = self.test(value)
        if result is None:
            return f"type:{self.field}"
        return None if result else self.field


@dataclass(frozen=True)
class BoolEquals(FilterStep):
    ref: bool = True
    kind: ClassVar[str] = "bool"

    def describe(self) -> str:
        return f"{self.field} = {str(self.ref).lower()}"

    def test(self, value: Any) -> bool | None:
        return value is self.ref if isinstance(value, bool) else None


@dataclass(frozen=True)
class InSet(FilterStep):
    values: frozenset[str] = frozenset()
    negate: bool = False
    kind: ClassVar[str] = "category"

    def describe(self) -> str:
        listed = ", ".join(sorted(self.values))
        return f"{self.field} {'not in' if self.negate else 'in'} {{{listed}}}"

    def test(self, value: Any) -> bool | None:
        if not isinstance(value, str):
            return None
        return (value in self.values) != self.negate


@dataclass(frozen=True)
class NumericRange(FilterStep):
    lower: float | None = None
    upper: float | None = None
    inclusive: bool = True
    kind: ClassVar[str] = "range"

    def describe(self) -> str:
        lo, hi = ("[", "]") if self.inclusive else ("(", ")")
        return f"{self.field} in {lo}{'-inf' if self.lower is None else self.lower}, " + (
            f"{'inf' if self.upper is None else self.upper}{hi}"
        )

    def test(self, value: Any) -> bool | None:
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            return None
        if self.lower is not None and (value < self.lower if self.inclusive else value <= self.lower):
            return False
        return not (self.upper is not None and (value > self.upper if self.inclusive else value >= self.upper))


# Speaker labels ("John Smith :" - capitalised words each followed by a space, then a colon), the HTML
# entities &nbsp; &amp; &lt; &gt; (our parser has already unescaped them, so the characters & < > too:
# WebVTT text can only carry them escaped), "=", "..." and the "\h" hard-space escape, with the spaces
# around them, become one space.
_SEG_CONTENT_NOISE = re.compile(
    r"(?:[ \t]*(?:(?:[A-Z][^\s:]*[ \t])+:|&nbsp;|&amp;|&lt;|&gt;|[&<>=]|\.\.\.|\\h)[ \t]*)+"
)


def may_need_cleaning(content: str) -> bool:
    """Cheap test on raw content: if False, cleaning would change no caption, so the (costly) parse and
    re-serialisation are skipped. "-->" is the timing arrow, not a ">" to remove; a speaker label needs
    a space or tab before a colon."""
    return (
        "&" in content
        or "<" in content
        or "=" in content
        or "..." in content
        or "\\" in content
        or content.count(">") != content.count("-->")
        or " :" in content
        or "\t:" in content
    )


def clean_caption_text(text: str) -> str:
    return "\n".join(part.strip() for part in _SEG_CONTENT_NOISE.sub(" ", text).split("\n")).strip()


@dataclass(frozen=True)
class CleanSegContent(FilterStep):
    """Not a test: rewrites `seg_content` with every caption's text cleaned (SRT and VTT)."""

    field: str = "seg_content"
    kind: ClassVar[str] = "clean"

    def describe(self) -> str:
        return "clean seg_content"

    def apply(self, record: dict[str, Any], missing: str = "drop") -> str | None:
        content = record.get("seg_content")
        if not isinstance(content, str):
            return None if missing == "pass" else "missing:seg_content"
        if not may_need_cleaning(content):
            return None
        name = record.get("subtitle_file")
        try:
            transcript = parse_transcript(content, allow_empty=True, name=name if isinstance(name, str) else None)
        except TranscriptError:
            return "unparseable:seg_content"
        captions = [Caption(c.start_ms, c.end_ms, clean_caption_text(c.text)) for c in transcript.captions]
        record["seg_content"] = format_transcript(captions, transcript.fmt)
        return None


@dataclass(frozen=True)
class FilterConfig:
    name: str  # the YAML's `name:`; several of the original's files share one, so reports show `file_name`
    path: str
    steps: tuple[FilterStep, ...]

    @property
    def file_name(self) -> str:
        """The config file's own name without `.yaml`: what tells one shipped config from another."""
        return Path(self.path).stem


_NUMERIC_KEYS = ("lower_bound", "upper_bound", "inclusive")
_ALLOWED = ("tag", *_REF_KEYS, "comparison", *_NUMERIC_KEYS)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def parse_step(entry: Any, index: int, where_file: str) -> FilterStep:
    where = f"pipeline[{index}]"
    if not isinstance(entry, dict) or not isinstance(entry.get("tag"), str):
        raise ConfigError(where_file, f"{where}: expected a mapping with a `tag: <field>` key, got {entry!r}")
    field = entry["tag"]
    where = f"pipeline[{index}] (tag: {field})"
    for key in entry:
        if key not in _ALLOWED:
            raise ConfigError(where_file, f"{where}: unknown key '{key}' (allowed: {', '.join(_ALLOWED)})")
    refs = [k for k in _REF_KEYS if k in entry]
    bounds = [k for k in ("lower_bound", "upper_bound") if k in entry]
    if field == "seg_content" and len(entry) == 1:
        return CleanSegContent()
    if len(refs) == 2:
        raise ConfigError(where_file, f"{where}: give `ref_value` or `reference_value`, not both")
    if refs and (bounds or "inclusive" in entry):
        raise ConfigError(where_file, f"{where}: `{refs[0]}` cannot be combined with bounds/`inclusive`")
    if refs:
        ref = entry[refs[0]]
        if "comparison" in entry and entry["comparison"] not in ("in", "not_in"):
            raise ConfigError(
                where_file, f"{where}: `comparison` must be `in` or `not_in`, got {entry['comparison']!r}"
            )
        if isinstance(ref, bool):
            if "comparison" in entry:
                raise ConfigError(where_file, f"{where}: `comparison` applies to string values, not booleans")
            return BoolEquals(field, ref)
        values = [ref] if isinstance(ref, str) else ref
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            raise ConfigError(
                where_file,
                f"{where}: `{refs[0]}` must be true/false, a string or a list of strings, got {ref!r} "
                "(use lower_bound/upper_bound for numbers)",
            )
        return InSet(field, frozenset(values), entry.get("comparison", "in") == "not_in")
    if "comparison" in entry:
        raise ConfigError(where_file, f"{where}: `comparison` needs `ref_value`")
    if bounds:
        for key in bounds:
            if not _is_number(entry[key]):
                raise ConfigError(where_file, f"{where}: `{key}` must be a number, got {entry[key]!r}")
        inclusive = entry.get("inclusive", True)
        if not isinstance(inclusive, bool):
            raise ConfigError(where_file, f"{where}: `inclusive` must be true or false, got {inclusive!r}")
        lower, upper = entry.get("lower_bound"), entry.get("upper_bound")
        if lower is not None and upper is not None and lower > upper:
            raise ConfigError(where_file, f"{where}: lower_bound {lower} is above upper_bound {upper}")
        return NumericRange(field, lower, upper, inclusive)
    if "inclusive" in entry:
        raise ConfigError(where_file, f"{where}: `inclusive` needs lower_bound or upper_bound")
    raise ConfigError(where_file, f"{where}: nothing to test (give ref_value, or lower_bound/upper_bound)")


def load_filter_config(name_or_path: str | Path) -> FilterConfig:
    """Load and validate a filter YAML: a path, or a shipped name such as `text_heurs_seg_edit_dist_edit_dist`."""
    path = resolve_config(name_or_path, "filtering")
    where_file = str(path)
    data = load_yaml_mapping(path)
    for key in data:
        if key not in ("name", "pipeline"):
            raise ConfigError(where_file, f"unknown key '{key}' (allowed: name, pipeline)")
    pipeline = data.get("pipeline")
    if not isinstance(pipeline, list) or not pipeline:
        raise ConfigError(where_file, "`pipeline` must be a non-empty list of `- tag: <field>` steps")
    name = data.get("name", path.stem)
    if not isinstance(name, str):
        raise ConfigError(where_file, f"`name` must be a string, got {name!r}")
    steps = tuple(parse_step(entry, i, where_file) for i, entry in enumerate(pipeline))
    return FilterConfig(name=name, path=where_file, steps=steps)
