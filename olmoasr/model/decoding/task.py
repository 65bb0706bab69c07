"""One decoding pass over a batch of 30-second windows: encoder, optional language id, the token loop."""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from olmoasr.model.decoding.filters import LogitFilter, SuppressBlank, SuppressTokens, TimestampRules
from olmoasr.model.decoding.options import DecodingOptions, DecodingOptionsError, DecodingResult
from olmoasr.model.decoding.prompt import initial_tokens, sample_length, suppressed_tokens
from olmoasr.model.decoding.search import BeamSearch, GreedySearch, TokenSearch, rank_by_likelihood

if TYPE_CHECKING:
    from olmoasr.model.network import Whisper
    from olmoasr.model.tokenizer import Tokenizer

CHUNK_SECONDS = 30


def compression_ratio(text: str) -> float:
    """Bytes / zlib-compressed bytes: high values mean repetitive (looping) output."""
    data = text.encode("utf-8")
    if not data:
        return 0.0
    return len(data) / len(zlib.compress(data))


def get_decoding_tokenizer(model: Whisper, language: str | None, task: str) -> Tokenizer:
    from olmoasr.model.tokenizer import get_tokenizer

    return get_tokenizer(
        model.is_multilingual,
        num_languages=model.num_languages,
        language=language or "en",
        task="transcribe" if task == "lang_id" else task,
    )


def is_encoded(model: Whisper, mel: torch.Tensor) -> bool:
    return tuple(mel.shape[-2:]) == (model.dims.n_audio_ctx, model.dims.n_audio_state)


def encode_audio(model: Whisper, mel: torch.Tensor) -> torch.Tensor:
    """Mel [n, n_mels, frames] -> audio features, or the features themselves when already encoded."""
    if is_encoded(model, mel):
        return mel.to(model.device, model.dtype)
    return model.embed_audio(mel.to(model.device, model.dtype))


@torch.inference_mode()
def detect_language(model: Whisper, mel: torch.Tensor, tokenizer: Tokenizer | None = None):
    """Most probable language token per window and the probability of each language.

    `mel` is one mel [n_mels, frames], a batch, or encoded audio features. Returns
    (tokens, probs) for a batch, (token, probs) for one window.
    """
    if tokenizer is None:
        tokenizer = get_decoding_tokenizer(model, None, "transcribe")
    if not model.is_multilingual or not list(tokenizer.all_language_tokens):
        raise DecodingOptionsError("this model has no language tokens, so it cannot detect the language")
    single = mel.ndim == 2
    if single:
        mel = mel.unsqueeze(0)
    features = encode_audio(model, mel)
    n_audio = features.shape[0]
    sot = torch.full((n_audio, 1), tokenizer.sot, dtype=torch.long, device=features.device)
    logits = model.logits(sot, features)[:, 0].float()
    language_tokens = torch.tensor(list(tokenizer.all_language_tokens), device=logits.device)
    keep = torch.zeros(logits.shape[-1], dtype=torch.bool, device=logits.device)
    keep[language_tokens] = True
    logits = logits.masked_fill(~keep, float("-inf"))
    best = logits.argmax(dim=-1)
    probs = logits.softmax(dim=-1)[:, language_tokens].cpu().tolist()
    codes = list(tokenizer.all_language_codes)
    language_probs = [dict(zip(codes, row, strict=True)) for row in probs]
    if single:
        return best[0], language_probs[0]
    return best, language_probs


class CachedInference:
    """Decoder forward passes that feed only the tokens the key/value cache has not seen yet.

    `audio_features` hold one row per audio window and the decoder `group` rows per window (beams,
    samples): each window's cross-attention keys and values are computed once and shared by its rows.
    Only the positions a caller asks for are projected onto the vocabulary (a prompt of 200 tokens
    needs the logits of one or two of them).
    """

    def __init__(self, model: Whisper, audio_features: torch.Tensor, group: int, max_len: int):
        self.model = model
        self.audio_features = audio_features
        self.cache = model.new_kv_cache(audio_features.shape[0] * group, max_len)
        model.decoder.cache_cross_attention(self.cache, audio_features)
        self.fed = 0

    def logits(self, tokens: torch.Tensor, positions: tuple[int, ...] = (-1,)) -> torch.Tensor:
        """float32 logits [rows, len(positions), n_vocab] at `positions` of `tokens` not fed before (-1: the last)."""
        hidden = self.hidden(tokens)
        if positions == (-1,):
            return self.model.decoder.project(hidden[:, -1:])
        index = [position - self.fed_before if position >= 0 else hidden.shape[1] + position for position in positions]
        return self.model.decoder.project(hidden[:, index])

    def hidden(self, tokens: torch.Tensor) -> torch.Tensor:
        """The decoder's last hidden states [rows, new, width] of the tokens not fed before."""
        self.fed_before = self.fed
        new_tokens = tokens[:, self.fed :]
        self.fed = tokens.shape[1]
        return self.model.decoder.hidden(new_tokens, self.audio_features, self.cache)

    def logits_after(self, tokens: torch.Tensor, extra: torch.Tensor) -> torch.Tensor:
        """float32 logits [rows, 1, n_vocab] after `tokens` (all fed) and one `extra` token per row, which the
        cache then forgets."""
        if tokens.shape[1] != self.fed:
            raise ValueError(f"{tokens.shape[1]} tokens but {self.fed} fed to the cache")
        length = self.cache.length
        hidden = self.model.decoder.hidden(extra, self.audio_features, self.cache)
        self.cache.truncate(length)
        return self.model.decoder.project(hidden)

    def reorder(self, rows: list[int]) -> None:
        if rows != list(range(len(rows))):
            self.cache.reorder(torch.tensor(rows, dtype=torch.long, device=self.audio_features.device))


class DecodingTask:
    """Builds the prompt, filters and search strategy for one set of options and runs them.

    `prompts` gives each window of the batch its own prompt (the previous text of its recording)
    instead of `options.prompt`; shorter initial sequences are left-padded to the longest, so every
    row samples from the same index and each row decodes as it would alone.
    """

    def __init__(
        self,
        model: Whisper,
        options: DecodingOptions,
        generator: torch.Generator | None = None,
        prompts: Sequence[str | list[int] | None] | None = None,
    ):
        options.check_model(model)
        if prompts is not None and options.prompt:
            raise DecodingOptionsError("invalid decoding options: a prompt per window and options.prompt together")
        self.model = model
        self.options = options
        self.generator = generator
        self.tokenizer = tokenizer = get_decoding_tokenizer(model, options.language, options.task)
        self.n_group = options.n_group
        self.n_ctx: int = model.dims.n_text_ctx
        self.sample_len: int = sample_length(options, self.n_ctx)
        rows = [initial_tokens(tokenizer, options, self.n_ctx, prompt) for prompt in (prompts or [None])]
        self.sample_begin = max(len(row) for row in rows)
        self.padding = [self.sample_begin - len(row) for row in rows]
        self.initial_tokens = [(tokenizer.eot,) * pad + row for pad, row in zip(self.padding, rows, strict=True)]
        self.per_window = prompts is not None
        self.sot_index = self.initial_tokens[0].index(tokenizer.sot, self.padding[0])
        self.filters = self._logit_filters()

    def suppressed_tokens(self) -> list[int]:
        return suppressed_tokens(self.tokenizer, self.options)

    def _logit_filters(self) -> list[LogitFilter]:
        tokenizer = self.tokenizer
        filters: list[LogitFilter] = []
        if self.options.suppress_blank:
            filters.append(SuppressBlank([*tokenizer.encode(" "), tokenizer.eot], self.sample_begin))
        if self.options.suppress_tokens:
            filters.append(SuppressTokens(self.suppressed_tokens()))
        if not self.options.without_timestamps:
            precision = CHUNK_SECONDS / self.model.dims.n_audio_ctx
            max_initial = None
            if self.options.max_initial_timestamp:
                max_initial = round(self.options.max_initial_timestamp / precision)
            filters.append(
                TimestampRules(
                    tokenizer.timestamp_begin, tokenizer.eot, tokenizer.no_timestamps, self.sample_begin, max_initial
                )
            )
        return filters

    def _search(self, inference: CachedInference) -> TokenSearch:
        if self.options.beam_size is not None:
            return BeamSearch(self.options.beam_size, self.tokenizer.eot, inference.reorder, self.options.patience)
        return GreedySearch(self.options.temperature, self.tokenizer.eot, self.generator)

    def _languages(self, features: torch.Tensor, tokens: torch.Tensor) -> tuple[list[str], list[dict] | None]:
        options = self.options
        if options.language is not None and options.task != "lang_id":
            return [options.language] * features.shape[0], None
        if not self.model.is_multilingual:
            return ["en"] * features.shape[0], None
        language_tokens, language_probs = detect_language(self.model, features, self.tokenizer)
        languages = [max(probs, key=probs.__getitem__) for probs in language_probs]
        if options.language is None:
            tokens[:, self.sot_index + 1] = language_tokens
        return languages, language_probs

    def _token_loop(self, features: torch.Tensor, tokens: torch.Tensor):
        """Step the decoder from `tokens` [windows * group, T] over `features` [windows, ...] until every row ends."""
        max_len = min(self.n_ctx, tokens.shape[1] + self.sample_len + 1)
        inference = CachedInference(self.model, features, self.n_group, max_len)
        if any(self.padding):
            padding = torch.tensor(self.padding, device=features.device).repeat_interleave(self.n_group)
            inference.cache.set_padding(padding)
        search = self._search(inference)
        search.reset()
        sum_logprobs = torch.zeros(tokens.shape[0], dtype=torch.float32, device=features.device)
        no_speech_probs = [math.nan] * tokens.shape[0]
        no_speech = self.tokenizer.no_speech
        for step in range(self.sample_len):
            if step == 0 and no_speech is not None:
                logits, no_speech_probs = self._first_logits(inference, tokens)
            else:
                logits = inference.logits(tokens)[:, -1]
            for logit_filter in self.filters:
                logit_filter.apply(logits, tokens)
            tokens, finished = search.update(tokens, logits, sum_logprobs)
            if finished or tokens.shape[-1] > self.n_ctx:
                break
        return search, tokens, sum_logprobs, no_speech_probs

    def _first_logits(self, inference: CachedInference, tokens: torch.Tensor) -> tuple[torch.Tensor, list[float]]:
        """The logits of the first sampled token [rows, n_vocab], and P(<|nospeech|>) per row at the position the
        model was trained to predict it (see DecodingOptions)."""
        if self.options.no_speech_after == "sot":
            both = inference.logits(tokens, (self.sot_index, -1))
            at, logits = both[:, 0], both[:, 1]
        elif self.options.without_timestamps:
            logits = at = inference.logits(tokens)[:, -1]  # the initial tokens end with <|notimestamps|>
        else:
            # what would follow <|notimestamps|> in this context
            logits = inference.logits(tokens)[:, -1]
            no_timestamps = torch.full_like(tokens[:, :1], self.tokenizer.no_timestamps)
            at = inference.logits_after(tokens, no_timestamps)[:, -1]
        return logits, at.softmax(dim=-1)[:, self.tokenizer.no_speech].tolist()

    @torch.inference_mode()
    def run(self, mel: torch.Tensor) -> list[DecodingResult]:
        tokenizer = self.tokenizer
        features = encode_audio(self.model, mel)
        n_audio = features.shape[0]
        if self.per_window and len(self.initial_tokens) != n_audio:
            raise ValueError(f"{len(self.initial_tokens)} prompts for {n_audio} windows")
        tokens = torch.tensor(self.initial_tokens, dtype=torch.long, device=features.device)
        if not self.per_window:
            tokens = tokens.repeat(n_audio, 1)
        languages, language_probs = self._languages(features, tokens)
        if self.options.task == "lang_id":
            return [
                DecodingResult(audio_features=row, language=language, language_probs=probs)
                for row, language, probs in zip(features, languages, language_probs or [None] * n_audio, strict=True)
            ]

        group = self.n_group
        tokens = tokens.repeat_interleave(group, dim=0)
        search, tokens, sum_logprobs, no_speech_probs = self._token_loop(features, tokens)

        no_speech_probs = no_speech_probs[::group]
        candidates, candidate_logprobs = search.finalize(
            tokens.reshape(n_audio, group, -1), sum_logprobs.reshape(n_audio, group)
        )
        eot = tokenizer.eot
        candidates = [
            [seq[self.sample_begin : seq.index(eot, self.sample_begin)] for seq in group_seqs]
            for group_seqs in candidates
        ]
        chosen = rank_by_likelihood(candidates, candidate_logprobs, self.options.length_penalty)

        results = []
        for audio, index in enumerate(chosen):
            sampled = candidates[audio][index]
            text = tokenizer.decode(sampled).strip()
            logprob = candidate_logprobs[audio][index]
            results.append(
                DecodingResult(
                    audio_features=features[audio],
                    language=languages[audio],
                    language_probs=language_probs[audio] if language_probs else None,
                    tokens=sampled,
                    text=text,
                    avg_logprob=logprob / (len(sampled) + 1),
                    no_speech_prob=no_speech_probs[audio],
                    temperature=self.options.temperature,
                    compression_ratio=compression_ratio(text),
                )
            )
        return results


@torch.inference_mode()
def decode(
    model: Whisper,
    mel: torch.Tensor,
    options: DecodingOptions | None = None,
    generator: torch.Generator | None = None,
    prompts: Sequence[str | list[int] | None] | None = None,
    **changes,
) -> DecodingResult | list[DecodingResult]:
    """Decode 30-second window(s): mel [n_mels, frames] -> one result, [n, n_mels, frames] -> a list.

    Already-encoded audio features ([n, n_audio_ctx, n_audio_state]) are accepted too. `prompts`: one
    prompt per window (see `DecodingTask`).
    """
    import dataclasses

    options = options or DecodingOptions()
    if changes:
        options = dataclasses.replace(options, **changes)
    single = mel.ndim == 2
    if single:
        mel = mel.unsqueeze(0)
    results = DecodingTask(model, options, generator, prompts).run(mel)
    return results[0] if single else results
