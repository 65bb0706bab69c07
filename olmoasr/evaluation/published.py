"""The OLMoASR report's WER tables (spec §10: Table 4 short-form, Table 5 long-form), for side-by-side display."""

from __future__ import annotations

from pathlib import Path

MODELS = ("tiny", "base", "small", "medium", "large", "large-v2")

# set name -> WER % for MODELS, in order
SHORT_FORM: dict[str, tuple[float, ...]] = {
    "librispeech_clean": (5.1, 3.7, 3.0, 3.5, 2.6, 2.7),
    "librispeech_other": (12.3, 9.0, 7.0, 5.7, 5.9, 5.6),
    "tedlium": (5.5, 4.6, 4.2, 5.0, 4.5, 4.2),
    "wsj": (5.6, 4.3, 3.8, 3.6, 3.7, 3.6),
    "callhome": (23.9, 20.5, 16.7, 14.3, 16.5, 15.0),
    "switchboard": (18.7, 14.0, 13.2, 12.7, 12.7, 11.7),
    "common_voice": (25.1, 18.5, 13.1, 11.3, 11.1, 11.1),
    "artie": (19.3, 13.6, 9.6, 7.5, 7.9, 7.8),
    "coraal": (25.7, 21.5, 19.6, 18.7, 18.7, 18.1),
    "chime6": (45.2, 38.0, 30.6, 28.5, 30.7, 29.4),
    "ami_ihm": (24.2, 20.4, 18.7, 16.9, 16.4, 17.1),
    "ami_sdm": (55.4, 47.8, 39.9, 38.3, 38.8, 38.0),
    "voxpopuli": (11.6, 9.7, 8.7, 8.4, 8.1, 8.0),
    "fleurs": (9.7, 6.7, 5.0, 4.4, 4.5, 4.2),
}
LONG_FORM: dict[str, tuple[float, ...]] = {
    "long:tedlium": (4.8, 3.9, 3.6, 3.3, 3.5, 3.6),
    "long:meanwhile": (12.6, 10.2, 7.4, 6.9, 8.8, 10.0),
    "long:kincaid46": (13.6, 11.2, 10.2, 9.4, 10.0, 10.1),
    "long:rev16": (14.0, 12.0, 11.5, 12.5, 11.5, 11.1),
    "long:earnings21": (14.2, 11.1, 10.1, 9.5, 9.9, 9.8),
    "long:earnings22": (20.0, 15.6, 14.0, 13.5, 13.5, 13.5),
    "long:coraal": (30.2, 26.1, 23.4, 21.9, 22.4, 22.1),
}


def paper_model(model: str) -> str | None:
    """`small`, `small.en`, `OLMoASR-small.en.pt`, `.../OLMoASR-large.en-v2.pt` -> the report's column, or None."""
    name = Path(model).name.lower().removeprefix("olmoasr-").removesuffix(".pt")
    name = name.replace(".en", "").replace("medium-v2", "medium")
    return name if name in MODELS else None


def published_wer(model: str, set_name: str) -> float | None:
    column = paper_model(model)
    row = SHORT_FORM.get(set_name) or LONG_FORM.get(set_name)
    if column is None or row is None:
        return None
    return row[MODELS.index(column)]
