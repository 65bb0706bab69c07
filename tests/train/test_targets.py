"""Target construction (spec §7.3) as a table, and the no-speech position the decoder reads."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from olmoasr.model.tokenizer import get_tokenizer
from olmoasr.train.data import feature_pad, sample_coins
from olmoasr.train.targets import TargetError, build_example

TOK = get_tokenizer(multilingual=False)
SOT, EOT, NOTS, NOSP = 50257, 50256, 50362, 50361


def T(ms: int) -> int:
    return 50363 + ms // 20


def enc(text: str) -> list[int]:
    return TOK.encode(text)


def rec(content: str = "", norm_end=30000, fmt: str = "vtt", **flags):
    return {"seg_content": content, "norm_end": norm_end, "subtitle_file": f"x.{fmt}", **flags}


TWO = "WEBVTT\n\n00:00:01.000 --> 00:00:02.500\nhello there\n\n00:00:03.000 --> 00:00:04.020\ngeneral\nkenobi\n"
OVER = "WEBVTT\n\n00:00:00.000 --> 00:00:10.000\nkept words\n\n00:00:25.000 --> 00:00:31.000\ncut off\n"

CASES = [
    # (record, coin says timestamps?, expected tokens, expected audio cut)
    (rec("", 30000), True, [SOT, NOSP, EOT], None),
    (rec("", 30000), False, [SOT, NOSP, EOT], None),
    (rec("WEBVTT\n\n", 12000, only_no_ts_mode=True), True, [SOT, NOTS, EOT], 12000),
    (rec("", 12000), True, [SOT, T(0), T(12000), T(12000), EOT], None),
    (rec("", 12000), False, [SOT, NOTS, EOT], 12000),
    (rec(TWO, "00:00:04.020", ts_mode=True), True,
     [SOT, T(1000), *enc(" hello there"), T(2500), T(3000), *enc(" general kenobi"), T(4020), T(4020), EOT], None),
    (rec(TWO, "00:00:04.020"), False, [SOT, NOTS, *enc(" hello there"), *enc(" general kenobi"), EOT], 4020),
    (rec(TWO, 4020, only_no_ts_mode=True), True, [SOT, NOTS, *enc(" hello there"), *enc(" general kenobi"), EOT], 4020),
    (rec(TWO, 4020, ts_mode=False), True, [SOT, NOTS, *enc(" hello there"), *enc(" general kenobi"), EOT], 4020),
    # norm_end > 30 s: the last caption is dropped, norm_end becomes the new last end, no-timestamp form forced
    (rec(OVER, 31000), True, [SOT, NOTS, *enc(" kept words"), EOT], 10000),
    (rec("1\n00:00:00,500 --> 00:00:01,000\nsrt works\n", 1000, fmt="srt"), True,
     [SOT, T(500), *enc(" srt works"), T(1000), T(1000), EOT], None),
]  # fmt: skip


@pytest.mark.parametrize(("record", "coin", "tokens", "cut"), CASES)
def test_target_table(record, coin, tokens, cut):
    example = build_example(record, coin, TOK)
    assert list(example.tokens) == tokens
    assert example.cut_ms == cut
    # one decision: the audio is cut exactly when the no-timestamp form was built
    assert (example.cut_ms is not None) == (NOTS in example.tokens and NOSP not in example.tokens)


def test_original_nospeech_placement_for_continued_training():
    example = build_example(rec("", 30000), True, TOK, placement="original")
    assert list(example.tokens) == [SOT, NOTS, NOSP, EOT]


def test_unbuildable_records_raise_with_a_reason():
    long_text = "WEBVTT\n\n00:00:00.000 --> 00:00:29.000\n" + " ".join(["antidisestablishment"] * 200) + "\n"
    with pytest.raises(TargetError) as err:
        build_example(rec(long_text, 29000), False, TOK)
    assert err.value.reason == "too_many_tokens"
    with pytest.raises(TargetError) as err:
        build_example(rec(TWO, "not a time"), False, TOK)
    assert err.value.reason == "bad_norm_end"


def test_per_sample_coins_are_deterministic_fair_and_independent():
    draws = [sample_coins(42, 0, (i % 4, i)) for i in range(4000)]
    assert draws == [sample_coins(42, 0, (i % 4, i)) for i in range(4000)]
    timestamp, padding = zip(*draws, strict=True)
    assert 0.47 < sum(c < 0.5 for c in timestamp) / len(draws) < 0.53
    assert 0.47 < sum(feature_pad("mixed", c) == "mel" for c in padding) / len(draws) < 0.53
    both = sum(t < 0.5 and feature_pad("mixed", p) == "mel" for t, p in draws) / len(draws)
    assert 0.22 < both < 0.28  # the padding choice does not follow the timestamp choice
    assert draws != [sample_coins(42, 1, (i % 4, i)) for i in range(4000)]  # a new epoch draws anew
    assert {feature_pad("mel", c) for c in padding} == {"mel"} and {feature_pad("audio", c) for c in padding} == {
        "audio"
    }


@pytest.mark.parametrize("placement", ["decoder", "original"])
def test_nospeech_is_trained_where_the_decoder_reads_it(placement):
    from olmoasr.model.decoding import DecodingOptions, decode
    from olmoasr.model.dims import variant_dims
    from olmoasr.model.network import Whisper, init_fan_in_gaussian_

    torch.manual_seed(0)
    dims = replace(variant_dims("tiny"), n_audio_ctx=50, n_audio_state=32, n_audio_head=2, n_audio_layer=1,
                   n_text_state=32, n_text_head=2, n_text_layer=1)  # fmt: skip
    model = init_fan_in_gaussian_(Whisper(dims)).eval()
    mel = torch.randn(1, 80, 100)
    tokens = torch.tensor(build_example(rec("", 30000), True, TOK, placement=placement).tokens)
    inputs, targets = tokens[:-1], tokens[1:]
    position = int((targets == NOSP).nonzero()[0])
    with torch.no_grad():
        trained = model(mel, inputs[None])[0, position].softmax(-1)[NOSP].item()
    reader = {"decoder": "sot", "original": "notimestamps"}[placement]  # DecodingOptions.no_speech_after
    for without_timestamps in (True, False):
        options = DecodingOptions(without_timestamps=without_timestamps, fp16=False, sample_len=2)
        read = decode(model, mel, replace(options, no_speech_after=reader))[0]
        assert read.no_speech_prob == pytest.approx(trained, rel=1e-5)
        if placement == "original":  # the released models' placement: default decoding never looks there
            assert decode(model, mel, options)[0].no_speech_prob != pytest.approx(trained, rel=1e-3)
