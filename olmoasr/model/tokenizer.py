"""Whisper's byte-level BPE tokenizer (tiktoken) with the special-token layout of spec §7.2.

Special tokens follow the BPE ranks in this order: end-of-text, start-of-transcript, one token per
language slot, translate, transcribe, start-of-lm, start-of-previous, no-speech, no-timestamps, then
1501 timestamps `<|0.00|>` .. `<|30.00|>` in 20 ms steps. English-only models use the GPT-2 ranks
(50256) and 99 language slots, so end-of-text is 50256 and the vocabulary has 51864 entries.
"""

from __future__ import annotations

import base64
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources

import tiktoken

from olmoasr.errors import UsageError
from olmoasr.model.languages import LANGUAGES, NO_SPACE_LANGUAGES, TO_LANGUAGE_CODE, language_code

__all__ = [
    "LANGUAGES",
    "TO_LANGUAGE_CODE",
    "TIMESTAMP_STEP_MS",
    "N_TIMESTAMPS",
    "Tokenizer",
    "get_tokenizer",
    "get_encoding",
]

TIMESTAMP_STEP_MS = 20
N_TIMESTAMPS = 1501  # <|0.00|> .. <|30.00|>

# GPT-2's pre-tokenisation pattern (contractions, letters, digits, other symbols, whitespace).
_GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

_TASK_TOKENS = (
    "<|translate|>",
    "<|transcribe|>",
    "<|startoflm|>",
    "<|startofprev|>",
    "<|nospeech|>",
    "<|notimestamps|>",
)


def _load_ranks(vocab_name: str) -> dict[bytes, int]:
    text = resources.files("olmoasr.model").joinpath("assets", f"{vocab_name}.tiktoken").read_text("ascii")
    ranks: dict[bytes, int] = {}
    for line in text.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


@cache
def get_encoding(vocab_name: str = "gpt2", num_languages: int = 99) -> tiktoken.Encoding:
    """The tiktoken Encoding for `gpt2` (English) or `multilingual` ranks with Whisper's special tokens."""
    if vocab_name not in ("gpt2", "multilingual"):
        raise ValueError(f"unknown vocabulary {vocab_name!r}; expected 'gpt2' or 'multilingual'")
    if not 1 <= num_languages <= len(LANGUAGES):
        raise ValueError(f"num_languages must be in 1..{len(LANGUAGES)}, got {num_languages}")
    ranks = _load_ranks(vocab_name)
    names = ["<|endoftext|>", "<|startoftranscript|>"]
    names += [f"<|{code}|>" for code in list(LANGUAGES)[:num_languages]]
    names += _TASK_TOKENS
    names += [f"<|{i * TIMESTAMP_STEP_MS / 1000:.2f}|>" for i in range(N_TIMESTAMPS)]
    first = len(ranks)
    special = {name: first + i for i, name in enumerate(names)}
    return tiktoken.Encoding(
        name=f"olmoasr-{vocab_name}-{num_languages}",
        explicit_n_vocab=first + len(names),
        pat_str=_GPT2_PATTERN,
        mergeable_ranks=ranks,
        special_tokens=special,
    )


@dataclass(frozen=True)
class Tokenizer:
    """Text <-> token ids plus the special ids a Whisper-style model reads and writes."""

    encoding: tiktoken.Encoding
    num_languages: int
    language: str | None = None
    task: str | None = None
    special_tokens: dict[str, int] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        specials = {name: self.encoding.encode_single_token(name) for name in self.encoding.special_tokens_set}
        object.__setattr__(self, "special_tokens", specials)

    def __reduce__(self):
        # Workers rebuild the (cached) tokenizer instead of receiving 50k BPE ranks in every pickle.
        multilingual = self.encoding.name.startswith("olmoasr-multilingual")
        return _rebuild, (multilingual, self.num_languages, self.language, self.task)

    # ---- text ----------------------------------------------------------------------------------
    def encode(self, text: str) -> list[int]:
        """Plain text -> ids. Strings such as "<|endoftext|>" inside web text are encoded as ordinary text."""
        return self.encoding.encode(text, allowed_special=set(), disallowed_special=())

    def decode(self, token_ids: Iterable[int]) -> str:
        """Text of the ordinary tokens only (special and timestamp tokens are dropped)."""
        eot = self.eot
        return self.encoding.decode([t for t in _as_ints(token_ids) if t < eot])

    def decode_with_timestamps(self, token_ids: Iterable[int]) -> str:
        """Text with every special token spelled out, e.g. `<|0.00|> Hello<|1.20|>`."""
        return self.encoding.decode(_as_ints(token_ids))

    # ---- special ids ---------------------------------------------------------------------------
    @cached_property
    def eot(self) -> int:
        return self.special_tokens["<|endoftext|>"]

    @cached_property
    def sot(self) -> int:
        return self.special_tokens["<|startoftranscript|>"]

    @cached_property
    def transcribe(self) -> int:
        return self.special_tokens["<|transcribe|>"]

    @cached_property
    def translate(self) -> int:
        return self.special_tokens["<|translate|>"]

    @cached_property
    def sot_lm(self) -> int:
        return self.special_tokens["<|startoflm|>"]

    @cached_property
    def sot_prev(self) -> int:
        return self.special_tokens["<|startofprev|>"]

    @cached_property
    def no_speech(self) -> int:
        return self.special_tokens["<|nospeech|>"]

    @cached_property
    def no_timestamps(self) -> int:
        return self.special_tokens["<|notimestamps|>"]

    @cached_property
    def timestamp_begin(self) -> int:
        return self.special_tokens["<|0.00|>"]

    @property
    def n_vocab(self) -> int:
        return self.encoding.n_vocab

    def language_token(self, language: str) -> int:
        code = language_code(language)
        token = self.special_tokens.get(f"<|{code}|>")
        if token is None:
            raise UsageError(f"language {language!r} has no token in this {self.num_languages}-language vocabulary")
        return token

    @cached_property
    def all_language_tokens(self) -> tuple[int, ...]:
        return tuple(self.special_tokens[f"<|{code}|>"] for code in self.all_language_codes)

    @cached_property
    def all_language_codes(self) -> tuple[str, ...]:
        return tuple(list(LANGUAGES)[: self.num_languages])

    @cached_property
    def sot_sequence(self) -> tuple[int, ...]:
        sequence = [self.sot]
        if self.language is not None:
            sequence.append(self.language_token(self.language))
        if self.task is not None:
            sequence.append(self.transcribe if self.task == "transcribe" else self.translate)
        return tuple(sequence)

    @cached_property
    def sot_sequence_including_notimestamps(self) -> tuple[int, ...]:
        return (*self.sot_sequence, self.no_timestamps)

    def timestamp_token(self, ms: float) -> int:
        """The timestamp token at or just before `ms` milliseconds (20 ms steps, 0..30 000 ms)."""
        if not 0 <= ms <= (N_TIMESTAMPS - 1) * TIMESTAMP_STEP_MS:
            raise ValueError(f"timestamp {ms} ms is outside the 0..30000 ms window")
        return self.timestamp_begin + int(ms // TIMESTAMP_STEP_MS)

    @cached_property
    def non_speech_tokens(self) -> tuple[int, ...]:
        """Tokens of symbols and markup that are never speech (suppressed by default when decoding).

        Same set as openai-whisper's: each symbol's single token, with and without a leading space,
        plus the leading-space forms of ``-`` and ``'``; musical symbols are kept even when split.
        """
        symbols = list('"#()*+/:;<=>@[\\]^_`{|}~「」『』')
        symbols += ["<<", ">>", "<<<", ">>>", "--", "---", "-(", "-[", "('", '("', "((", "))", "(((", ")))"]
        symbols += ["[[", "]]", "{{", "}}", "♪♪", "♪♪♪"]
        musical = set("♩♪♫♬♭♮♯")
        result = {self.encode(" -")[0], self.encode(" '")[0]}
        for symbol in symbols + sorted(musical):
            for variant in (symbol, " " + symbol):
                ids = self.encode(variant)
                if len(ids) == 1 or symbol in musical:
                    result.add(ids[0])
        return tuple(sorted(result))

    # ---- words (for word-level timestamps) ----------------------------------------------------
    def split_to_word_tokens(self, token_ids: Sequence[int]) -> tuple[list[str], list[list[int]]]:
        """Group ids into words: on spaces and punctuation, or per character for scripts without spaces."""
        if self.language is not None and language_code(self.language) in NO_SPACE_LANGUAGES:
            return self._split_on_unicode(token_ids)
        return self._split_on_spaces(token_ids)

    def _split_on_unicode(self, token_ids: Sequence[int]) -> tuple[list[str], list[list[int]]]:
        # A byte-level BPE token can end in the middle of a UTF-8 character; grow a group until its
        # text no longer ends in (or, for the full sequence, only ends in) a replacement character.
        ids = _as_ints(token_ids)
        full_text = self.decode_with_timestamps(ids)
        words: list[str] = []
        groups: list[list[int]] = []
        pending: list[int] = []
        offset = 0
        for token in ids:
            pending.append(token)
            text = self.decode_with_timestamps(pending)
            if "\ufffd" not in text or full_text[offset + text.index("\ufffd")] == "\ufffd":
                words.append(text)
                groups.append(pending)
                pending = []
                offset += len(text)
        return words, groups

    def _split_on_spaces(self, token_ids: Sequence[int]) -> tuple[list[str], list[list[int]]]:
        subwords, subword_groups = self._split_on_unicode(token_ids)
        words: list[str] = []
        groups: list[list[int]] = []
        for text, group in zip(subwords, subword_groups, strict=True):
            starts_word = (
                group[0] >= self.eot or text.startswith(" ") or text.strip() in string.punctuation or not words
            )
            if starts_word:
                words.append(text)
                groups.append(list(group))
            else:
                words[-1] += text
                groups[-1].extend(group)
        return words, groups


def _rebuild(multilingual: bool, num_languages: int, language: str | None, task: str | None) -> Tokenizer:
    return get_tokenizer(multilingual, num_languages=num_languages, language=language, task=task)


def _as_ints(token_ids: Iterable[int]) -> list[int]:
    if hasattr(token_ids, "tolist"):
        token_ids = token_ids.tolist()
    return [int(t) for t in token_ids]


@cache
def get_tokenizer(
    multilingual: bool = False,
    *,
    num_languages: int = 99,
    language: str | None = None,
    task: str | None = None,
) -> Tokenizer:
    """The (cached) tokenizer. English-only models use no language or task token in the sot sequence.

    For multilingual models `language` defaults to English and `task` to "transcribe", as in Whisper.
    """
    if task is not None and task not in ("transcribe", "translate"):
        raise UsageError(f"unknown task {task!r}; expected 'transcribe' or 'translate'")
    if language is not None:
        try:
            language = language_code(language)
        except ValueError as err:
            raise UsageError(str(err)) from None
    if multilingual:
        encoding = get_encoding("multilingual", num_languages)
        language = language or "en"
        task = task or "transcribe"
    else:
        encoding = get_encoding("gpt2", num_languages)
        language = None
        task = None
    tokenizer = Tokenizer(encoding=encoding, num_languages=num_languages, language=language, task=task)
    if language is not None:
        tokenizer.language_token(language)  # fail now if the vocabulary has no slot for it
    return tokenizer
