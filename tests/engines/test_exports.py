"""`olmoasr convert` writes folders other tools load offline: faster-whisper (ctranslate2) and transformers (hf)."""

from __future__ import annotations

import pytest

from olmoasr.cli.main import run
from olmoasr.model.hub import OFFLINE_MODEL
from olmoasr.model.tokenizer import get_tokenizer
from olmoasr.model.tokenizer_json import hf_tokenizer

pytestmark = pytest.mark.real_weights
EXPECTED = (
    " And Mr. John Dashwood had then leisure to consider how much there might be prudently in his power to do for them."
)


@pytest.mark.parametrize("multilingual", [False, True])
def test_tokenizer_json_equals_tiktoken(multilingual, librivox_utterances):
    pytest.importorskip("tokenizers")
    ours = get_tokenizer(multilingual)
    theirs = hf_tokenizer(ours)
    text = " ".join(reference for _, reference in librivox_utterances) + " naïve café, 日本語 ♪ -- 3.5% (yes)!"
    ids = ours.encode(text)
    assert theirs.encode(text, add_special_tokens=False).ids == ids and theirs.decode(ids) == text
    assert theirs.get_vocab_size() == ours.encoding.n_vocab
    for token in (ours.sot, ours.no_timestamps, ours.timestamp_begin, ours.eot):
        assert theirs.token_to_id(ours.encoding.decode_single_token_bytes(token).decode()) == token


def test_ctranslate2_export_loads_in_faster_whisper_offline(offline_dir, tmp_path, utterances):
    faster_whisper = pytest.importorskip("faster_whisper")
    assert run(["convert", OFFLINE_MODEL, str(tmp_path / "ct2"), "--format", "ctranslate2", "--dtype", "int8"]) == 0
    assert {"tokenizer.json", "preprocessor_config.json", "model.bin"} <= {p.name for p in (tmp_path / "ct2").iterdir()}
    model = faster_whisper.WhisperModel(str(tmp_path / "ct2"), device="cpu", compute_type="int8", cpu_threads=2)
    segments, _ = model.transcribe(utterances[0], language="en", beam_size=1)
    assert "".join(s.text for s in segments) == EXPECTED


def test_hf_export_runs_in_the_transformers_pipeline_offline(offline_dir, tmp_path, utterances):
    transformers = pytest.importorskip("transformers")
    assert run(["convert", OFFLINE_MODEL, str(tmp_path / "hf"), "--format", "hf"]) == 0
    recognizer = transformers.pipeline("automatic-speech-recognition", model=str(tmp_path / "hf"), device="cpu")
    assert recognizer({"raw": utterances[0], "sampling_rate": 16000})["text"] == EXPECTED
