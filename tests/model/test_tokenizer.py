"""Tokenizer: special-token ids of spec §7.2, round trips, word splitting, parity with openai-whisper."""

from __future__ import annotations

import pytest

from olmoasr.errors import UsageError
from olmoasr.model.tokenizer import LANGUAGES, get_tokenizer


def test_english_special_ids_match_spec():
    tok = get_tokenizer()
    assert tok.eot == 50256
    assert tok.sot == 50257
    assert tok.all_language_tokens[0] == 50258 and tok.all_language_tokens[-1] == 50356
    assert len(tok.all_language_tokens) == 99
    assert (tok.translate, tok.transcribe, tok.sot_lm, tok.sot_prev) == (50357, 50358, 50359, 50360)
    assert (tok.no_speech, tok.no_timestamps, tok.timestamp_begin) == (50361, 50362, 50363)
    assert tok.n_vocab == 51864
    assert tok.sot_sequence == (50257,)
    assert tok.sot_sequence_including_notimestamps == (50257, 50362)
    assert tok.decode_with_timestamps([51863]) == "<|30.00|>"


@pytest.mark.parametrize(
    ("num_languages", "n_vocab", "timestamp_begin"),
    [(99, 51865, 50364), (100, 51866, 50365)],
)
def test_multilingual_layouts(num_languages, n_vocab, timestamp_begin):
    tok = get_tokenizer(True, num_languages=num_languages, language="German", task="translate")
    assert tok.eot == 50257 and tok.sot == 50258
    assert tok.n_vocab == n_vocab
    assert tok.timestamp_begin == timestamp_begin
    assert tok.sot_sequence == (50258, tok.language_token("de"), tok.translate)
    assert tok.language_token("de") == 50258 + 1 + list(LANGUAGES).index("de")
    assert len(tok.all_language_codes) == num_languages


def test_multilingual_defaults_to_english_transcribe():
    tok = get_tokenizer(True)
    assert tok.language == "en" and tok.task == "transcribe"
    assert tok.sot_sequence == (50258, 50259, 50359)


@pytest.mark.parametrize(("ms", "offset"), [(0, 0), (19, 0), (20, 1), (1080, 54), (29_999, 1499), (30_000, 1500)])
def test_timestamp_token_floors_to_20ms(ms, offset):
    tok = get_tokenizer()
    assert tok.timestamp_token(ms) == tok.timestamp_begin + offset


def test_timestamp_token_out_of_window():
    with pytest.raises(ValueError, match="30000"):
        get_tokenizer().timestamp_token(30_020)


@pytest.mark.parametrize(
    "text",
    [" Hello, world!", " It's 1,234 dollars.", " naïve café ♪♪", " 你好，世界", "  spaced   out  ", ""],
)
def test_round_trip(text):
    for tok in (get_tokenizer(), get_tokenizer(True)):
        assert tok.decode(tok.encode(text)) == text


def test_special_strings_in_text_are_plain_text():
    tok = get_tokenizer()
    ids = tok.encode(" a <|endoftext|> b")
    assert tok.eot not in ids
    assert tok.decode(ids) == " a <|endoftext|> b"


def test_decode_drops_special_and_timestamp_tokens():
    tok = get_tokenizer()
    ids = [tok.sot, tok.timestamp_begin, *tok.encode(" Hi there"), tok.timestamp_token(1200), tok.eot]
    assert tok.decode(ids) == " Hi there"
    assert tok.decode_with_timestamps(ids) == "<|startoftranscript|><|0.00|> Hi there<|1.20|><|endoftext|>"


def test_split_to_word_tokens_on_spaces_and_punctuation():
    tok = get_tokenizer()
    ids = [*tok.encode(" Hello there, friend. Don't"), tok.eot]
    words, groups = tok.split_to_word_tokens(ids)
    assert words == [" Hello", " there", ",", " friend", ".", " Don't", "<|endoftext|>"]
    assert sum(groups, []) == ids


def test_split_to_word_tokens_for_scripts_without_spaces():
    tok = get_tokenizer(True, language="ja")
    ids = tok.encode("こんにちは世界")
    words, groups = tok.split_to_word_tokens(ids)
    assert "".join(words) == "こんにちは世界"
    assert all("\ufffd" not in w for w in words)
    assert sum(groups, []) == ids


def test_unknown_language_and_task_are_rejected():
    with pytest.raises(UsageError, match="klingon"):
        get_tokenizer(True, language="klingon")
    with pytest.raises(UsageError, match="summarize"):
        get_tokenizer(True, task="summarize")
    with pytest.raises(UsageError, match="yue"):
        get_tokenizer(True, num_languages=99, language="yue")


def test_non_speech_tokens_are_single_symbol_tokens():
    tok = get_tokenizer()
    texts = {tok.decode([t]).strip() for t in tok.non_speech_tokens}
    assert {"(", "[", "-", "'", "<<"} <= texts
    assert tok.encode(" ♪")[0] in tok.non_speech_tokens  # a partial UTF-8 token, kept for music notes
    assert not any(ch.isalnum() for text in texts for ch in text)
    assert tok.encode(" a")[0] not in tok.non_speech_tokens


@pytest.mark.parametrize(("multilingual", "num_languages"), [(False, 99), (True, 99), (True, 100)])
def test_parity_with_openai_whisper(multilingual, num_languages):
    wt = pytest.importorskip("whisper.tokenizer")
    ours = get_tokenizer(multilingual, num_languages=num_languages)
    theirs = wt.get_tokenizer(multilingual, num_languages=num_languages)
    names = ["eot", "sot", "sot_prev", "sot_lm", "no_speech", "no_timestamps", "timestamp_begin", "transcribe"]
    names += ["translate", "sot_sequence", "sot_sequence_including_notimestamps", "non_speech_tokens"]
    for name in names:
        assert tuple(_seq(getattr(ours, name))) == tuple(_seq(getattr(theirs, name))), name
    assert dict(zip(ours.all_language_codes, ours.all_language_tokens, strict=True)) == dict(
        zip(theirs.all_language_codes, theirs.all_language_tokens, strict=True)
    )
    text = " The quick brown fox, 12 jumps! ¿Qué? 日本語"
    assert ours.encode(text) == theirs.encode(text)
    ids = [*ours.encode(" Well, it's done."), ours.eot]
    assert ours.split_to_word_tokens(ids) == theirs.split_to_word_tokens(ids)


def _seq(value):
    return value if isinstance(value, tuple | list) else (value,)


def test_pickles_by_reference():
    import pickle

    tok = get_tokenizer(True, num_languages=100, language="fr", task="translate")
    data = pickle.dumps(tok)
    assert len(data) < 1000
    assert pickle.loads(data) is tok  # rebuilt through the cache
