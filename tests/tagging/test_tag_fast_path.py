"""The taggers' fast caption path answers exactly what the full transcript parser answers, or defers to it."""

from __future__ import annotations

import random

import pytest

from olmoasr.errors import TranscriptError
from olmoasr.records.transcripts import Caption, canonical_caption_texts, format_transcript, parse_transcript

WORDS = ["we", "are", "going", "to", "the", "shop", "now", "Hello", "THERE", "my", "friend", "it", "is", "fine"]


def random_transcript(rng: random.Random) -> str:
    captions = []
    t = rng.randint(0, 5000)
    for _ in range(rng.randint(0, 6)):
        start, end = t, t + rng.randint(0, 3000)
        lines = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 5))) for _ in range(rng.randint(1, 3))]
        captions.append(Caption(start, end, "\n".join(lines)))
        t = max(0, end + rng.randint(-500, 800))
    fmt = rng.choice(["vtt", "srt"])
    text = format_transcript(captions, fmt)
    quirks = rng.sample(
        [
            lambda s: s.replace("\n", "\r\n"),
            lambda s: "\ufeff" + s,
            lambda s: s.replace(" --> ", " --> ", 1).replace("\n\n", "\n\nNOTE a remark\n\n", 1),
            lambda s: s.replace("\n\n", "\n\n\n", 2),
            lambda s: s.replace("\n\n", "\n", 1),  # two cues in one block
            lambda s: s.replace("we", "<i>we</i>", 1),
            lambda s: s.replace("the", "the &amp;", 1),
            lambda s: s.replace(".", ",", 1),  # mixed separators
            lambda s: s.replace("\n", " align:start position:0%\n", 2),
            lambda s: s.replace("shop", "\n \nshop", 1),  # whitespace-only line inside a cue
            lambda s: s + s[s.find("\n\n") + 2 :] if "\n\n" in s else s,  # repeated cues (duplicates)
            lambda s: s.replace("now", "   ", 1),
            lambda s: s.replace("00:00:0", "00:00:9", 1),  # out of order / backwards
            lambda s: s.replace("-->", "- ->", 1),
            lambda s: s.replace("00:", "0:", 1),
            lambda s: s.replace("are", "are<00:00:00.500><c> going</c>", 1),  # karaoke times
            lambda s: s.replace("is", "{\\an8}is &#10; it&nbsp;is", 1),  # ASS override, entity newline, nbsp
            lambda s: s.replace("fine", "<v Speaker>fine</v> &lt;3", 1),
        ],
        k=rng.choice([0, 0, 1, 2]),
    )
    for quirk in quirks:
        text = quirk(text)
    return text


def full_parser_texts(content: str) -> list[str] | None:
    try:
        return [c.text for c in parse_transcript(content).captions]
    except TranscriptError:
        return None


def test_fast_path_parity_on_random_transcripts():
    rng = random.Random(1234)
    answered = 0
    for _ in range(2000):
        content = random_transcript(rng)
        fast = canonical_caption_texts(content)
        if fast is not None:
            answered += 1
            assert fast == full_parser_texts(content), repr(content)
    assert answered > 1200  # the common form really takes the fast path


@pytest.mark.parametrize(
    "content",
    [
        "WEBVTT\n\n00:00:02.000 --> 00:00:03.000\nb\n\n00:00:00.000 --> 00:00:01.000\na\n\n",  # unsorted
        "WEBVTT\n\n00:00:01.000 --> 00:00:00.000\nbackwards\n\n",
        "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\na\n00:00:01.000 --> 00:00:02.000\nb\n\n",  # one block
        "WEBVTT\n\n00:00:00.000 --> 00:00:01.000 --> 00:00:02.000\na\n\n",  # two arrows on one line
        "WEBVTT\n\n0:00.000 --> 0:01.000\nshort times\n\n",
        "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n<i></i>\n\n",  # no text left
        "WEBVTT\n\n",
        "",
    ],
)
def test_anything_unusual_goes_to_the_full_parser(content):
    assert canonical_caption_texts(content) is None


@pytest.mark.parametrize(
    "content",
    [
        "WEBVTT\n\n00:00:00.000 --> 00:00:01.000 align:start position:0%\n \nhello<00:00:00.500><c> you</c>\n\n",
        "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n<b>bold</b> &amp; 3 &lt; 5\n\n",
        "\ufeff1\r\n00:00:00,000 --> 00:00:01,000\r\n{\\an8}Hello\r\n\r\n",
    ],
)
def test_markup_settings_and_line_ends_take_the_fast_path(content):
    assert canonical_caption_texts(content) == full_parser_texts(content) is not None


def test_fast_path_reads_srt_and_vtt():
    vtt = "WEBVTT\n\nNOTE x\n\n00:00:00.000 --> 00:00:01.000\nHello there\n  and you \n\n"
    srt = "1\n00:00:00,000 --> 00:00:01,000\nHello there\n\n2\n00:00:01,000 --> 00:00:02,000\nAgain\n"
    assert canonical_caption_texts(vtt) == ["Hello there\nand you"]
    assert canonical_caption_texts(srt) == ["Hello there", "Again"]
