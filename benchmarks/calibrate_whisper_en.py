"""Calibrate the `whisper-en` backend's threshold: per-segment scores of an English-only Whisper model on
English and non-English speech that is available offline.

Data: the packaged sample shard through `prep jsonl` + `prep segment` (its `good`/`all_caps`/`repeating`/
`mistranscribed` pairs are English speech, its `non_english` pairs German and Spanish espeak-ng speech),
extra espeak-ng clips in several languages (plus English ones for contrast), and the 5 real LibriVox
utterances of Debian's pocketsphinx-testdata.

    python benchmarks/calibrate_whisper_en.py                    # needs pip install 'olmoasr[offline]'
    python benchmarks/calibrate_whisper_en.py --model PATH --write-results
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

# Two sentences per language, written for this script (read by espeak-ng).
ESPEAK_TEXTS = {
    "fr": "Le matin, le boulanger ouvre sa petite boutique avant le lever du soleil. "
    "Il prépare la pâte avec de la farine, de l'eau et du sel.",
    "de": "Am Wochenende fahren wir mit dem Zug in die Berge. "
    "Dort wandern wir durch den Wald und essen am Abend in einem kleinen Gasthaus.",
    "es": "La biblioteca del barrio abre todos los días a las nueve de la mañana. "
    "Los niños vienen por la tarde a leer cuentos y hacer sus tareas.",
    "it": "Ogni estate la famiglia passa due settimane al mare. "
    "I bambini giocano sulla spiaggia mentre i genitori leggono sotto l'ombrellone.",
    "nl": "De fietsenmaker in onze straat repareert elke dag tientallen fietsen. "
    "Hij werkt al dertig jaar in dezelfde kleine winkel.",
    "pt": "O mercado da cidade vende frutas frescas e peixe todas as manhãs. "
    "As pessoas conversam enquanto escolhem os melhores produtos.",
    "pl": "Moja babcia mieszka w małym domu na wsi. Każdego lata odwiedzamy ją i pomagamy w ogrodzie.",
}
ENGLISH_TEXT = (
    "The library in our town opens every morning at nine. "
    "Children come in the afternoon to read stories and do their homework."
)
ENGLISH_VOICES = [("espeak-ng", "en-us"), ("espeak-ng", "en-gb"), ("flite", "slt"), ("flite", "kal")]


def speak(engine: str, voice: str, text: str, path: Path) -> Path:
    if engine == "espeak-ng":
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True, capture_output=True)
    else:
        subprocess.run(["flite", "-voice", voice, "-t", text, "-o", str(path)], check=True, capture_output=True)
    return path


def sample_shard_segments(work: Path) -> list[tuple[str, str, np.ndarray]]:
    """(label, doc kind/lang, waveform) of every speech segment of the prepped sample shard."""
    from olmoasr import sample_data
    from olmoasr.io import iter_jsonl, jsonl_files
    from olmoasr.pipeline import prep_jsonl, prep_segment
    from olmoasr.pipeline.lang_id.segments import has_speech, load_segment_waveform

    raw = sample_data.extract_sample_shard(work)
    pairs = {p["id"]: p for p in json.loads((raw / "manifest.json").read_text())["pairs"]}
    prep_jsonl(raw, work / "docs", workers=1, show_progress=False)
    prep_segment(work / "docs", work / "segs", workers=1, show_progress=False)
    out = []
    for path in jsonl_files(work / "segs"):
        for _, record in iter_jsonl(path):
            if has_speech(record):
                pair = pairs[record["id"]]
                cls = "sample:non_english" if pair["kind"] == "non_english" else "sample:english"
                out.append(
                    (cls, f"{record['seg_id']} {pair['kind']}/{pair['language']}", load_segment_waveform(record))
                )
    return out


def espeak_clips(work: Path) -> list[tuple[str, str, np.ndarray]]:
    from olmoasr.audio import load_audio

    out = []
    if shutil.which("espeak-ng"):
        for lang, text in ESPEAK_TEXTS.items():
            out.append(
                (
                    "espeak:non_english",
                    f"espeak-ng {lang}",
                    load_audio(speak("espeak-ng", lang, text, work / f"{lang}.wav")),
                )
            )
    for engine, voice in ENGLISH_VOICES:
        if shutil.which(engine):
            path = speak(engine, voice, ENGLISH_TEXT, work / f"en-{engine}-{voice}.wav")
            out.append(("synth:english", f"{engine} {voice}", load_audio(path)))
    return out


def librivox_clips() -> list[tuple[str, str, np.ndarray]]:
    from olmoasr.audio import load_audio

    root = "/usr/share/pocketsphinx/test/data/librivox"
    if not os.path.isdir(root):
        return []
    names = sorted(n for n in os.listdir(root) if re.match(r".*\.wav$", n))
    return [("librivox:english", f"librivox {n}", load_audio(os.path.join(root, n))) for n in names]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="English-only checkpoint (default: the offline tiny.en)")
    parser.add_argument("--write-results", action="store_true", help="write the table into benchmarks/RESULTS.md")
    args = parser.parse_args()

    import torch

    from olmoasr.pipeline.lang_id.whisper_en import (
        DEFAULT_THRESHOLD,
        MAX_COMPRESSION_RATIO,
        WhisperEnglishClassifier,
        resolve_english_checkpoint,
    )

    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    classifier = WhisperEnglishClassifier(resolve_english_checkpoint(args.model), "cpu")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        clips = sample_shard_segments(work / "sample") + espeak_clips(work) + librivox_clips()
    scores = []
    for start in range(0, len(clips), 4):
        scores += classifier.score([wave for _, _, wave in clips[start : start + 4]])

    rows = [
        "| class | clip | avg log-prob | compression | ended | no-speech p | label | text |",
        "|---|---|---|---|---|---|---|---|",
    ]
    by_class: dict[str, list[float]] = {}
    degenerate: list[str] = []
    for (cls, what, _), score in zip(clips, scores, strict=True):
        by_class.setdefault(cls, []).append(score.avg_logprob)
        if not score.finished or score.compression_ratio > MAX_COMPRESSION_RATIO:
            degenerate.append(what)
        label = "en" if score.is_english(DEFAULT_THRESHOLD) else "un"
        text = score.text[:60].replace("|", "/")
        ended = "yes" if score.finished else "no"
        rows.append(
            f"| {cls} | {what} | {score.avg_logprob:.3f} | {score.compression_ratio:.2f} | {ended} | "
            f"{score.no_speech_prob:.3f} | {label} | {text} |"
        )
    summary = ["| class | n | min | median | max |", "|---|---|---|---|---|"]
    for cls, values in sorted(by_class.items()):
        summary.append(
            f"| {cls} | {len(values)} | {min(values):.3f} | {statistics.median(values):.3f} | {max(values):.3f} |"
        )
    labelled = [(cls, score.is_english(DEFAULT_THRESHOLD)) for (cls, _, _), score in zip(clips, scores, strict=True)]
    correct = sum(is_en == cls.endswith(":english") for cls, is_en in labelled)
    body = "\n".join(
        [
            "Average token log-probability of the English-only model's greedy decode, per segment "
            "(degenerate outputs, labelled `un` whatever their score: " + (", ".join(degenerate) or "none") + ").",
            "",
            *summary,
            "",
            f"Threshold {DEFAULT_THRESHOLD}: {correct}/{len(labelled)} segments labelled right.",
            "",
            *rows,
        ]
    )
    print(body)
    if args.write_results:
        from _results import write_section

        write_section("whisper-en calibration", body)


if __name__ == "__main__":
    main()
