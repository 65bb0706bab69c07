"""The whole chain agrees: captions -> targets -> features -> training -> export -> every decoding command.

A micro model trained from scratch on six distinct spoken sentences must give each clip its own text with
`olmoasr transcribe` (sequential and --batched) and `olmoasr eval`. With training features that decoding
never sees (the original's audio padding against `transcribe`'s spectrogram padding), most clips come back
as another clip's sentence.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from olmoasr.cli.main import run
from olmoasr.synth.clips import make_clip_set
from olmoasr.text.normalize import normalize_english
from olmoasr.text.wer import character_error_rate

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not shutil.which("flite"), reason="needs flite (apt-get install flite)"),
]
CLIPS = 6
MAX_CER = 0.20


def own_text_failures(references: list[str], hypotheses: list[str]) -> list[str]:
    """One line per clip whose text is not its own (CER above MAX_CER, or another reference is closer)."""
    refs = [normalize_english(r) for r in references]
    failures = []
    for i, hypothesis in enumerate(hypotheses):
        cers = [character_error_rate(ref, normalize_english(hypothesis)) for ref in refs]
        if cers[i] > MAX_CER or min(cers) < cers[i]:
            failures.append(f"clip {i}: {hypothesis!r} (CER {cers[i]:.0%}; reference {references[i]!r})")
    return failures


def test_a_trained_micro_model_gives_every_clip_its_own_text(tmp_path):
    clip_set = make_clip_set(tmp_path / "clips", n_clips=CLIPS)
    clips = [json.loads(line) for line in clip_set.manifest.read_text().splitlines()]
    references = [clip["text"] for clip in clips]
    audio = [str(clip_set.manifest.parent / clip["audio"]) for clip in clips]
    quiet = ["-q", "-w", "1"]
    assert run(["prep", "jsonl", str(clip_set.raw_dir), "-o", str(tmp_path / "docs"), *quiet]) == 0
    assert run(["prep", "segment", str(tmp_path / "docs"), "-o", str(tmp_path / "segs"), *quiet]) == 0
    train = ["train", "-c", "micro", "--data", str(tmp_path / "segs"), "--out", str(tmp_path / "run"),
             "--train_steps", "160", "--train_batch_size", str(CLIPS), "--eff_batch_size", str(CLIPS),
             "--warmup_fraction", "0.1", "--device", "cpu", "--train_log_freq", "20", "--ckpt_freq", "160"]  # fmt: skip
    assert run(train) == 0
    export = str(tmp_path / "run" / "export.pt")

    for mode in ("sequential", "batched"):
        out = tmp_path / f"transcribe_{mode}"
        argv = ["transcribe", *audio, "--model", export, "-o", str(out), "-f", "txt", "--language", "en"]
        assert run([*argv, *(["--batched"] if mode == "batched" else []), "--device", "cpu"]) == 0
        texts = [(out / f"{Path(path).stem}.txt").read_text().strip() for path in audio]
        assert own_text_failures(references, texts) == [], mode

    out = tmp_path / "eval"
    argv = ["eval", "--model", export, "--manifest", str(clip_set.manifest), "-o", str(out), "--device", "cpu"]
    assert run([*argv, "--bootstrap", "0", "-q"]) == 0
    rows = {row["id"]: row for row in map(json.loads, (out / "clips.utterances.jsonl").read_text().splitlines())}
    assert own_text_failures(references, [rows[clip["id"]]["hypothesis"] for clip in clips]) == []
