"""The 21 evaluation sets of the OLMoASR paper (spec §8.2): where each comes from, how to get it, what it costs.

Short-form sets are named plainly (`librispeech_clean`); long-form sets carry a `long:` prefix
(`long:earnings21`), so `tedlium` and `long:tedlium` are different sets. Hub sources name parquet data
(datasets >= 4 runs no loading scripts): script-only repositories are read from their
`refs/convert/parquet` revision. Sets that are paid (LDC) or must be fetched by hand are read from a
documented folder under `--data-root`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from olmoasr.errors import UsageError

Form = Literal["short", "long"]
Access = Literal["free", "gated", "paid", "manual"]

FORMS = ("short", "long")
ACCESS_LEVELS = ("free", "gated", "paid", "manual")
PARQUET_CONVERSION = "refs/convert/parquet"


@dataclass(frozen=True)
class HubSource:
    repo_id: str
    config: str | None
    split: str
    text_field: str
    audio_column: str = "audio"
    revision: str | None = None

    def describe(self) -> str:
        config = f" config={self.config}" if self.config else ""
        revision = f" revision={self.revision}" if self.revision else ""
        return f"hf:{self.repo_id}{config} split={self.split} text={self.text_field}{revision}"


@dataclass(frozen=True)
class LocalSource:
    layout: str  # the loader in olmoasr.evaluation.local that reads this layout
    folder: str  # the folder under --data-root
    files: str  # what must be inside it, relative to the folder

    def describe(self) -> str:
        return f"local:<data-root>/{self.folder}/ ({self.files})"


@dataclass(frozen=True)
class EvalSet:
    name: str
    title: str  # the column name in the paper's tables
    form: Form
    source: HubSource | LocalSource
    access: Access
    size: str
    obtain: str  # one sentence: how to get it (and, for local sets, where to put it)

    @property
    def is_hub(self) -> bool:
        return isinstance(self.source, HubSource)

    @property
    def file_stem(self) -> str:
        """A file-system friendly name (`long:tedlium` -> `long_tedlium`)."""
        return self.name.replace(":", "_")


def _hub(repo, config, split, text, audio="audio", revision=None) -> HubSource:
    return HubSource(repo, config, split, text, audio, revision)


_ESB = "hf-audio/esb-datasets-test-only-sorted"  # the Open ASR Leaderboard's parquet copies

_SETS: tuple[EvalSet, ...] = (
    # ---- short-form (report Table 4), greedy decoding of <= 30 s utterances ----
    EvalSet(
        "librispeech_clean", "LibriSpeech test-clean", "short",
        _hub("openslr/librispeech_asr", "clean", "test", "text"), "free",
        "2,620 utterances, 5.4 h, ~350 MB",
        "Downloaded from the Hub on first use (parquet).",
    ),
    EvalSet(
        "librispeech_other", "LibriSpeech test-other", "short",
        _hub("openslr/librispeech_asr", "other", "test", "text"), "free",
        "2,939 utterances, 5.3 h, ~330 MB",
        "Downloaded from the Hub on first use (parquet).",
    ),
    EvalSet(
        "tedlium", "TED-LIUM3", "short",
        _hub(_ESB, "tedlium", "test", "text"), "free",
        "TED-LIUM 3 test talks as ~1.2 k utterances, 2.6 h",
        "Downloaded from the Hub on first use (the Open ASR Leaderboard's parquet copy of TED-LIUM 3 test).",
    ),
    EvalSet(
        "wsj", "WSJ", "short",
        LocalSource("kaldi_dir", "wsj", "Kaldi data dir of test_eval92: `text` and `wav.scp`"), "paid",
        "test_eval92: 333 utterances, 0.7 h",
        "Buy LDC93S6B (WSJ0) and LDC94S13B (WSJ1), run Kaldi's egs/wsj/s5 data prep, then copy "
        "data/test_eval92/{text,wav.scp} to <data-root>/wsj/ (wav.scp may name .wv1/.wav files or sph2pipe commands).",
    ),
    EvalSet(
        "callhome", "CallHome", "short",
        LocalSource("hub5", "hub5_2000", "2000_hub5_eng_eval_tr/reference/hub5e00.english.000405.stm and "
                    "hub5e_00/english/<conversation>.sph"), "paid",
        "Hub5'00 CallHome half: 20 conversations",
        "Buy LDC2002S09 (speech) and LDC2002T43 (transcripts) and extract both into <data-root>/hub5_2000/.",
    ),
    EvalSet(
        "switchboard", "Switchboard", "short",
        LocalSource("hub5", "hub5_2000", "2000_hub5_eng_eval_tr/reference/hub5e00.english.000405.stm and "
                    "hub5e_00/english/<conversation>.sph"), "paid",
        "Hub5'00 Switchboard half: 20 conversations",
        "Buy LDC2002S09 (speech) and LDC2002T43 (transcripts) and extract both into <data-root>/hub5_2000/.",
    ),
    EvalSet(
        "common_voice", "CommonVoice 5.1", "short",
        LocalSource("common_voice", "common_voice_5_1", "en/test.tsv and en/clips/*.mp3"), "manual",
        "English test split of Common Voice 5.1, ~16 k clips",
        "Mozilla removed Common Voice from the Hub in 2025: download 'Common Voice Corpus 5.1' (English) from "
        "the Mozilla Data Collective and extract its en/ folder to <data-root>/common_voice_5_1/en/.",
    ),
    EvalSet(
        "artie", "Artie", "short",
        LocalSource("tsv_path_sentence", "artie_bias_corpus", "artie-bias-corpus.tsv and the audio it names"),
        "manual", "1,712 utterances, 2.4 h",
        "The original URL (ml-corpora.artie.com) is dead; get artie-bias-corpus.tar.gz (the OLMoASR README "
        "points to a copy in the allenai/OLMoASR Hub repo) and extract it to <data-root>/artie_bias_corpus/.",
    ),
    EvalSet(
        "coraal", "CORAAL", "short",
        LocalSource("coraal_segments", "coraal", "CORAAL_transcripts.csv (segment_filename, ..., source, ..., "
                    "content) and CORAAL_audio/<source>/<segment_filename>"), "manual",
        "pre-segmented CORAAL interviews (Whisper paper: 14.8 h)",
        "Download CORAAL from oraal.uoregon.edu/coraal, cut it into utterances, and write "
        "<data-root>/coraal/CORAAL_transcripts.csv plus CORAAL_audio/<source>/ as described in the docs.",
    ),
    EvalSet(
        "chime6", "CHiME6", "short",
        LocalSource("chime6", "chime6", "transcriptions/eval/<session>.json and audio/eval/<session>_<speaker>.wav"),
        "manual", "eval sessions S01 and S21 (worn microphones), ~5 h",
        "Download CHiME6_eval.tar.gz and CHiME6_transcriptions.tar.gz from openslr.org/150 and extract "
        "transcriptions/eval/ and the worn-microphone audio/eval/ wavs into <data-root>/chime6/.",
    ),
    EvalSet(
        "ami_ihm", "AMI-IHM", "short",
        _hub("edinburghcstr/ami", "ihm", "test", "text", revision=PARQUET_CONVERSION), "free",
        "16 eval meetings, 12.6 k utterances, 8.7 h",
        "Downloaded from the Hub on first use (parquet conversion of edinburghcstr/ami).",
    ),
    EvalSet(
        "ami_sdm", "AMI-SDM", "short",
        _hub("edinburghcstr/ami", "sdm", "test", "text", revision=PARQUET_CONVERSION), "free",
        "16 eval meetings, 12.6 k utterances, 8.7 h",
        "Downloaded from the Hub on first use (parquet conversion of edinburghcstr/ami).",
    ),
    EvalSet(
        "voxpopuli", "VoxPopuli", "short",
        _hub(_ESB, "voxpopuli", "test", "text"), "free",
        "English test split, 1,842 utterances, 4.9 h",
        "Downloaded from the Hub on first use (the Open ASR Leaderboard's parquet copy of facebook/voxpopuli en).",
    ),
    EvalSet(
        "fleurs", "Fleurs", "short",
        _hub("google/fleurs", "en_us", "test", "transcription", revision=PARQUET_CONVERSION), "free",
        "en_us test, 647 utterances, 1.8 h",
        "Downloaded from the Hub on first use (parquet conversion of google/fleurs).",
    ),
    # ---- long-form (report Table 5), whole recordings, beam 5 with temperature fallback ----
    EvalSet(
        "long:tedlium", "TED-LIUM3 (long-form)", "long",
        _hub("distil-whisper/tedlium-long-form", None, "test", "text"), "free",
        "11 full TED talks, 2.6 h",
        "Downloaded from the Hub on first use.",
    ),
    EvalSet(
        "long:meanwhile", "Meanwhile", "long",
        _hub("distil-whisper/meanwhile", None, "test", "text"), "free",
        "64 'Meanwhile' segments of The Late Show, ~1 h",
        "Downloaded from the Hub on first use.",
    ),
    EvalSet(
        "long:kincaid46", "Kincaid46", "long",
        LocalSource("kincaid46", "kincaid46", "text.csv (header row, transcript in column 6) and audio/00.m4a ... "
                    "audio/45.m4a"), "manual",
        "46 recordings (Jason Kincaid's ASR comparison)",
        "Fetch the 46 recordings and transcripts of Jason Kincaid's 2018 ASR comparison and place text.csv and "
        "audio/NN.m4a under <data-root>/kincaid46/.",
    ),
    EvalSet(
        "long:rev16", "Rev16", "long",
        _hub("distil-whisper/rev16", "whisper_subset", "test", "transcription"), "free",
        "16 podcast episodes",
        "Downloaded from the Hub on first use.",
    ),
    EvalSet(
        "long:earnings21", "Earnings-21", "long",
        _hub("distil-whisper/earnings21", "full", "test", "transcription"), "free",
        "44 earnings calls, 39 h",
        "Downloaded from the Hub on first use.",
    ),
    EvalSet(
        "long:earnings22", "Earnings-22", "long",
        _hub("distil-whisper/earnings22", "full", "test", "transcription"), "free",
        "125 earnings calls, 119 h",
        "Downloaded from the Hub on first use.",
    ),
    EvalSet(
        "long:coraal", "CORAAL (long-form)", "long",
        LocalSource("jsonl_audio_text", "coraal_long", "coraal_transcripts.jsonl ({\"audio\": path, \"text\": ...} "
                    "lines, paths relative to the folder)"), "manual",
        "full CORAAL interviews",
        "Download CORAAL from oraal.uoregon.edu/coraal and write <data-root>/coraal_long/coraal_transcripts.jsonl "
        "with one {\"audio\", \"text\"} line per interview.",
    ),
)  # fmt: skip

REGISTRY: dict[str, EvalSet] = {s.name: s for s in _SETS}

# Spellings users reach for; all map to registry names.
_ALIASES = {
    "librispeech-clean": "librispeech_clean",
    "librispeech-other": "librispeech_other",
    "test-clean": "librispeech_clean",
    "test-other": "librispeech_other",
    "ted-lium": "tedlium",
    "commonvoice": "common_voice",
    "common_voice_5_1": "common_voice",
    "artie_bias_corpus": "artie",
    "ami-ihm": "ami_ihm",
    "ami-sdm": "ami_sdm",
    "chime-6": "chime6",
}


def all_sets(form: Form | None = None) -> list[EvalSet]:
    return [s for s in _SETS if form is None or s.form == form]


def get_set(name: str) -> EvalSet:
    key = name.strip().lower()
    if key.startswith("short:"):
        key = key[len("short:") :]
    prefix = ""
    if key.startswith("long:"):
        prefix, key = "long:", key[len("long:") :]
    key = _ALIASES.get(key, key)
    found = REGISTRY.get(prefix + key)
    if found is None:
        known = ", ".join(REGISTRY)
        raise UsageError(f"unknown eval set '{name}' (known: {known}; `olmoasr eval --list` describes them)")
    return found


def parse_sets(spec: str | list[str] | tuple[str, ...]) -> list[EvalSet]:
    """`"librispeech_clean,long:earnings21"` (or a list) -> registry entries, in order, without duplicates.

    `all`, `short` and `long` select every set, every short-form set, every long-form set.
    """
    names = spec.split(",") if isinstance(spec, str) else list(spec)
    chosen: list[EvalSet] = []
    for raw in names:
        name = raw.strip()
        if not name:
            continue
        group = {"all": all_sets(), "short": all_sets("short"), "long": all_sets("long")}.get(name.lower())
        for entry in group if group is not None else [get_set(name)]:
            if entry not in chosen:
                chosen.append(entry)
    return chosen
