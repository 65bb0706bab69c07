"""The CTranslate2 engine runs olmoasr's own decoding: on the same float32 weights it equals the torch engine."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import olmoasr
from olmoasr.engines import as_engine, choose_engine
from olmoasr.errors import UsageError
from olmoasr.model.decoding import DecodingOptions
from olmoasr.model.features import N_SAMPLES, log_mel_spectrogram, pad_or_trim
from olmoasr.model.transcribe import transcribe

ctranslate2 = pytest.importorskip("ctranslate2")
pytestmark = pytest.mark.real_weights


def _rounded(segments: list[dict]) -> list[tuple]:
    return [
        (round(s["start"], 2), round(s["end"], 2), s["text"], round(s["avg_logprob"], 3), round(s["no_speech_prob"], 3))
        for s in segments
    ]


def test_long_form_with_word_timestamps_equals_torch(tiny_torch, tiny_ct2_fp32, utterances):
    audio = np.concatenate(utterances)
    ours = transcribe(tiny_torch, audio, temperature=0.0, word_timestamps=True)
    fast = tiny_ct2_fp32.transcribe(audio, temperature=0.0, word_timestamps=True)
    assert fast["text"] == ours["text"] and len(fast["segments"]) >= 5
    assert _rounded(fast["segments"]) == _rounded(ours["segments"])
    words = [[(w["word"], w["start"], w["end"]) for w in s["words"]] for s in ours["segments"]]
    assert [[(w["word"], w["start"], w["end"]) for w in s["words"]] for s in fast["segments"]] == words


@pytest.mark.parametrize(
    "options",
    [
        dict(beam_size=3, length_penalty=0.6),
        dict(no_speech_after="notimestamps"),
        dict(without_timestamps=True, prefix="And Mr."),
        dict(prompt=" Dashwood, Norland Park.", sample_len=5),
    ],
    ids=["beam-gnmt", "no-speech-after-notimestamps", "prefix", "prompt-sample-len"],
)
def test_window_decoding_options_equal_torch(tiny_torch, tiny_ct2_fp32, utterances, options):
    mel = log_mel_spectrogram(torch.from_numpy(pad_or_trim(utterances[0], N_SAMPLES)), 80).unsqueeze(0)
    decoding = DecodingOptions(language="en", **options)
    reference = as_engine(tiny_torch)
    [expected] = reference.decode(reference.encode(mel), decoding)
    [result] = tiny_ct2_fp32.decode(tiny_ct2_fp32.encode(mel), decoding)
    assert result.tokens == expected.tokens
    assert math.isclose(result.avg_logprob, expected.avg_logprob, abs_tol=1e-3)
    assert math.isclose(result.no_speech_prob, expected.no_speech_prob, abs_tol=1e-3)
    if "sample_len" in options:
        assert len(result.tokens) == options["sample_len"]


def test_sampling_with_best_of(tiny_ct2_fp32, utterances):
    mel = log_mel_spectrogram(torch.from_numpy(pad_or_trim(utterances[1], N_SAMPLES)), 80).unsqueeze(0)
    options = DecodingOptions(language="en", temperature=0.6, best_of=4)
    [result] = tiny_ct2_fp32.decode(tiny_ct2_fp32.encode(mel), options)
    assert result.temperature == 0.6 and "young man" in result.text.lower()
    assert -1.0 < result.avg_logprob < 0 and result.tokens[0] >= 50363  # a timestamp first


def test_engine_choice_and_compute_types(offline_dir):
    assert choose_engine("auto") == "ctranslate2" and choose_engine("torch") == "torch"
    with pytest.raises(UsageError, match="--engine must be one of"):
        choose_engine("onnx")
    with pytest.raises(UsageError, match="--compute-type must be one of"):
        olmoasr.load_model("tiny.en-offline", engine="ctranslate2", compute_type="int4")
    if "float16" not in ctranslate2.get_supported_compute_types("cpu"):
        with pytest.raises(UsageError, match="compute type float16 is not supported on cpu"):
            olmoasr.load_model("tiny.en-offline", device="cpu", engine="ctranslate2", compute_type="float16")
    fast = olmoasr.load_model("tiny.en-offline", device="cpu", engine="ctranslate2", compute_type="auto")
    assert fast.name == "ctranslate2" and fast.precision in ("int8", "int8_float32", "float32")
    assert isinstance(olmoasr.load_model("tiny.en-offline", device="cpu"), torch.nn.Module)  # torch stays the default


def test_window_prompts_decode_as_alone(tiny_ct2_fp32, utterances):
    """Per-window prompts of different lengths (grouped into one generate call per length) decode each
    window as it decodes alone with that prompt."""
    from olmoasr.model.decoding.options import DecodingOptionsError

    mel = torch.stack([log_mel_spectrogram(torch.from_numpy(pad_or_trim(u, N_SAMPLES)), 80) for u in utterances[:4]])
    features = tiny_ct2_fp32.encode(mel)
    prompts = [" Sense and Sensibility.", None, " Dashwood, Norland Park.", " Chapter one."]
    options = DecodingOptions(language="en", without_timestamps=True)
    together = tiny_ct2_fp32.decode(features, options, prompts=prompts)
    for row, prompt in enumerate(prompts):
        [alone] = tiny_ct2_fp32.decode(
            features[row : row + 1], DecodingOptions(language="en", without_timestamps=True, prompt=prompt)
        )
        assert together[row].tokens == alone.tokens and together[row].text
        assert math.isclose(together[row].avg_logprob, alone.avg_logprob, abs_tol=1e-4)
    with pytest.raises(DecodingOptionsError, match="prompt per window"):
        tiny_ct2_fp32.decode(features[:2], DecodingOptions(language="en", prompt="hello"), prompts=[None, "x"])
    with pytest.raises(ValueError, match="3 prompts for 2 windows"):
        tiny_ct2_fp32.decode(features[:2], options, prompts=[None, "x", "y"])
