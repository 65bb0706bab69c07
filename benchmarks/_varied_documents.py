"""Varied document records for the tagging benchmark: what real caption pairs look like, not one template.

Lengths from 1 to ~300 captions; SRT and WebVTT (some with CRLF, a BOM, cue ids, `<i>` markup, entities);
upper, lower, mixed and tied casing; manual captions that roll; other languages; numbers, currency,
contractions, British spellings, bracketed annotations; machine transcripts that are YouTube rolling
auto-captions, plain (non-rolling) recogniser output with `[Music]` cues, empty, or absent.
"""

from __future__ import annotations

import random

from olmoasr.synth.captions import (
    Cue,
    corrupt_like_asr,
    format_srt,
    format_vtt,
    machine_words,
    rolling_cues,
    word_timings,
    youtube_auto_vtt,
)
from olmoasr.synth.texts import generated_sentence

_FOREIGN = {
    "fr": [
        "Nous avons parlé de la musique pendant toute la soirée.",
        "Il faut que tu viennes nous voir à la maison cet été.",
        "Les enfants jouaient dans le jardin quand il a commencé à pleuvoir.",
        "Je ne sais pas encore ce que nous allons faire demain matin.",
    ],
    "de": [
        "Wir haben den ganzen Abend über das neue Projekt gesprochen.",
        "Die Kinder spielen im Garten, während die Eltern kochen.",
        "Ich weiß noch nicht, was wir morgen früh machen werden.",
        "Das Wetter war gestern viel schöner als heute.",
    ],
    "es": [
        "Hablamos de la música durante toda la noche con mis amigos.",
        "Los niños jugaban en el jardín cuando empezó a llover.",
        "Todavía no sé qué vamos a hacer mañana por la mañana.",
    ],
    "ja": [
        "今日はとても良い天気ですね。散歩に行きましょう。",
        "この問題について、もう一度よく考えてみてください。",
        "私たちは昨日、駅の近くの店で昼ご飯を食べました。",
    ],
}
_EXTRAS = [
    "It's twenty five past three and I'm gonna be late.",
    "That costs $20.50, or about 1,000 pounds in total.",
    "Mr. Smith said the colour of the theatre was grey.",
    "[Music]",
    "(laughs) we can't do that, can we?",
    "uh I um think it's about one hundred and twenty.",
    "&lt;i&gt;Don't&lt;/i&gt; go there &amp; come back.",
    "<i>Whispering</i> in the dark, she said 3 things.",
    "Score: 3 &lt; 5 &gt; 2 and x &lt; y, then I said hello to everyone here.",
    "The 1960s were the 2nd best decade, said Dr. Jones.",
    "Hmm, let's see... five point two percent.",
    ">> SPEAKER: Welcome back to the show everybody.",
]


def _sentence(rng: random.Random, language: str) -> str:
    if language != "en":
        return rng.choice(_FOREIGN[language])
    if rng.random() < 0.15:
        return rng.choice(_EXTRAS)
    return generated_sentence(rng)


def _cues(texts: list[str], rng: random.Random) -> list[Cue]:
    cues, at = [], rng.randint(0, 3000)
    for text in texts:
        span = 600 + 180 * len(text.split()) + rng.randint(0, 400)
        cues.append(Cue(at, at + span, text))
        at += span + rng.randint(50, 900)
    return cues


def _two_lines(text: str, rng: random.Random) -> str:
    words = text.split()
    if len(words) > 6 and rng.random() < 0.3:
        half = len(words) // 2
        return " ".join(words[:half]) + "\n" + " ".join(words[half:])
    return text


def _plain_machine_vtt(cues: list[Cue], rng: random.Random, error_rate: float) -> str:
    """Recogniser output that does not roll: one or two lines per cue, `[Music]` cues between some."""
    out: list[Cue] = []
    for cue in cues:
        words = corrupt_like_asr(word_timings(cue), error_rate, rng)
        if words:
            out.append(Cue(cue.start_ms, cue.end_ms, _two_lines(" ".join(w.text for w in words), rng)))
        if rng.random() < 0.15:
            out.append(Cue(cue.end_ms, cue.end_ms + 40, "[Music]"))
    return format_vtt(out)


def varied_document(rng: random.Random, index: int) -> dict:
    size = rng.random()
    n = rng.randint(1, 3) if size < 0.15 else rng.randint(4, 40) if size < 0.75 else rng.randint(41, 300)
    language = "en" if rng.random() < 0.88 else rng.choice(sorted(_FOREIGN))
    texts = [_sentence(rng, language) for _ in range(n)]
    style = rng.random()
    if style < 0.1:
        texts = [t.upper() for t in texts]
    elif style < 0.2:
        texts = [t.lower() for t in texts]
    elif style < 0.3 and n <= 4:  # upper and mixed in equal numbers: a casing tie
        texts = [t.upper() if i % 2 else t for i, t in enumerate(texts)]
    spoken = _cues(texts, rng)
    manual = rolling_cues(spoken) if rng.random() < 0.1 else spoken
    manual = [Cue(c.start_ms, c.end_ms, _two_lines(c.text, rng)) for c in manual]
    if rng.random() < 0.35:
        suffix, content = ".srt", format_srt(manual, crlf=rng.random() < 0.2)
    else:
        suffix, content = ".vtt", format_vtt(manual, cue_ids=rng.random() < 0.2)
    if rng.random() < 0.05:
        content = "\ufeff" + content
    record = {
        "subtitle_file": f"raw/shard_00000/v{index}/transcript_v{index}{suffix}",
        "content": content,
        "length": round(spoken[-1].end_ms / 1000 - spoken[0].start_ms / 1000, 3),
        "audio_file": f"raw/shard_00000/v{index}/audio_v{index}.m4a",
        "id": f"v{index:07d}",
    }
    machine = rng.random()
    error_rate = rng.choice([0.0, 0.05, 0.1, 0.2, 0.4, 0.8])
    if machine < 0.5:
        words = [w for cue in spoken for w in corrupt_like_asr(word_timings(cue), error_rate, rng)]
        record["mach_content"] = youtube_auto_vtt(words or machine_words(word_timings(spoken[0])))
    elif machine < 0.8:
        record["mach_content"] = _plain_machine_vtt(spoken, rng, error_rate)
    elif machine < 0.85:
        record["mach_content"] = ""
    return record


def varied_documents(count: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    return [varied_document(rng, i) for i in range(count)]
