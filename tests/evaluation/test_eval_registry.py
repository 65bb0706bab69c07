"""Every registry entry is well formed: 21 sets (14 short, 7 long), sources, access, how-to-obtain lines."""

from __future__ import annotations

import re

import pytest

from olmoasr.errors import UsageError
from olmoasr.evaluation import REGISTRY, HubSource, LocalSource, all_sets, get_set, parse_sets
from olmoasr.evaluation.local import known_layouts
from olmoasr.evaluation.registry import ACCESS_LEVELS, PARQUET_CONVERSION

PAPER_SHORT = {
    "librispeech_clean", "librispeech_other", "tedlium", "wsj", "callhome", "switchboard", "common_voice",
    "artie", "coraal", "chime6", "ami_ihm", "ami_sdm", "voxpopuli", "fleurs",
}  # fmt: skip
PAPER_LONG = {"tedlium", "meanwhile", "kincaid46", "rev16", "earnings21", "earnings22", "coraal"}
NOT_ON_THE_HUB = {"wsj", "callhome", "switchboard", "coraal", "long:coraal", "long:kincaid46", "artie", "chime6",
                  "common_voice"}  # fmt: skip


def test_the_papers_21_sets():
    assert len(REGISTRY) == 21
    assert {s.name for s in all_sets("short")} == PAPER_SHORT
    assert {s.name.removeprefix("long:") for s in all_sets("long")} == PAPER_LONG
    assert all(s.name.startswith("long:") == (s.form == "long") for s in all_sets())


@pytest.mark.parametrize("entry", all_sets(), ids=lambda s: s.name)
def test_entry_is_well_formed(entry):
    assert re.fullmatch(r"(long:)?[a-z0-9_]+", entry.name)
    assert entry.access in ACCESS_LEVELS
    assert entry.title and entry.size and entry.obtain.endswith(".")
    assert ":" not in entry.file_stem
    if isinstance(entry.source, HubSource):
        assert entry.access in ("free", "gated")
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", entry.source.repo_id)
        assert entry.source.split == "test" and entry.source.text_field and entry.source.audio_column == "audio"
        assert entry.source.revision in (None, PARQUET_CONVERSION)
        assert entry.name not in NOT_ON_THE_HUB
    else:
        assert isinstance(entry.source, LocalSource)
        assert entry.access in ("paid", "manual")
        assert entry.source.layout in known_layouts()
        assert "<data-root>" in entry.obtain and entry.source.folder in entry.obtain
        assert entry.name in NOT_ON_THE_HUB


def test_spec_sources_of_hub_sets():
    assert get_set("fleurs").source == HubSource("google/fleurs", "en_us", "test", "transcription", "audio",
                                                 PARQUET_CONVERSION)  # fmt: skip
    assert get_set("long:rev16").source.config == "whisper_subset"
    assert get_set("long:earnings22").source.text_field == "transcription"
    assert get_set("ami_sdm").source.config == "sdm"


def test_parse_sets_names_groups_and_aliases():
    assert [s.name for s in parse_sets("librispeech_clean, long:earnings21,librispeech_clean")] == [
        "librispeech_clean",
        "long:earnings21",
    ]
    assert [s.name for s in parse_sets(["test-other", "LONG:TEDLIUM", "short:tedlium"])] == [
        "librispeech_other",
        "long:tedlium",
        "tedlium",
    ]
    assert len(parse_sets("short")) == 14 and len(parse_sets("long")) == 7 and len(parse_sets("all")) == 21


def test_unknown_set_is_one_line_naming_the_known_ones():
    with pytest.raises(UsageError) as err:
        get_set("librispeech")
    message = str(err.value)
    assert "\n" not in message and "librispeech_clean" in message and "--list" in message


def test_cli_list_shows_every_set(capsys):
    from olmoasr.cli.main import run

    assert run(["eval", "--list"]) == 0
    out = capsys.readouterr().out
    for entry in all_sets():
        assert entry.name in out
    for access in ACCESS_LEVELS:
        if access != "gated":
            assert access in out


def test_published_tables_cover_every_set_and_the_paper_averages():
    from olmoasr.evaluation.published import LONG_FORM, SHORT_FORM

    assert set(SHORT_FORM) | set(LONG_FORM) == set(REGISTRY)
    # Report Tables 4 and 5: averages per model (spec §10)
    short_avg = [round(sum(row[i] for row in SHORT_FORM.values()) / 14, 1) for i in range(6)]
    long_avg = [round(sum(row[i] for row in LONG_FORM.values()) / 7, 1) for i in range(6)]
    assert short_avg == [20.5, 16.6, 13.8, 12.8, 13.0, 12.6]
    assert long_avg == [15.6, 12.9, 11.5, 11.0, 11.4, 11.5]


@pytest.mark.parametrize(
    ("model", "column", "wer"),
    [
        ("small", "small", 3.0),
        ("tiny.en", "tiny", 5.1),
        ("/cache/OLMoASR-medium-v2.en.pt", "medium", 3.5),
        ("OLMoASR-large.en-v2.pt", "large-v2", 2.7),
        ("./runs/small/export.pt", None, None),
    ],
)
def test_published_wer_for_model_names(model, column, wer):
    from olmoasr.evaluation.published import paper_model, published_wer

    assert paper_model(model) == column
    assert published_wer(model, "librispeech_clean") == wer
