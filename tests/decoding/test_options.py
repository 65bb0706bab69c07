"""Decoding options are validated up front: each invalid combination fails with one clear message."""

from __future__ import annotations

import pytest

from olmoasr.errors import UsageError
from olmoasr.model.decoding import DecodingOptions, DecodingOptionsError, FallbackPolicy
from olmoasr.model.transcribe import split_options


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (dict(beam_size=5, temperature=0.5), "beam_size needs temperature 0"),
        (dict(best_of=5, temperature=0.0), "best_of needs temperature > 0"),
        (dict(beam_size=5, best_of=5), "cannot be given together"),
        (dict(patience=2.0), "patience needs beam_size"),
        (dict(beam_size=0), "beam_size must be a positive integer"),
        (dict(language="klingon"), "unknown language"),
        (dict(task="summarize"), "task must be one of"),
        (dict(length_penalty=1.5), "length_penalty must be between 0 and 1"),
        (dict(temperature=-0.1), "temperature must be >= 0"),
        (dict(suppress_tokens="1,x"), "suppress_tokens must be comma-separated integers"),
        (dict(beam_size=2, patience=0.1), "at least one candidate"),
    ],
)
def test_invalid_options_are_rejected(options, message):
    with pytest.raises(DecodingOptionsError, match=message) as info:
        DecodingOptions(**options)
    assert isinstance(info.value, UsageError) and "\n" not in str(info.value)


def test_valid_options_are_normalised():
    options = DecodingOptions(language="English", suppress_tokens="-1,220", beam_size=5, patience=2.0)
    assert options.language == "en"
    assert options.suppress_tokens == (-1, 220)
    assert options.n_group == 5
    assert DecodingOptions(temperature=0.4, best_of=3).n_group == 3


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (dict(task="translate"), "translate' needs a multilingual model"),
        (dict(language="de"), "on an English-only model"),
    ],
)
def test_english_only_model_rejects_other_languages_and_translation(model_pair, options, message):
    ours, _ = model_pair
    with pytest.raises(DecodingOptionsError, match=message):
        DecodingOptions(**options).check_model(ours)
    DecodingOptions(language="en").check_model(ours)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (dict(beam_size=5, temperature=(0.2, 0.4)), "beam_size needs temperature 0"),
        (dict(best_of=5, temperature=0.0), "best_of needs a temperature > 0"),
        (dict(no_such_option=1), "unknown transcribe option"),
        (dict(clip_timestamps="5,2"), "must end after it starts"),
        (dict(temperature=()), "at least one temperature"),
    ],
)
def test_transcribe_options_are_checked_before_decoding(options, message):
    with pytest.raises(UsageError, match=message):
        split_options(options)


def test_fallback_schedule_keeps_beam_at_zero_and_sampling_above():
    _, policy, options = split_options(dict(beam_size=5, best_of=3, patience=1.5))
    assert policy.temperatures == FallbackPolicy().temperatures
    at_zero, hotter = policy.options_at(options, 0.0), policy.options_at(options, 0.4)
    assert (at_zero.beam_size, at_zero.patience, at_zero.best_of) == (5, 1.5, None)
    assert (hotter.beam_size, hotter.patience, hotter.best_of, hotter.temperature) == (None, None, 3, 0.4)
