"""Next-token selection strategies (greedy / sampling, beam search) and the final candidate ranking."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import Tensor

Candidates = list[list[list[int]]]  # per audio, per candidate: token ids
Scores = list[list[float]]  # per audio, per candidate: summed log-probability


class TokenSearch(Protocol):
    def reset(self) -> None: ...

    def update(self, tokens: Tensor, logits: Tensor, sum_logprobs: Tensor) -> tuple[Tensor, bool]:
        """Append one token per row; returns (tokens, all_finished). `sum_logprobs` is updated in place."""

    def finalize(self, tokens: Tensor, sum_logprobs: Tensor) -> tuple[Candidates, Scores]:
        """tokens [n_audio, n_group, length] -> candidate sequences (ending in eot) and their scores."""


class GreedySearch:
    """Argmax at temperature 0, otherwise one sample per row from softmax(logits / T)."""

    def __init__(self, temperature: float, eot: int, generator: torch.Generator | None = None):
        self.temperature = temperature
        self.eot = eot
        self.generator = generator

    def reset(self) -> None:
        pass

    def update(self, tokens: Tensor, logits: Tensor, sum_logprobs: Tensor) -> tuple[Tensor, bool]:
        if self.temperature == 0:
            next_tokens = logits.argmax(dim=-1)
        else:
            probs = torch.softmax(logits.float() / self.temperature, dim=-1)
            next_tokens = torch.multinomial(probs, 1, replacement=True, generator=self.generator).squeeze(-1)
        logprobs = F.log_softmax(logits.float(), dim=-1)
        chosen = logprobs.gather(1, next_tokens[:, None]).squeeze(1)
        finished = tokens[:, -1] == self.eot
        sum_logprobs += chosen * ~finished
        next_tokens = torch.where(finished, torch.full_like(next_tokens, self.eot), next_tokens)
        tokens = torch.cat([tokens, next_tokens[:, None]], dim=-1)
        return tokens, bool((next_tokens == self.eot).all())

    def finalize(self, tokens: Tensor, sum_logprobs: Tensor) -> tuple[Candidates, Scores]:
        tokens = F.pad(tokens, (0, 1), value=self.eot)
        return tokens.tolist(), sum_logprobs.tolist()


class BeamSearch:
    """Beam search over `beam_size` beams per audio.

    Each beam proposes its `beam_size + 1` best continuations; the best `beam_size` unfinished
    candidates survive, finished ones (ending in eot) are collected until `beam_size * patience`
    are found for every audio. `reorder_cache(rows)` is told which old row each new row came from.
    """

    def __init__(
        self, beam_size: int, eot: int, reorder_cache: Callable[[list[int]], None], patience: float | None = None
    ):
        self.beam_size = beam_size
        self.eot = eot
        self.reorder_cache = reorder_cache
        self.max_candidates = round(beam_size * (patience or 1.0))
        self.finished: list[dict[tuple[int, ...], float]] | None = None

    def reset(self) -> None:
        self.finished = None

    def update(self, tokens: Tensor, logits: Tensor, sum_logprobs: Tensor) -> tuple[Tensor, bool]:
        n_rows = tokens.shape[0]
        if n_rows % self.beam_size:
            raise ValueError(f"{n_rows} rows is not a multiple of beam size {self.beam_size}")
        n_audio = n_rows // self.beam_size
        if self.finished is None:
            self.finished = [{} for _ in range(n_audio)]

        logprobs = F.log_softmax(logits.float(), dim=-1)
        top_logprobs, top_tokens = logprobs.topk(self.beam_size + 1, dim=-1)
        # float32 addition, as the scores are accumulated in float32
        candidate_scores = (sum_logprobs[:, None] + top_logprobs).tolist()
        top_tokens = top_tokens.tolist()
        prefixes = tokens.tolist()

        new_sequences: list[list[int]] = []
        new_scores: list[float] = []
        source_rows: list[int] = []
        for audio in range(n_audio):
            scores: dict[tuple[int, ...], float] = {}
            sources: dict[tuple[int, ...], int] = {}
            for row in range(audio * self.beam_size, (audio + 1) * self.beam_size):
                prefix = tuple(prefixes[row])
                for score, token in zip(candidate_scores[row], top_tokens[row], strict=True):
                    sequence = (*prefix, token)
                    scores[sequence] = score
                    sources[sequence] = row

            newly_finished: dict[tuple[int, ...], float] = {}
            kept = 0
            for sequence in sorted(scores, key=scores.__getitem__, reverse=True):
                if sequence[-1] == self.eot:
                    newly_finished[sequence] = scores[sequence]
                    continue
                new_sequences.append(list(sequence))
                new_scores.append(scores[sequence])
                source_rows.append(sources[sequence])
                kept += 1
                if kept == self.beam_size:
                    break

            collected = self.finished[audio]
            for sequence in sorted(newly_finished, key=newly_finished.__getitem__, reverse=True):
                if len(collected) >= self.max_candidates:
                    break
                collected[sequence] = newly_finished[sequence]

        sum_logprobs.copy_(torch.tensor(new_scores, dtype=sum_logprobs.dtype))
        self.reorder_cache(source_rows)
        tokens = torch.tensor(new_sequences, dtype=tokens.dtype, device=tokens.device)
        done = all(len(collected) >= self.max_candidates for collected in self.finished)
        return tokens, done

    def finalize(self, tokens: Tensor, sum_logprobs: Tensor) -> tuple[Candidates, Scores]:
        assert self.finished is not None
        scores = sum_logprobs.cpu()
        for audio, collected in enumerate(self.finished):
            if len(collected) >= self.beam_size:
                continue
            # not enough finished beams: top up with the best unfinished ones
            for beam in reversed(scores[audio].argsort(stable=True).tolist()):
                collected[(*tokens[audio, beam].tolist(), self.eot)] = scores[audio, beam].item()
                if len(collected) >= self.beam_size:
                    break
        sequences = [[list(sequence) for sequence in collected] for collected in self.finished]
        logprobs = [list(collected.values()) for collected in self.finished]
        return sequences, logprobs


def rank_by_likelihood(
    sequences: list[list[list[int]]], sum_logprobs: list[list[float]], length_penalty: float | None
) -> list[int]:
    """Index of the best candidate per audio: log-prob / length, or / GNMT ((5 + length) / 6) ** alpha."""
    best = []
    for candidates, logprobs in zip(sequences, sum_logprobs, strict=True):
        scores = []
        for candidate, logprob in zip(candidates, logprobs, strict=True):
            length = len(candidate)
            penalty = length if length_penalty is None else ((5 + length) / 6) ** length_penalty
            scores.append(logprob / penalty)
        best.append(max(range(len(scores)), key=scores.__getitem__))
    return best
