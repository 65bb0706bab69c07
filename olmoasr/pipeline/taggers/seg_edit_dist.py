"""`seg_edit_dist`: manual vs aligned machine text of one segment (prep's `mach_seg_*`), spec §2.5.

The rule of `edit_dist`; a segment without aligned machine text (its document had no machine transcript)
gets null, counted as `no_machine_segment`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from olmoasr.pipeline.taggers.edit_dist import EditDistTagger


@dataclass
class SegEditDistTagger(EditDistTagger):
    name: ClassVar[str] = "seg_edit_dist"
    field: ClassVar[str] = "seg_edit_dist"
    levels: ClassVar[tuple] = ("segment",)
