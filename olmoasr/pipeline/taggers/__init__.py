"""Taggers: one module per tag of spec §3, registered by name in `registry.py`."""

from olmoasr.pipeline.taggers.base import LEVELS, Level, TagContext, Tagger
from olmoasr.pipeline.taggers.registry import TAGGERS, tagger_names

__all__ = ["LEVELS", "TAGGERS", "Level", "TagContext", "Tagger", "tagger_names"]
