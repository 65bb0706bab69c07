"""What every engine feeds the decoder for one set of options: the initial tokens and the suppressed tokens.

Both engines (olmoasr's torch network and CTranslate2) build their prompts here, so a window is
decoded from the same context whichever engine runs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from olmoasr.model.decoding.options import DecodingOptions

if TYPE_CHECKING:
    from olmoasr.model.tokenizer import Tokenizer


def sample_length(options: DecodingOptions, n_text_ctx: int) -> int:
    """New tokens allowed per window: `sample_len`, or half the decoder context (224 for Whisper)."""
    return options.sample_len or n_text_ctx // 2


def _encode_text(tokenizer: Tokenizer, text: str | list[int]) -> list[int]:
    return tokenizer.encode(" " + text.strip()) if isinstance(text, str) else list(text)


def initial_tokens(
    tokenizer: Tokenizer, options: DecodingOptions, n_text_ctx: int, prompt: str | list[int] | None = None
) -> tuple[int, ...]:
    """[<|startofprev|> prompt...] <|startoftranscript|> language task [<|notimestamps|>] [prefix...].

    The prompt is `options.prompt`, or `prompt` when one window of a batch has its own.
    """
    if options.without_timestamps:
        tokens = list(tokenizer.sot_sequence_including_notimestamps)
    else:
        tokens = list(tokenizer.sot_sequence)
    if options.prefix:
        prefix = _encode_text(tokenizer, options.prefix)
        max_prefix_len = n_text_ctx // 2 - sample_length(options, n_text_ctx)
        if max_prefix_len > 0:
            prefix = prefix[-max_prefix_len:]
        tokens += prefix
    prompt = prompt or options.prompt
    if prompt:
        prompt_tokens = _encode_text(tokenizer, prompt)
        tokens = [tokenizer.sot_prev, *prompt_tokens[-(n_text_ctx // 2 - 1) :], *tokens]
    return tuple(tokens)


def suppressed_tokens(tokenizer: Tokenizer, options: DecodingOptions) -> list[int]:
    """Tokens never sampled: the requested ones (-1: the non-speech symbols) and the task's special tokens."""
    requested = list(options.suppress_tokens)
    suppressed = [token for token in requested if token >= 0]
    if -1 in requested:
        suppressed += list(tokenizer.non_speech_tokens)
    specials = [
        tokenizer.transcribe,
        tokenizer.translate,
        tokenizer.sot,
        tokenizer.sot_prev,
        getattr(tokenizer, "sot_lm", None),
        tokenizer.no_speech,
    ]
    suppressed += [token for token in specials if token is not None]
    return sorted(set(suppressed))
