"""Logit filters: each one rule that masks next-token logits in place, for a whole batch at once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import torch

NEG_INF = float("-inf")


class LogitFilter(Protocol):
    def apply(self, logits: torch.Tensor, tokens: torch.Tensor) -> None:
        """Mask `logits` [batch, vocab] in place given the `tokens` [batch, length] so far."""


class SuppressBlank:
    """The first sampled token may be neither a bare space nor end-of-text."""

    def __init__(self, blank_tokens: Sequence[int], sample_begin: int):
        self.blank_tokens = list(blank_tokens)
        self.sample_begin = sample_begin

    def apply(self, logits: torch.Tensor, tokens: torch.Tensor) -> None:
        if tokens.shape[1] == self.sample_begin:
            logits[:, self.blank_tokens] = NEG_INF


class SuppressTokens:
    """Tokens that are never sampled (non-speech symbols, special tokens)."""

    def __init__(self, suppressed: Sequence[int]):
        self.suppressed = torch.tensor(sorted(set(suppressed)), dtype=torch.long)

    def apply(self, logits: torch.Tensor, tokens: torch.Tensor) -> None:
        if self.suppressed.device != logits.device:
            self.suppressed = self.suppressed.to(logits.device)
        logits.index_fill_(1, self.suppressed, NEG_INF)


class TimestampRules:
    """Whisper's timestamp grammar.

    Timestamps come in pairs (end of one segment, start of the next) except right before
    end-of-text; they never decrease and a segment never has zero length; the first sampled
    token is a timestamp no later than `max_initial_index`; and when the timestamps together are
    more probable than any single text token, a timestamp is forced.
    """

    def __init__(
        self,
        timestamp_begin: int,
        eot: int,
        no_timestamps: int | None,
        sample_begin: int,
        max_initial_index: int | None,
    ):
        self.timestamp_begin = timestamp_begin
        self.eot = eot
        self.no_timestamps = no_timestamps
        self.sample_begin = sample_begin
        self.max_initial_index = max_initial_index

    def apply(self, logits: torch.Tensor, tokens: torch.Tensor) -> None:
        ts_begin = self.timestamp_begin
        if self.no_timestamps is not None:
            logits[:, self.no_timestamps] = NEG_INF

        if tokens.shape[1] > self.sample_begin:
            # per-row slice assignments: cheaper than vocabulary-wide masks for decoding batch sizes
            for row, sampled in enumerate(tokens[:, self.sample_begin :].tolist()):
                last_is_ts = sampled[-1] >= ts_begin
                penultimate_is_ts = len(sampled) < 2 or sampled[-2] >= ts_begin
                if last_is_ts and penultimate_is_ts:  # a pair just closed: text (or eot) next
                    logits[row, ts_begin:] = NEG_INF
                elif last_is_ts:  # a segment is open: its closing timestamp (or eot) next
                    logits[row, : self.eot] = NEG_INF
                last_timestamp = next((token for token in reversed(sampled) if token >= ts_begin), None)
                if last_timestamp is not None:
                    # never earlier than the last timestamp; equal only when closing a pair
                    lowest = last_timestamp if last_is_ts and not penultimate_is_ts else last_timestamp + 1
                    logits[row, ts_begin:lowest] = NEG_INF
        else:
            logits[:, :ts_begin] = NEG_INF
            if self.max_initial_index is not None:
                logits[:, ts_begin + self.max_initial_index + 1 :] = NEG_INF

        logprobs = torch.log_softmax(logits.float(), dim=-1)
        timestamp_logprob = logprobs[:, ts_begin:].logsumexp(dim=-1)
        max_text_logprob = logprobs[:, :ts_begin].amax(dim=-1)
        force = timestamp_logprob > max_text_logprob
        if bool(force.any()):
            logits[force, :ts_begin] = NEG_INF
