"""Each tagger's rule (spec §3) on tables of hand-made cases."""

from __future__ import annotations

import pytest

from olmoasr.pipeline.taggers import TAGGERS, Level, TagContext
from olmoasr.pipeline.taggers.casing import caption_casing, document_casing
from olmoasr.pipeline.taggers.context import build_context
from olmoasr.pipeline.taggers.edit_dist import edit_dist_bucket, manual_machine_wer
from olmoasr.pipeline.taggers.has_proper_cap_after_punct_line import proper_cap_after_punct
from olmoasr.pipeline.taggers.repeating_lines import has_repeating_lines
from olmoasr.pipeline.taggers.text_lang import detect_text_language
from olmoasr.pipeline.tagging import load_tagging_config, tag_record
from olmoasr.synth.captions import TimedWord, machine_words, youtube_auto_vtt

from ._records import doc, vtt


def ctx(*captions: str, mach: str | None = None, level: Level = "document") -> TagContext:
    text = " ".join(c.strip() for c in captions if c.strip())
    return TagContext(list(captions), text, 10.0, level=level, mach_text=mach)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello there", "mixed"),
        ("HELLO THERE", "upper"),
        ("hello there", "lower"),
        ("   ", "mixed"),
        ("", "mixed"),
        ("123 ... !!", "lower"),  # no ASCII letters -> lower
        ("ÉCOLE", "upper"),  # only É is non-ASCII; the ASCII letters are upper
        ("école", "lower"),
        ("I", "upper"),
        ("HELLO\nthere", "mixed"),
    ],
)
def test_caption_casing(text, expected):
    assert caption_casing(text) == expected


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({"upper": 5, "lower": 1, "mixed": 1}, "upper"),
        ({"upper": 0, "lower": 5, "mixed": 3}, "lower"),  # mixed/lower = 0.6, not > 0.6
        ({"upper": 0, "lower": 5, "mixed": 4}, "mixed"),  # lower wins but mixed/lower = 0.8 > 0.6
        ({"upper": 3, "lower": 0, "mixed": 5}, "mixed"),  # upper/mixed = 0.6, not > 0.6
        ({"upper": 4, "lower": 0, "mixed": 5}, "upper"),  # mixed wins but upper/mixed = 0.8 > 0.6
        ({"upper": 2, "lower": 2, "mixed": 0}, "upper"),  # upper/lower tie -> first of (upper, lower)
        ({"upper": 0, "lower": 3, "mixed": 3}, "mixed"),  # tie involving mixed -> mixed
        ({"upper": 3, "lower": 3, "mixed": 3}, "mixed"),  # a tie is final: no 0.6 adjustment after it
        ({"upper": 3, "lower": 0, "mixed": 3}, "mixed"),  # (the old rule made these two `upper`)
        ({"upper": 1, "lower": 0, "mixed": 1}, "mixed"),  # two captions, one of each: the common case
        ({"upper": 0, "lower": 0, "mixed": 0}, "mixed"),  # no captions
    ],
)
def test_document_casing_adjustments_and_ties(counts, expected):
    assert document_casing(counts) == expected


def test_casing_tie_in_a_two_caption_document_is_mixed():
    # One all-caps caption and one properly cased one: the paper's best filter keeps `mixed`, drops `upper`.
    assert TAGGERS["casing"]().tag(ctx("WELCOME BACK", "Today we talk about bread.")) == "mixed"
    assert TAGGERS["casing"]().tag(ctx("WELCOME BACK", "Today we talk.", "AND NOW", "Back to you")) == "mixed"


def test_casing_tagger_and_its_ratio_option():
    captions = ["hello there"] * 5 + ["Hello There"] * 4
    assert TAGGERS["casing"]().tag(ctx(*captions)) == "mixed"
    assert TAGGERS["casing"](ratio=0.9).tag(ctx(*captions)) == "lower"


@pytest.mark.parametrize(
    ("captions", "expected"),
    [
        (["we are going", "we are going to the shop"], True),  # rolling: contains the previous line
        (["we are going", "to the shop", "we are going"], False),  # not the previous caption
        (["yes", "yes"], False),  # one word each: ignored
        (["yes", "yes yes"], False),  # previous caption has a single word
        (["oh no", "oh no"], True),  # exact repeat of a two-word line
        (["the cat sat", "THE CAT SAT"], False),  # case-sensitive substring
        (["a b", "xa by"], True),  # a plain substring test, not word-aligned
        (["hello world", "say hello world again"], True),
    ],
)
def test_repeating_lines(captions, expected):
    assert has_repeating_lines(captions) is expected
    assert TAGGERS["repeating_lines"]().tag(ctx(*captions)) is expected


def test_text_lang_codes_unknown_and_errors():
    assert detect_text_language("This is plainly an English sentence about the weather today.") == ("en", True)
    assert detect_text_language("Ceci est une phrase en français qui parle du temps qu'il fait.")[0] == "fr"
    assert detect_text_language("") == ("un", True)
    # control characters make cld2 fail; the tagger retries on a cleaned copy
    assert detect_text_language("This is \x7f an English sentence about the weather today.")[0] == "en"
    tagger = TAGGERS["text_lang"]()
    assert tagger.tag(ctx("\ud800")) == "un"  # lone surrogate: never a silent "en"
    assert tagger.events["errors"] == 0 or tagger.tag(ctx("\ud800\x00")) == "un"
    assert tagger.bucket("en") == "en" and tagger.bucket("un") == "un" and tagger.bucket("fr") == "other"


FRENCH = "Nous avons parlé de la musique pendant toute la soirée et les enfants jouaient dans le jardin."


def test_text_lang_reads_a_decoded_angle_bracket_as_text():
    # `&lt;` in the caption file is `<` in the text; cld2's HTML mode took it for markup and said `en`.
    record = doc("fr", "Welcome to the show everybody, x&lt;y and", FRENCH, FRENCH, FRENCH)
    assert tag_record(record, load_tagging_config("main_tagging"))["text_lang"] == "fr"
    assert detect_text_language("I think the answer is a<b. " + FRENCH * 3) == ("fr", True)


PLAIN_MACHINE = vtt(
    "so today we are going to talk\nabout the history of bread",
    "[Music]",
    "[Music]\nand the first thing you need",
    "is a good sourdough starter\nwhich takes about a week",
)


def test_edit_dist_reads_all_of_a_plain_multi_line_machine_transcript():
    # Two cues meet at `[Music]`: once taken for rolling captions, the machine text collapsed to its last
    # lines and edit_dist was ~0.9 for a perfect machine transcript.
    manual = ("So today we are going to talk about the history of bread.", "[Music]", "And the first thing you")
    record = doc("bread", *manual, "need is a good sourdough starter, which takes about a week.", mach=PLAIN_MACHINE)
    assert tag_record(record, load_tagging_config("main_tagging"))["edit_dist"] == 0.0


def test_edit_dist_of_youtube_rolling_captions_counts_each_line_once():
    words = [
        TimedWord(i * 400, i * 400 + 300, w) for i, w in enumerate(("we bake bread every morning at six " * 6).split())
    ]
    manual = ["We bake bread every morning at six."] * 6
    record = doc("yt", *manual, mach=youtube_auto_vtt(machine_words(words)))
    assert tag_record(record, load_tagging_config("main_tagging"))["edit_dist"] == 0.0


def test_edit_dist_unparseable_machine_transcript_is_null_and_counted_apart():
    tagger = TAGGERS["edit_dist"]()
    record = doc("x", "the cat sat", mach="this is not a caption file at all")
    assert tagger.tag(build_context(record, "document")) is None
    assert tagger.events == {"unparseable_machine_transcript": 1}


def test_text_lang_error_is_counted(monkeypatch):
    import pycld2

    def broken(text, **options):
        raise pycld2.error("boom")

    monkeypatch.setattr(pycld2, "detect", broken)
    tagger = TAGGERS["text_lang"]()
    assert tagger.tag(ctx("Plain English text here.")) == "un"
    assert tagger.events["errors"] == 1


@pytest.mark.parametrize(
    ("man", "mach", "expected"),
    [
        ("Hello, world.", "hello world", 0.0),  # normalised: punctuation and case do not count
        ("the cat sat", "the cat sat down", 1 / 3),
        ("the cat sat", "a dog", 1.0),
        ("cat dog", "cat dog bird fish eel", 1.5),  # can exceed 1
        ("", "", 0.0),  # both empty
        ("", "hello there", 1.0),  # manual empty, machine has words
        ("", "[Music]", 1.0),  # machine normalises to "" -> raw machine text vs ""
        ("the cat sat", "", 1.0),  # an empty machine transcript scores
        ("[Music]", "", 1.0),  # manual normalises to "": raw manual vs normalised machine
        ("[Music]", "[Music]", 1.0),  # raw "[Music]" vs normalised machine "" -> 1 deletion
        ("It's 5 o'clock", "it is five o'clock", 0.0),  # numbers and contractions standardised
        ("colour", "color", 0.0),  # British spelling
    ],
)
def test_edit_distance_and_fallbacks(man, mach, expected):
    assert manual_machine_wer(man, mach) == pytest.approx(expected)


def test_edit_dist_without_machine_transcript_is_null_and_counted():
    tagger = TAGGERS["edit_dist"]()
    assert tagger.tag(ctx("the cat sat")) is None  # missing is not a value
    assert tagger.events["no_machine_transcript"] == 1
    assert tagger.tag(ctx("the cat sat", mach="")) == 1.0  # present but empty: scores
    assert tagger.events["no_machine_transcript"] == 1
    assert [edit_dist_bucket(v) for v in (0.0, 0.5, 1.0, 1.5, None)] == ["=0", "(0,1)", "=1", ">1", "null"]


def test_seg_edit_dist_uses_the_segment_machine_text():
    tagger = TAGGERS["seg_edit_dist"]()
    assert tagger.tag(ctx("We met, yesterday.", mach="we met yesterday")) == 0.0
    assert tagger.tag(ctx("We met yesterday", mach="")) == 1.0
    assert tagger.tag(ctx("We met yesterday", level="segment")) is None
    assert tagger.events["no_machine_segment"] == 1


@pytest.mark.parametrize(
    ("man", "mach"),
    [
        # a decoded `<` made Whisper's normaliser delete everything up to the next `]`: WER 0.0 became 1.09
        ("If x < y then we stop.", "if x y then we stop"),
        (
            "If x < y then we stop. The rest of the talk is here. [Music] Thanks for watching",
            "if x y then we stop the rest of the talk is here thanks for watching",
        ),
        ("so a < b and c > d, right?", "so a b and c d right"),  # a `<`...`>` pair is not a tag either
        ("<3 you all, see you > soon", "3 you all see you soon"),
    ],
)
def test_edit_dist_decoded_angle_brackets_are_text_not_annotations(man, mach):
    assert manual_machine_wer(man, mach) == 0.0
    assert TAGGERS["edit_dist"]().tag(ctx(man, mach=mach)) == 0.0


@pytest.mark.parametrize(
    ("captions", "comma_period", "proper_cap", "words"),
    [
        (["Hello, there.", "How are you?"], True, True, 5),
        (["Hello there.", "and you"], False, False, 4),
        (["Hello, there", "and you."], True, True, 4),  # previous line does not end a sentence
        (["Wait!  ", "  no way"], False, False, 3),  # trailing spaces after "!"; leading spaces before "no"
        (["Is it?", "123 go"], False, True, 4),  # digits are not a lower-case letter
        (["comma, only"], False, True, 2),
        ([], False, True, 0),
    ],
)
def test_punctuation_taggers_and_word_counts(captions, comma_period, proper_cap, words):
    assert TAGGERS["has_comma_period"]().tag(ctx(*captions)) is comma_period
    assert proper_cap_after_punct(captions) is proper_cap
    assert TAGGERS["has_proper_cap_after_punct_line"]().tag(ctx(*captions)) is proper_cap
    assert TAGGERS["num_words"]().tag(ctx(*captions)) == words
    assert TAGGERS["seg_num_words"]().tag(ctx(*captions)) == words


def test_segment_level_fields_never_overwrite_document_tags():
    assert TAGGERS["edit_dist"]().output_field("document") == "edit_dist"
    assert TAGGERS["edit_dist"]().output_field("segment") == "seg_edit_dist"
    assert TAGGERS["casing"]().output_field("segment") == "seg_casing"
    assert TAGGERS["num_words"]().output_field("segment") == "seg_num_words"
    assert TAGGERS["seg_edit_dist"]().output_field("segment") == "seg_edit_dist"
