"""Transcript bytes -> text, without ever replacing characters silently.

Web subtitles come in UTF-8 mostly, but also in Windows-1252, Latin-1, Shift-JIS, UTF-16 ... Decoding
them as UTF-8 with `errors="replace"` turns `café` into `caf\ufffd` in the training data. The order here:
a byte-order mark names the encoding; otherwise strict UTF-8; otherwise charset-normalizer's detector,
whose answer is counted by the caller (`DecodedText.guessed`). Among decodings the detector finds equally
plausible, Windows-1252 (the usual legacy subtitle encoding, a superset of Latin-1's letters) wins: for a
short French caption the detector cannot tell it from Central European cp1250, which would read `ï` as
`ď`. Bytes no encoding explains are a `TranscriptError`, never text with replacement characters.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from olmoasr.errors import TranscriptError

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_PREFERRED = ("cp1252", "latin_1", "iso8859_15")
_TIE = 0.01  # detector "chaos" within this of the best counts as equally plausible


@dataclass(frozen=True)
class DecodedText:
    text: str
    encoding: str
    guessed: bool  # True when neither a byte-order mark nor valid UTF-8 decided the encoding


def decode_transcript_bytes(data: bytes, source: str) -> DecodedText:
    """The text of a transcript file's bytes, or a `TranscriptError` (reason `undecodable_transcript`)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return DecodedText(data.decode(encoding), encoding, False)
            except UnicodeDecodeError as err:
                raise TranscriptError(
                    source,
                    "undecodable_transcript",
                    f"starts with a {encoding} byte-order mark but is not {encoding} (byte {err.start})",
                ) from None
    try:
        return DecodedText(data.decode("utf-8"), "utf-8", False)
    except UnicodeDecodeError:
        pass
    encoding = _detect(data)
    if encoding is None:
        raise TranscriptError(source, "undecodable_transcript", "not UTF-8 and no text encoding explains the bytes")
    return DecodedText(data.decode(encoding), encoding, True)


def _detect(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        return None
    best = min(match.chaos for match in matches)
    plausible = [match.encoding for match in matches if match.chaos <= best + _TIE]
    for encoding in _PREFERRED:
        if encoding in plausible:
            return encoding
    for encoding in plausible:
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        if "\ufffd" not in text:
            return encoding
    return None
