"""Whisper English normaliser semantics: our fast normaliser equals whisper-normalizer's byte for byte, and
the one-pair WER equals jiwer's; checked on tables, on a large seeded corpus and on random (hypothesis) text."""

from __future__ import annotations

import random

import jiwer
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whisper_normalizer.english import EnglishTextNormalizer

from olmoasr.text import normalize_english
from olmoasr.text.normalize import EnglishNormalizer, normalize_caption_text
from olmoasr.text.wer import wer_words, word_error_rate

REFERENCE = EnglishTextNormalizer()
FAST = EnglishNormalizer()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello, World!", "hello world"),
        ("twenty one", "21"),  # spelled-out numbers become digits
        ("one two", "12"),  # ... including Whisper's quirk of joining consecutive number words
        ("It's 5 o'clock", "it is 50 clock"),
        ("it is five o'clock", "it is 50 clock"),  # so both spellings agree
        ("1,000,000", "1000000"),
        ("I'm gonna", "i am going to"),  # contractions and informal forms
        ("won't", "will not"),
        ("colour", "color"),  # British -> American spelling
        ("theatre", "theater"),
        ("Mr. Smith paid $20.50", "mister smith paid $20.50"),  # titles
        ("[Music]", ""),  # bracketed annotations removed
        ("hmm (laughs) yes", "yes"),  # parenthesised annotations and fillers removed
        ("uh I um think", "i think"),  # fillers removed
        ("bread and butter", "bread and butter"),  # `and` next to plain words stays
        ("one hundred and five dollars", "$105"),
        ("five point two percent", "5.2%"),
        ("two and a half", "2.5"),
        ("minus three", "-3"),
        ("double seven", "77"),
        ("the 1960s", "the 1960s"),
        ("He's gotta go", "he has got to go"),  # a rule across a space, after a rule that made its words
        ("she'd  been there, it's been 1s", "she would been there it has been ones"),
        ("a1b2 3 rd", "a one b 2 3rd"),  # letter/digit spacing, then a suffix joined back
    ],
)
def test_normalizer_table(text, expected):
    assert normalize_english(text) == expected
    assert REFERENCE(text) == expected


# Pieces that exercise every rule: number words in all their roles, digits with signs and currencies,
# contractions, titles, brackets, fillers, spellings, Unicode marks, letters and digits, odd whitespace.
PIECE_TEXT = (
    "zero o oh one ones two three four five six sevens eight nine ten eleven twelve thirteen nineteen twenty "
    "thirties forty fiftieth ninety hundred hundreds thousand thousandth million billions first second third "
    "fifth twelfth zeroth and a half point double triple minus negative plus positive dollar dollars pound "
    "pounds euro euros cent cents per percent $ € £ ¢ % . , - + 1 2 3 10 25 1960s 2nd 3.5 $20 $0.07 €5 +7 -2 "
    "1,000 4.2.1 won't can't let's ain't y'all wanna kinda sorta dunno gotta gonna i'ma imma woulda cause ma'am "
    "mr mrs st dr prof capt gov ald gen sen rep pres rev hon asst assoc lt col jr sr esq he'd been she's been "
    "it's gone they'd done he's got don't you're it's we'd we'll isn't 've i'm ' hmm mm mhm mmm uh um colour "
    "theatre organise realise [music] [ ] ( ) (laughs) < > <i> </i> <3 x<y a>b café naïve ß œ Æ ø đ þ ł ﬁ "
    "１２ ٣ ½ ² ã é ü 日本 語 — … “ ” ‘ ’ · • © ™ ° the cat sat on mat word words St. Mr. Dr. e.g. i.e. U.S.A. "
    "a.m. p.m. . .. ... ! ? ; : _ __ * # @ & = ^ ~ ` | \\ /"
)
PIECES = PIECE_TEXT.split()
SEPARATORS = [" ", " ", " ", "  ", "\t", "\n", "\xa0", "\u2028", "", "-", "'", ".", ","]


def _random_text(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(0, 40)):
        parts.append(rng.choice(PIECES) if rng.random() < 0.85 else rng.choice(["Hello", "WORLD", "Two", "And"]))
        parts.append(rng.choice(SEPARATORS))
    return "".join(parts)


def test_fast_normalizer_equals_whisper_normalizer_on_a_large_seeded_corpus():
    rng = random.Random(12)
    for _ in range(10_000):
        text = _random_text(rng)
        assert FAST(text) == REFERENCE(text), text


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(st.sampled_from(PIECES), st.sampled_from(SEPARATORS), st.text(max_size=6)),
        max_size=30,
    ).map("".join)
)
def test_fast_normalizer_equals_whisper_normalizer_on_random_text(text):
    assert FAST(text) == REFERENCE(text)


def test_caption_text_angle_brackets_are_spaces_not_annotations():
    assert normalize_caption_text("if x < y then we stop [Music] thanks") == "if x y then we stop thanks"
    assert normalize_english("if x < y then we stop [Music] thanks") == "if x thanks"  # what Whisper's does
    assert normalize_caption_text("<i>hello</i> (laughs) there") == "i hello i there"


WORDS = st.sampled_from(["a", "b", "c", "the", "cat", "sat", "1", "é", "a\tb", "x\ny"])


@settings(max_examples=1500, deadline=None)
@given(
    st.lists(st.one_of(WORDS, st.sampled_from([" ", "  ", "\t", "\n", " \t "])), max_size=25).map("".join),
    st.lists(st.one_of(WORDS, st.sampled_from([" ", "  ", "\t", "\n", " \t "])), max_size=25).map("".join),
)
def test_word_error_rate_equals_jiwer(reference, hypothesis):
    assert word_error_rate(reference, hypothesis) == jiwer.wer(reference, hypothesis)


def test_word_error_rate_words_and_edges():
    assert wer_words("  a  b\tc\nd ") == ["a", "b\tc\nd"]  # jiwer splits at spaces after merging runs
    assert word_error_rate("the cat sat", "the cat sat down") == 1 / 3
    assert word_error_rate("cat dog", "cat dog bird fish eel") == 1.5
    assert word_error_rate("", "two words") == 2.0 == jiwer.wer("", "two words")
    assert word_error_rate("", "") == 0.0


@pytest.mark.parametrize(
    "text",
    [
        "he's gotta go, she'd  been there and it's\tgot it",
        "it's \ue000 gotta",  # the character that marks a kept space is in the text: normalised whole
        "'s been 's gone 'd done x's got",
    ],
)
def test_rules_across_a_space_match_the_reference(text):
    assert FAST(text) == REFERENCE(text)
