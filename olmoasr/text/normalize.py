"""Whisper's English text normaliser, with output identical to the `whisper-normalizer` package, faster.

Tagging (edit distances), training metrics and evaluation must normalise the same way, and the paper's
numbers were computed with Whisper's `EnglishTextNormalizer`, so that package stays the definition: its
tables (contractions and titles, number words, British -> American spellings) and its number parser are
used as they are. What changes is how the steps run over a long text, where the reference spends most of
its time:

- the steps that never look across a space (contraction/title rules, comma and period rules, NFKD and
  the symbol table) run once per distinct space-separated chunk and are remembered (`_local_steps`);
- the ~50 contraction/title rules are not ~50 passes: the whole-word rules run as one pass per group of
  consecutive whole-word rules (their matches are disjoint whole words whose replacements hold no rule
  word, which is checked when the rules load), the others run only when their literal text occurs;
- symbols and diacritics are removed with `str.translate` over a per-character table filled on demand
  (the same Unicode categories), not a Python call per character;
- the number parser runs only on the stretches that hold number words or digits: a word that is neither
  leaves its state empty, so plain words pass straight through (see `_standardize_words`).

`tests/tagging/test_tag_normalizer.py` compares the output with the package's on a large random corpus.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import cache
from itertools import compress
from typing import Any

_BRACKETED = re.compile(r"[<\[][^>\]]*[>\]]")
_PARENTHESISED = re.compile(r"\(([^)]+?)\)")
_DIGIT_COMMA_DIGIT = re.compile(r"(\d),(\d)")
_PERIOD_NOT_BEFORE_DIGIT = re.compile(r"\.([^0-9]|$)")
_LONE_PERIOD_NOT_BEFORE_DIGIT = re.compile(r"\.(?![0-9])")
_SYMBOL_NOT_BEFORE_DIGIT = re.compile(r"[.$¢€£]([^0-9])")
_PERCENT_NOT_AFTER_DIGIT = re.compile(r"([^0-9])%")
_WHITESPACE = re.compile(r"\s+")
# The reference's number pre/post-processing patterns, each led by its rarer character (same matches).
_DIGIT_AFTER_LETTER = re.compile(r"[0-9](?<=[a-z][0-9])")  # ([a-z])([0-9]) -> \1 \2
_DIGIT_BEFORE_LETTER = re.compile(r"[0-9](?=[a-z])")  # ([0-9])([a-z]) -> \1 \2
_DIGIT_SPACE_SUFFIX = re.compile(r"([0-9])\s+(st|nd|rd|th|s)\b")
_LONE_ONE = re.compile(r"1(?<!\w1)(s?)\b")  # \b1(s?)\b
_NUMERIC = re.compile(r"^\d+(\.\d+)?$")
_WHOLE_WORD_RULE = re.compile(r"\\b(\w+)\\b")
_WORD_RUN = re.compile(r"\w+")
_BOUNDED_LITERAL = re.compile(r"\\b\w[\w']*\w\\b")  # `\bi'ma\b`: starts and ends with a word character
PLAIN, BEFORE_PLAIN, NUMBER = 0, 1, 2
_KEEP_SYMBOLS = ".%$¢€£"  # kept for the number parser, as the reference does
_ASCII_DIGITS = "0123456789"


class _SymbolTable(dict):
    """`str.translate` table of the reference's symbol/diacritic removal (after NFKD), filled per character."""

    def __init__(self, keep: str, diacritics: dict[str, str]):
        super().__init__()
        self.keep = keep
        self.diacritics = diacritics

    def __missing__(self, code: int) -> str:
        char = chr(code)
        if char in self.keep:
            out = char
        elif char in self.diacritics:
            out = self.diacritics[char]
        else:
            category = unicodedata.category(char)
            out = "" if category == "Mn" else " " if category[0] in "MSP" else char
        self[code] = out
        return out


class EnglishNormalizer:
    """Callable: `normalizer(text) -> normalised text`, equal to whisper-normalizer's `EnglishTextNormalizer`."""

    def __init__(self) -> None:
        from whisper_normalizer.basic import ADDITIONAL_DIACRITICS
        from whisper_normalizer.english import EnglishTextNormalizer

        reference = EnglishTextNormalizer()
        self._ignore = _fast_word_alternation(reference.ignore_patterns)
        self._rules = _rule_groups(reference.replacers)
        self._symbols = _SymbolTable(_KEEP_SYMBOLS, dict(ADDITIONAL_DIACRITICS))
        numbers = reference.standardize_numbers
        self._numbers = numbers
        self._spellings: dict[str, str] = reference.standardize_spellings.mapping
        # Word sets whose words the parser turns into (part of) a number, in its own order of tests.
        self._starts_numbers = (
            numbers.zeros,
            numbers.ones,
            numbers.ones_suffixed,
            numbers.tens,
            numbers.tens_suffixed,
            numbers.multipliers,
            numbers.multipliers_suffixed,
        )
        self._kinds: dict[str, int] = {}
        self._stretches: dict[tuple[str, ...], list[str]] = {}
        self._local = _LocalSteps(self._local_steps)
        self._space_heads = _cross_space_heads(reference.replacers)

    def _local_steps(self, s: str) -> str:
        """The contraction/title rules, the digit-comma and period rules, then NFKD and the symbol table.
        Applied to the chunks of a text between its spaces one by one, they give the text they give applied to
        it whole: lower-casing, brackets, fillers and apostrophes ran before on the whole text; no pattern here
        matches a space or tests a character beyond one except as a non-word character, which a chunk's edge
        is too; `\\.([^0-9]|$)` puts back the space it consumes; NFKD and the table map characters one by one
        (a space stops canonical reordering). The rules whose text holds a space are kept whole by
        `_cross_space_heads`. Memoised per chunk (`_LocalSteps`): most chunks are words seen before."""
        for rule in self._rules:
            s = rule(s)
        if "," in s:
            s = _DIGIT_COMMA_DIGIT.sub(r"\1\2", s)
        if "." in s:
            # Without two periods in a row, the reference's `\.([^0-9]|$)` -> ` \1` (which also consumes the
            # character after the period) is the same as turning every period not before a digit into a space.
            lone = ".." not in s
            s = _LONE_PERIOD_NOT_BEFORE_DIGIT.sub(" ", s) if lone else _PERIOD_NOT_BEFORE_DIGIT.sub(r" \1", s)
        return unicodedata.normalize("NFKD", s).translate(self._symbols)

    def __call__(self, text: str) -> str:
        s = text.lower()
        if "<" in s or "[" in s:
            s = _BRACKETED.sub("", s)
        if "(" in s:
            s = _PARENTHESISED.sub("", s)
        s = self._ignore.sub("", s)
        if "'" in s:
            # `\s+'` -> `'`: the whitespace right before every apostrophe goes (`str.rstrip` strips `\s`).
            pieces = s.split("'")
            s = "'".join([*map(str.rstrip, pieces[:-1]), pieces[-1]])
        heads = self._space_heads
        if heads is None or _KEPT_SPACE in s:
            s = self._local_steps(s)
        else:
            # The local steps never look across a space (see `_local_steps`), except the rules whose text
            # holds one: a space such a rule could match stays inside its chunk (as `_KEPT_SPACE`).
            for head in heads:
                if head in s:
                    s = s.replace(head, head[:-1] + _KEPT_SPACE)
            local = self._local
            s = " ".join([local[chunk] for chunk in s.split(" ")])
        words = self._standardize_words(self._preprocess_numbers(s).split())
        s = " ".join(words)
        if any(char in s for char in "€£$¢1"):
            s = self._postprocess_numbers(s)
            words = s.split()
        spellings = self._spellings
        s = " ".join(map(spellings.get, words, words))
        # `s` is now words joined by single spaces: the last pass matters only where a symbol became a space.
        changed = 0
        if any(symbol in s for symbol in ".$¢€£"):
            s, changed = _SYMBOL_NOT_BEFORE_DIGIT.subn(r" \1", s)
        if "%" in s:
            s, percents = _PERCENT_NOT_AFTER_DIGIT.subn(r"\1 ", s)
            changed += percents
        return _collapse_whitespace(s) if changed else s

    def _preprocess_numbers(self, s: str) -> str:
        """The reference's `preprocess`: with "half" in the text, the reference itself; else its "... and a
        half" rewrite has nothing to do (it still turns blank text into ""), and without an ASCII digit
        neither have its digit/letter spacing rules. Those rules run here led by the digit of each
        letter/digit boundary, which `re` finds fast; a boundary's two characters are never shared by two
        matches, so inserting a space at every boundary is what the reference's `\\1 \\2` does."""
        if "half" in s:
            return self._numbers.preprocess(s)
        if not any(digit in s for digit in _ASCII_DIGITS):
            return s if s.strip() else ""
        s = _DIGIT_AFTER_LETTER.sub(r" \g<0>", s)
        s = _DIGIT_BEFORE_LETTER.sub(r"\g<0> ", s)
        return _DIGIT_SPACE_SUFFIX.sub(r"\1\2", s)

    def _postprocess_numbers(self, s: str) -> str:
        """The reference's `postprocess` (currency amounts, "1" -> "one"): the reference itself where a
        currency sign occurs; else only its `\\b1(s?)\\b` -> `one\\1` can apply, run here led by the `1`."""
        if any(char in s for char in "€£$¢"):
            return self._numbers.postprocess(s)
        if "1" in s:
            return _LONE_ONE.sub(r"one\1", s)
        return s

    def _word_kind(self, word: str) -> int:
        """PLAIN: neither a number word nor digits; the reference's parser emits it unchanged, ends with no
        pending number, prefix or skip, and no rule looks back at it or ahead past it. BEFORE_PLAIN: a word
        (`and`, `point`, `per`, `dollars`, `minus`, ...) that, with nothing pending and a plain word next,
        is emitted unchanged and leaves nothing pending. NUMBER: anything else."""
        kind = self._kinds.get(word)
        if kind is None:
            numbers = self._numbers
            bare = word[1:] if word[0] in numbers.prefixes else word
            if _NUMERIC.match(bare) is not None:
                kind = NUMBER
            elif word not in numbers.words:
                kind = PLAIN
            elif any(word in group for group in self._starts_numbers):
                kind = NUMBER
            else:
                kind = BEFORE_PLAIN
            if len(self._kinds) > 200_000:
                self._kinds.clear()
            self._kinds[word] = kind
        return kind

    def _standardize_words(self, words: list[str]) -> list[str]:
        """The reference's number parser, run only on the stretches that need it. A stretch starts at a
        NUMBER word (or a BEFORE_PLAIN word not followed by a plain one) and ends at the next plain word,
        which the parser never looks past; every other word is emitted as it is."""
        known = self._kinds.get
        kinds = list(map(known, words))
        if None in kinds:
            kinds = [self._word_kind(word) if kind is None else kind for word, kind in zip(words, kinds, strict=True)]
        not_plain = list(compress(range(len(kinds)), kinds))  # PLAIN is 0
        if not not_plain:
            return words
        out: list[str] = []
        emitted = 0  # words[emitted:] are not in `out` yet
        last = len(words) - 1
        for i in not_plain:
            if i < emitted:
                continue
            kind = kinds[i]
            if kind == BEFORE_PLAIN and i < last and kinds[i + 1] == PLAIN:
                continue  # emitted as it is, with the plain words around it
            end = i + 1
            while end <= last and kinds[end] != PLAIN:
                end += 1
            out.extend(words[emitted:i])
            out.extend(self._parse_stretch(tuple(words[i : end + 1])))
            emitted = end + 1
        out.extend(words[emitted:])
        return out

    def _parse_stretch(self, stretch: tuple[str, ...]) -> list[str]:
        """The parser's output for one stretch; it starts with nothing pending, so the output depends on the
        words alone and is remembered (stretches like `one of`, `twenty five percent` recur)."""
        parsed = self._stretches.get(stretch)
        if parsed is None:
            parsed = list(self._numbers.process_words(list(stretch)))
            if len(self._stretches) > 100_000:
                self._stretches.clear()
            self._stretches[stretch] = parsed
        return parsed


def _collapse_whitespace(s: str) -> str:
    """`re.sub(r"\\s+", " ", s)` (`\\s` is `str.isspace`, as `str.split` uses it) without a match per space."""
    core = " ".join(s.split())
    if not core:
        return " " if s else ""
    return (" " if s[0].isspace() else "") + core + (" " if s[-1].isspace() else "")


_KEPT_SPACE = "\ue000"  # a private-use character: a space kept inside a chunk


class _LocalSteps(dict):
    """chunk -> `EnglishNormalizer._local_steps(chunk)` (with its kept spaces put back), computed on first
    use (bounded)."""

    def __init__(self, steps: Callable[[str], str]):
        super().__init__()
        self.steps = steps

    def __missing__(self, chunk: str) -> str:
        if len(self) > 200_000:
            self.clear()
        out = self[chunk] = self.steps(chunk.replace(_KEPT_SPACE, " ") if _KEPT_SPACE in chunk else chunk)
        return out


def _cross_space_heads(replacers: dict[str, str]) -> tuple[str, ...] | None:
    """For the rules whose text holds a space (`'s been\\b` -> ` has been`): the text up to and including
    that space (`'s `); a space after such a head is kept inside its chunk. Sound because every rule before
    them starts with a word boundary and a word character (so none turns a character after `'s` into a space)
    and no replacement holds an apostrophe (so none creates `'s`); if the reference's tables ever break that,
    None, and texts are normalised whole."""
    heads = set()
    for pattern, replacement in replacers.items():
        if "'" in replacement:
            return None
        literal = pattern.replace(r"\b", "")
        if " " in literal:
            if re.escape(literal).replace("\\ ", " ") != literal or not literal.startswith("'"):
                return None
            heads.add(literal.split(" ", 1)[0] + " ")
        elif not heads and re.match(r"\\b\w", pattern) is None:
            return None
    return tuple(sorted(heads))


def _rule_groups(replacers: dict[str, str]) -> list[Callable[[str], str]]:
    """The reference's contraction/title rules, in as few passes as give the same result as its order.

    Whole-word rules (`\\bword\\b`) are gathered into one pass: their matches are whole words (maximal runs
    of word characters), never overlap, and replacing one leaves the others' surroundings as they were. A
    whole-word rule joins the open pass unless an earlier replacement in it contains its word (sequentially
    it would have replaced that too). A bounded literal rule (`\\blit\\b`) met while a pass is open moves
    after it if it commutes with every whole-word rule that joins later (`_commutes`); any other rule closes
    the pass. Every rule that is not a whole-word rule runs only when its literal text occurs.
    """
    groups: list[Callable[[str], str]] = []
    run: dict[str, str] = {}
    deferred: list[tuple[str, str]] = []

    def close_run() -> None:
        if run:
            groups.append(_whole_word_pass(dict(run)))
            run.clear()
        groups.extend(_literal_rule(pattern, replacement) for pattern, replacement in deferred)
        deferred.clear()

    for pattern, replacement in replacers.items():
        word = _WHOLE_WORD_RULE.fullmatch(pattern)
        if word is not None and "\\" not in replacement:  # a plain replacement, not a template
            w = word.group(1)
            if any(w in _WORD_RUN.findall(earlier) for earlier in run.values()) or not all(
                _commutes(p, r, w, replacement) for p, r in deferred
            ):
                close_run()
            run[w] = replacement
        elif run and _BOUNDED_LITERAL.fullmatch(pattern) and "\\" not in replacement:
            deferred.append((pattern, replacement))
        else:
            close_run()
            groups.append(_literal_rule(pattern, replacement))
    close_run()
    return groups


def _commutes(pattern: str, replacement: str, word: str, word_replacement: str) -> bool:
    """Whether the bounded literal rule `pattern -> replacement` and the whole-word rule `word ->
    word_replacement` give the same text in either order: neither's match can hold or create the other's.
    (The literal's match is bounded by non-word characters, so the word's match lies inside it only as one
    of its word runs, and its replacement creates the word only as one of its own word runs.)"""
    literal = pattern[2:-2]
    return (
        word not in _WORD_RUN.findall(literal)
        and word not in _WORD_RUN.findall(replacement)
        and not _may_overlap(literal, word_replacement)
    )


def _may_overlap(literal: str, text: str) -> bool:
    """Whether `literal` could occur overlapping `text` where `text` replaced a whole word, i.e. stands between
    non-word characters (or the ends of the string): some alignment agrees on every shared character and
    puts a non-word character of `literal`, if any, right before and after `text`."""
    for shift in range(1 - len(literal), len(text)):
        fits = True
        for i, char in enumerate(literal):
            j = shift + i
            if 0 <= j < len(text):
                fits = text[j] == char
            elif j in (-1, len(text)):
                fits = _WORD_RUN.match(char) is None
            if not fits:
                break
        if fits:
            return True
    return False


def _whole_word_pass(table: dict[str, str]) -> Callable[[str], str]:
    words = sorted(table, key=len, reverse=True)
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b")
    lookup: Callable[[Any], str] = lambda match: table[match.group()]  # noqa: E731
    return lambda s: pattern.sub(lookup, s)


def _literal_rule(pattern: str, replacement: str) -> Callable[[str], str]:
    literal = pattern.replace(r"\b", "")
    if re.escape(literal) != literal:  # not a plain literal: always run it
        compiled = re.compile(pattern)
        return lambda s: compiled.sub(replacement, s)
    compiled = re.compile(_led_by_literal(literal) if _BOUNDED_LITERAL.fullmatch(pattern) else pattern)
    return lambda s: compiled.sub(replacement, s) if literal in s else s


def _led_by_literal(word: str) -> str:
    """`\\bword\\b` spelled so that the regex starts with the word itself (which lets `re` search for it
    directly instead of testing a boundary at every position): `word(?<!\\wword)\\b`. A word starting with
    a word character has a boundary before it exactly when no word character precedes it."""
    escaped = re.escape(word)
    return rf"{escaped}(?<!\w{escaped})\b"


def _fast_word_alternation(pattern: str) -> re.Pattern[str]:
    """The reference's `\\b(w1|w2|...)\\b` filler pattern, each alternative led by its word (see
    `_led_by_literal`); any other pattern is compiled as it is."""
    words = re.fullmatch(r"\\b\((\w+(?:\|\w+)*)\)\\b", pattern)
    if words is None:
        return re.compile(pattern)
    alternatives = [word + rf"(?<!\w{word})" for word in words.group(1).split("|")]
    return re.compile("(?:" + "|".join(alternatives) + r")\b")


@cache
def english_normalizer() -> EnglishNormalizer:
    return EnglishNormalizer()


def normalize_english(text: str) -> str:
    """Lower-case, spell out / standardise numbers, spellings and punctuation like Whisper's normaliser."""
    return english_normalizer()(text)


_ANGLE_BRACKETS = str.maketrans("<>", "  ")


def normalize_caption_text(text: str) -> str:
    """`normalize_english` for caption text whose entities are already decoded, as edit distances compare it.

    A decoded `&lt;` / `&gt;` is a character of the text (`3 < 5`), not markup, but Whisper's normaliser
    deletes everything from a `<` to the next `>` or `]` as a bracketed annotation, so `<` and `>` become
    spaces first. `[...]` and `(...)` annotations are removed as usual."""
    if "<" in text or ">" in text:
        text = text.translate(_ANGLE_BRACKETS)
    return english_normalizer()(text)
