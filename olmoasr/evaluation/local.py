"""Evaluation data on local disk: JSONL manifests and the documented folders of paid / manual sets.

Each reader yields `Utterance`s lazily. A row that cannot be used (missing file, missing text) is yielded
with `problem` set, so the runner counts and reports it and goes on with the rest.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from olmoasr.errors import InputError, UsageError
from olmoasr.evaluation.registry import EvalSet, LocalSource
from olmoasr.evaluation.sources import AudioSlice, Utterance
from olmoasr.io.jsonl import iter_jsonl


def read_manifest(path: Path, text_field: str = "text", audio_field: str = "audio") -> Iterator[Utterance]:
    """`{"audio": path, "text": reference}` lines (`id` optional); relative paths are relative to the manifest."""
    for line_no, record in iter_jsonl(path):
        uid = str(record.get("id") or f"{path.stem}:{line_no}")
        audio, text = record.get(audio_field), record.get(text_field)
        problem = None
        if not isinstance(audio, str) or not audio:
            problem = f"{path}:{line_no}: no '{audio_field}' field (the audio file's path)"
        elif not isinstance(text, str):
            problem = f"{path}:{line_no}: no '{text_field}' field (the reference text)"
        audio_path = str(_relative_to(path.parent, audio)) if isinstance(audio, str) and audio else None
        yield Utterance(uid, text if isinstance(text, str) else "", audio_path, problem)


def _relative_to(base: Path, name: str) -> Path:
    candidate = Path(name)
    return candidate if candidate.is_absolute() else base / candidate


def _require(folder: Path, relative: str, entry: EvalSet) -> Path:
    path = folder / relative
    if not path.exists():
        raise UsageError(f"{path} not found. {entry.name}: {entry.obtain}")
    return path


def _file_utterance(uid: str, text: str, audio: Path, where: str) -> Utterance:
    problem = None if audio.is_file() else f"{where}: audio {audio} not found"
    return Utterance(uid, text, str(audio), problem)


# ---- WSJ: a Kaldi data directory -------------------------------------------------------------------


def read_kaldi_dir(entry: EvalSet, folder: Path) -> Iterator[Utterance]:
    """`text` (`<utt> <words>`) + `wav.scp` (`<utt> <path>` or `<utt> sph2pipe ... <path> |`), never run as shell."""
    text_path, scp_path = _require(folder, "text", entry), _require(folder, "wav.scp", entry)
    audio: dict[str, str] = {}
    for line_no, line in enumerate(scp_path.read_text(encoding="utf-8").splitlines(), start=1):
        parts = line.split()
        if len(parts) < 2:
            continue
        found = _audio_in_command(parts[1:])
        if found is None:
            raise InputError(str(scp_path), "bad_wav_scp", "no audio file named in this entry", line_no)
        audio[parts[0]] = str(_relative_to(folder, found))
    for line_no, line in enumerate(text_path.read_text(encoding="utf-8").splitlines(), start=1):
        uid, _, words = line.strip().partition(" ")
        if not uid:
            continue
        if uid not in audio:
            yield Utterance(uid, words, None, f"{text_path}:{line_no}: {uid} has no wav.scp entry")
            continue
        yield _file_utterance(uid, words.strip(), Path(audio[uid]), f"{scp_path}")


_AUDIO_SUFFIXES = (".wv1", ".wv2", ".sph", ".wav", ".flac")


def _audio_in_command(tokens: list[str]) -> str | None:
    """The audio path of a wav.scp entry: the plain path, or the file a `sph2pipe`/`sox` pipeline reads."""
    if len(tokens) == 1:
        return tokens[0]
    candidates = [t for t in tokens if t.lower().endswith(_AUDIO_SUFFIXES) and not t.startswith("-")]
    return candidates[0] if candidates else None


# ---- Hub5'00 (CallHome and Switchboard halves) -----------------------------------------------------


STM_FILE = "2000_hub5_eng_eval_tr/reference/hub5e00.english.000405.stm"
HUB5_AUDIO = "hub5e_00/english"


def read_hub5(entry: EvalSet, folder: Path) -> Iterator[Utterance]:
    """STM lines `<conv> <A|B> <speaker> <start> <end> <label> <words>`; `en_*` = CallHome, `sw_*` = Switchboard."""
    stm = _require(folder, STM_FILE, entry)
    prefix = "en" if entry.name == "callhome" else "sw"
    audio_dir = folder / HUB5_AUDIO
    lines = []
    with stm.open(encoding="utf-8", errors="replace") as fh:
        for line_no, line in enumerate(fh, start=1):
            if line.startswith(";;") or not line.startswith(prefix):
                continue
            parts = line.split(maxsplit=5)
            if len(parts) < 5:
                continue
            words = parts[5] if len(parts) == 6 else ""
            if words.startswith("<"):  # optional `<O,en,F,en-F>` label
                words = words.split(maxsplit=1)[1] if " " in words.strip() else ""
            lines.append((parts[0], parts[1], float(parts[3]), float(parts[4]), words.strip(), line_no))
    lines.sort(key=lambda item: (item[0], item[1], item[2]))  # one conversation channel at a time
    for conv, side, start, end, words, line_no in lines:
        sph = audio_dir / f"{conv}.sph"
        uid = f"{conv}_{side}_{int(start * 100):06d}_{int(end * 100):06d}"
        channel = 0 if side.upper() == "A" else 1
        problem = None if sph.is_file() else f"{stm}:{line_no}: audio {sph} not found"
        yield Utterance(uid, words, AudioSlice(str(sph), start, end, channel), problem)


# ---- Common Voice 5.1 and Artie: a TSV with `path` and `sentence` columns --------------------------


def read_common_voice(entry: EvalSet, folder: Path) -> Iterator[Utterance]:
    tsv = _require(folder, "en/test.tsv", entry)
    yield from _read_path_sentence_tsv(tsv, [tsv.parent / "clips", tsv.parent])


def read_artie(entry: EvalSet, folder: Path) -> Iterator[Utterance]:
    tsv = _require(folder, "artie-bias-corpus.tsv", entry)
    yield from _read_path_sentence_tsv(tsv, [folder, folder / "data", folder / "clips"])


def _read_path_sentence_tsv(tsv: Path, audio_dirs: list[Path]) -> Iterator[Utterance]:
    with tsv.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, [])
        path_col = header.index("path") if "path" in header else 1
        text_col = header.index("sentence") if "sentence" in header else 2
        for line_no, row in enumerate(reader, start=2):
            if len(row) <= max(path_col, text_col):
                yield Utterance(f"{tsv.stem}:{line_no}", "", None, f"{tsv}:{line_no}: too few columns")
                continue
            name = row[path_col]
            audio = next((d / name for d in audio_dirs if (d / name).is_file()), audio_dirs[0] / name)
            yield _file_utterance(Path(name).stem, row[text_col], audio, f"{tsv}:{line_no}")


# ---- CORAAL (short-form): pre-segmented utterances ------------------------------------------------

_CORAAL_SPANS = re.compile(r"\([^)]*\)|<[^>]*>|\{[^}]*\}|\[[^\]]*\]")
_CORAAL_MARKERS = re.compile(r"/(?:unintelligible|inaudible|RD[^/]*|\?)/", re.IGNORECASE)


def clean_coraal_text(text: str) -> str:
    """CORAAL transcription conventions -> plain words (as the paper's preparation did)."""
    text = _CORAAL_MARKERS.sub(" ", text)
    text = _CORAAL_SPANS.sub(" ", text)
    text = re.sub(r"\baks\b", "ask", text, flags=re.IGNORECASE)
    text = re.sub(r"\bbusses\b", "buses", text, flags=re.IGNORECASE)
    return " ".join(text.split())


def read_coraal_segments(entry: EvalSet, folder: Path) -> Iterator[Utterance]:
    table = _require(folder, "CORAAL_transcripts.csv", entry)
    with table.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = [h.strip().lower() for h in next(reader, [])]
        if "content" not in header or "source" not in header:
            raise InputError(str(table), "bad_header", "header must name the columns 'source' and 'content'", 1)
        source_col, text_col = header.index("source"), header.index("content")
        for line_no, row in enumerate(reader, start=2):
            if len(row) <= max(source_col, text_col):
                yield Utterance(f"coraal:{line_no}", "", None, f"{table}:{line_no}: too few columns")
                continue
            audio = folder / "CORAAL_audio" / row[source_col] / row[0]
            yield _file_utterance(Path(row[0]).stem, clean_coraal_text(row[text_col]), audio, f"{table}:{line_no}")


# ---- CHiME-6: session JSON transcripts, worn-microphone audio cut per utterance --------------------


def read_chime6(entry: EvalSet, folder: Path) -> Iterator[Utterance]:
    transcripts = _require(folder, "transcriptions/eval", entry)
    audio_dir = folder / "audio" / "eval"
    items = []
    for session_file in sorted(transcripts.glob("*.json")):
        try:
            rows = json.loads(session_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise InputError(str(session_file), "bad_json", f"not a CHiME-6 transcript ({err})") from None
        for index, row in enumerate(rows):
            try:
                start, end = _hms(row["start_time"]), _hms(row["end_time"])
                items.append((row["session_id"], row["speaker"], start, end, row["words"], session_file, index))
            except (KeyError, TypeError, ValueError):
                items.append(("?", "?", 0.0, 0.0, "", session_file, index))
    items.sort(key=lambda item: (item[0], item[1], item[2]))  # decode each worn-mic recording once
    for session, speaker, start, end, words, session_file, index in items:
        if session == "?":
            yield Utterance(f"{session_file.stem}:{index}", "", None, f"{session_file}: entry {index} malformed")
            continue
        wav = audio_dir / f"{session}_{speaker}.wav"
        uid = f"{session}_{speaker}_{int(start * 1000):07d}_{int(end * 1000):07d}"
        problem = None if wav.is_file() else f"{session_file}: audio {wav} not found"
        yield Utterance(uid, words, AudioSlice(str(wav), start, end), problem)


def _hms(value: str) -> float:
    hours, minutes, seconds = value.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


# ---- long-form manual sets ------------------------------------------------------------------------


def read_kincaid46(entry: EvalSet, folder: Path) -> Iterator[Utterance]:
    """`text.csv`: a header row, then one row per recording in order, transcript in column index 5."""
    table = _require(folder, "text.csv", entry)
    with table.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        next(reader, None)
        for index, row in enumerate(reader):
            line_no = index + 2
            audio = folder / "audio" / f"{index:02d}.m4a"
            if len(row) < 6:
                yield Utterance(f"kincaid46:{index:02d}", "", None, f"{table}:{line_no}: fewer than 6 columns")
                continue
            yield _file_utterance(f"kincaid46:{index:02d}", row[5], audio, f"{table}:{line_no}")


def read_coraal_long(entry: EvalSet, folder: Path) -> Iterator[Utterance]:
    yield from read_manifest(_require(folder, "coraal_transcripts.jsonl", entry))


_LAYOUTS: dict[str, Callable[[EvalSet, Path], Iterator[Utterance]]] = {
    "kaldi_dir": read_kaldi_dir,
    "hub5": read_hub5,
    "common_voice": read_common_voice,
    "tsv_path_sentence": read_artie,
    "coraal_segments": read_coraal_segments,
    "chime6": read_chime6,
    "kincaid46": read_kincaid46,
    "jsonl_audio_text": read_coraal_long,
}


def read_layout(entry: EvalSet, folder: Path) -> Iterator[Utterance]:
    assert isinstance(entry.source, LocalSource)
    return _LAYOUTS[entry.source.layout](entry, folder)


def known_layouts() -> set[str]:
    return set(_LAYOUTS)
