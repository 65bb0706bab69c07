"""`text_lang`: pycld2's top-1 language code of the manual text (`un` = unknown), spec §3.

cld2 runs in plain-text mode: the caption text has its entities decoded already, and in cld2's default
HTML mode a decoded `<` starts "markup" that hides the rest of the text (a French transcript with `x<y`
in its first line came out `en`). An error from the detector gives `un` and is counted
(`text_lang:errors`) - never a silent `en`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pycld2

from olmoasr.pipeline.taggers.base import TagContext, Tagger

UNKNOWN = "un"


def _printable(text: str) -> str:
    # cld2 rejects control characters (\x00-\x1f, \x7f) and lone surrogates; keep the readable text.
    return "".join(ch if ch.isprintable() and not 0xD800 <= ord(ch) <= 0xDFFF else " " for ch in text)


def detect_text_language(text: str) -> tuple[str, bool]:
    """(code, ok). Retries once on a cleaned copy; `("un", False)` if cld2 still fails."""
    try:
        return pycld2.detect(text, isPlainText=True)[2][0][1], True
    except (pycld2.error, UnicodeError, ValueError):
        pass
    try:
        return pycld2.detect(_printable(text), isPlainText=True)[2][0][1], True
    except (pycld2.error, UnicodeError, ValueError):
        return UNKNOWN, False


@dataclass
class TextLangTagger(Tagger):
    name: ClassVar[str] = "text_lang"
    field: ClassVar[str] = "text_lang"

    def tag(self, ctx: TagContext) -> str:
        code, ok = detect_text_language(ctx.man_text)
        if not ok:
            self.note("errors")
        return code

    def bucket(self, value: object) -> str | None:
        return value if value in ("en", UNKNOWN) else "other"
