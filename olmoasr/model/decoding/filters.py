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

        sampled = tokens[:, self.sample_begin :]
        n_sampled = sampled.shape[1]
        if n_sampled > 0:
            is_timestamp = sampled >= ts_begin
            last_is_ts = is_timestamp[:, -1]
            penultimate_is_ts = is_timestamp[:, -2] if n_sampled >= 2 else torch.ones_like(last_is_ts)
            pair_closed = last_is_ts & penultimate_is_ts  # next must be text (or eot)
            pair_open = last_is_ts & ~penultimate_is_ts  # next must be a timestamp (or eot)
            logits[pair_closed, ts_begin:] = NEG_INF
            logits[pair_open, : self.eot] = NEG_INF

            # last timestamp so far (timestamps are monotonic, so the last is the largest)
            last_timestamp = torch.where(is_timestamp, sampled, torch.full_like(sampled, -1)).amax(dim=1)
            has_timestamp = last_timestamp >= 0
            # a segment may end at its start only when closing the pair; otherwise strictly later
            lowest_allowed = torch.where(pair_open, last_timestamp, last_timestamp + 1)
            columns = torch.arange(logits.shape[1], device=logits.device)
            too_early = (columns >= ts_begin) & (columns < lowest_allowed[:, None]) & has_timestamp[:, None]
            logits.masked_fill_(too_early, NEG_INF)
        else:
            logits[:, :ts_begin] = NEG_INF
            if self.max_initial_index is not None:
                logits[:, ts_begin + self.max_initial_index + 1 :] = NEG_INF

        logprobs = torch.log_softmax(logits.float(), dim=-1)
        timestamp_logprob = logprobs[:, ts_begin:].logsumexp(dim=-1)
        max_text_logprob = logprobs[:, :ts_begin].amax(dim=-1)
        logits[timestamp_logprob > max_text_logprob, :ts_begin] = NEG_INF
