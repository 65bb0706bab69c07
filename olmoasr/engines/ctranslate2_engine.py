"""The CTranslate2 engine: CTranslate2's Whisper (C++ encoder, decoder and search, int8 / float16) behind
the engine interface.

Each decoding pass is one `generate` call: CTranslate2 applies Whisper's logit rules itself (suppressed
tokens, blank suppression at the start, timestamp pairing, the first-timestamp limit), from the same
prompt and suppressed-token list the torch engine uses (`olmoasr.model.decoding.prompt`). What makes
a transcript — fallback, no-speech skipping, the sliding window, prompts from previous windows, VAD
chunks, word timestamps — stays in olmoasr and is the same for both engines.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from olmoasr.engines.base import TokenAlignment
from olmoasr.engines.ctranslate2_convert import require_ctranslate2
from olmoasr.errors import UsageError
from olmoasr.model.decoding.options import DecodingOptions, DecodingOptionsError, DecodingResult
from olmoasr.model.decoding.prompt import initial_tokens, sample_length, suppressed_tokens
from olmoasr.model.decoding.search import rank_by_likelihood
from olmoasr.model.decoding.task import compression_ratio, get_decoding_tokenizer

if TYPE_CHECKING:
    from olmoasr.model.tokenizer import Tokenizer

COMPUTE_TYPES = ("auto", "int8", "int8_float16", "float16", "float32")
WHISPER_TEXT_CTX = 448  # every Whisper decoder's context; CTranslate2 does not report it
WHISPER_AUDIO_CTX = 1500
TIMESTAMP_SECONDS = 30 / WHISPER_AUDIO_CTX
# Preferred compute types for `auto`, best first: int8 on CPU (smallest, fastest there), float16 on GPUs.
_AUTO = {"cpu": ("int8", "float32"), "cuda": ("float16", "int8_float16", "float32")}


def split_device(device: str | torch.device | None) -> tuple[str, int]:
    """'cpu' / 'cuda' / 'cuda:1' / None (CUDA when CTranslate2 sees a GPU) -> (device, index)."""
    ctranslate2 = require_ctranslate2()
    if device is None:
        return ("cuda", 0) if ctranslate2.get_cuda_device_count() > 0 else ("cpu", 0)
    target = torch.device(device)
    if target.type not in ("cpu", "cuda"):
        raise UsageError(f"the ctranslate2 engine runs on cpu or cuda, not {target.type}")
    return target.type, target.index or 0


def resolve_compute_type(compute_type: str | None, device: str) -> str:
    """The compute type to load with: `auto` picks the best this device supports; others are checked."""
    ctranslate2 = require_ctranslate2()
    requested = compute_type or "auto"
    if requested not in COMPUTE_TYPES:
        raise UsageError(f"--compute-type must be one of {', '.join(COMPUTE_TYPES)}, got {requested!r}")
    supported = set(ctranslate2.get_supported_compute_types(device))
    if requested == "auto":
        return next(kind for kind in _AUTO[device] if kind in supported or kind == "float32")
    if requested not in supported:
        raise UsageError(
            f"compute type {requested} is not supported on {device} here (supported: {', '.join(sorted(supported))})"
        )
    return requested


def generation_limit(prompt_length: int, new_tokens: int) -> int:
    """CTranslate2's `max_length` that lets Whisper generate `new_tokens` after a prompt.

    Measured (CTranslate2 4.x): generate() stops after min(max_length - prompt_length + 1,
    max_length // 2) new tokens, so Whisper's 448 allows its usual 224; the decoder context caps it.
    """
    return min(WHISPER_TEXT_CTX, max(2 * new_tokens, prompt_length + new_tokens - 1))


class CTranslate2Engine:
    """A CTranslate2 Whisper model directory loaded for one device and compute type."""

    name = "ctranslate2"

    def __init__(
        self,
        model_dir: str | os.PathLike,
        *,
        device: str | torch.device | None = None,
        compute_type: str | None = "auto",
        cpu_threads: int = 0,
    ):
        ctranslate2 = require_ctranslate2()
        self._ct2 = ctranslate2
        self.model_dir = Path(model_dir)
        self._device, self._device_index = split_device(device)
        self.compute_type = resolve_compute_type(compute_type, self._device)
        self.cpu_threads = cpu_threads or torch.get_num_threads()
        self.model = ctranslate2.models.Whisper(
            str(self.model_dir),
            device=self._device,
            device_index=self._device_index,
            compute_type=self.compute_type,
            intra_threads=self.cpu_threads,
        )

    # ---- what the loops read -------------------------------------------------------------------
    @property
    def n_mels(self) -> int:
        return self.model.n_mels

    @property
    def n_text_ctx(self) -> int:
        return WHISPER_TEXT_CTX

    @property
    def device(self) -> torch.device:
        return torch.device(self._device, self._device_index) if self._device == "cuda" else torch.device("cpu")

    @property
    def precision(self) -> str:
        return self.model.compute_type

    @property
    def is_multilingual(self) -> bool:
        return self.model.is_multilingual

    @property
    def num_languages(self) -> int:
        return self.model.num_languages

    def tokenizer(self, *, language: str | None = None, task: str | None = None) -> Tokenizer:
        from olmoasr.model.tokenizer import get_tokenizer

        return get_tokenizer(self.is_multilingual, num_languages=self.num_languages, language=language, task=task)

    # ---- features ------------------------------------------------------------------------------
    def _storage(self, array: np.ndarray | torch.Tensor) -> Any:
        if isinstance(array, torch.Tensor):
            array = array.contiguous() if array.is_cuda else array.numpy()
        if isinstance(array, np.ndarray):
            array = np.ascontiguousarray(array)
        return self._ct2.StorageView.from_array(array)

    def encode(self, mel: torch.Tensor) -> np.ndarray | torch.Tensor:
        """Log-mel [n, n_mels, 3000] -> features: a NumPy array on CPU, a torch tensor on a GPU."""
        mel = mel if mel.ndim == 3 else mel.unsqueeze(0)
        mel = mel.to(self.device, torch.float32)
        features = self.model.encode(self._storage(mel if self._device == "cuda" else mel.numpy()), to_cpu=False)
        if self._device == "cuda":
            return torch.as_tensor(features, device=self.device).clone()
        return np.asarray(features)

    # ---- decoding ------------------------------------------------------------------------------
    def detect_language(self, features: Any, tokenizer: Tokenizer) -> list[dict[str, float]]:
        if not self.is_multilingual:
            raise DecodingOptionsError("this model has no language tokens, so it cannot detect the language")
        rows = self.model.detect_language(self._storage(features))
        return [{token.strip("<|>"): float(probability) for token, probability in row} for row in rows]

    def _search(self, options: DecodingOptions) -> dict[str, Any]:
        if options.temperature > 0:
            return {
                "beam_size": 1,
                "sampling_topk": 0,
                "sampling_temperature": options.temperature,
                "num_hypotheses": options.best_of or 1,
            }
        if options.beam_size is not None:
            return {
                "beam_size": options.beam_size,
                "patience": options.patience or 1.0,
                "num_hypotheses": options.beam_size,
            }
        return {"beam_size": 1, "sampling_topk": 1}

    def decode(
        self,
        features: Any,
        options: DecodingOptions,
        generator: torch.Generator | None = None,
        prompts: Sequence[str | list[int] | None] | None = None,
    ) -> list[DecodingResult]:
        """Decode windows with one `generate` call per prompt length (one call when the windows share a
        prompt). `prompts`: one prompt per window (its recording's previous text) instead of `options.prompt`.
        Sampling (temperature > 0) draws from CTranslate2's own random generator: a torch `generator` only
        makes the torch engine reproducible."""
        options.check_model(self)
        if prompts is not None and options.prompt:
            raise DecodingOptionsError("invalid decoding options: a prompt per window and options.prompt together")
        if prompts is not None and len(prompts) != features.shape[0]:
            raise ValueError(f"{len(prompts)} prompts for {features.shape[0]} windows")
        tokenizer = get_decoding_tokenizer(self, options.language, options.task)
        n_audio = features.shape[0]
        languages = [options.language or "en"] * n_audio
        language_probs: list[dict[str, float]] | None = None
        if self.is_multilingual and (options.language is None or options.task == "lang_id"):
            language_probs = self.detect_language(features, tokenizer)
            languages = [max(probs, key=probs.__getitem__) for probs in language_probs]
        if options.task == "lang_id":
            return [
                DecodingResult(audio_features=features[row], language=languages[row], language_probs=probs)
                for row, probs in enumerate(language_probs or [None] * n_audio)
            ]

        if prompts is None:
            shared = initial_tokens(tokenizer, options, self.n_text_ctx)
            rows = [list(shared) for _ in range(n_audio)]
        else:
            rows = [list(initial_tokens(tokenizer, options, self.n_text_ctx, prompt)) for prompt in prompts]
        if options.language is None and self.is_multilingual:
            for row, language in zip(rows, languages, strict=True):
                row[row.index(tokenizer.sot) + 1] = tokenizer.language_token(language)
        # CTranslate2 decodes a batch from prompts of one length: windows are grouped by theirs
        groups: dict[int, list[int]] = {}
        for index, row in enumerate(rows):
            groups.setdefault(len(row), []).append(index)
        decoded: list[DecodingResult | None] = [None] * n_audio
        for indices in groups.values():
            selected = features if len(indices) == n_audio else features[indices]
            group = self._decode_group(selected, [rows[i] for i in indices], options, tokenizer)
            for index, result in zip(indices, group, strict=True):
                probs = language_probs[index] if language_probs else None
                decoded[index] = dataclasses.replace(result, language=languages[index], language_probs=probs)
        return [result for result in decoded if result is not None]

    def _decode_group(
        self, features: Any, prompts: list[list[int]], options: DecodingOptions, tokenizer: Tokenizer
    ) -> list[DecodingResult]:
        """One `generate` call for windows whose prompts have the same length."""
        max_initial = options.max_initial_timestamp
        results = self.model.generate(
            self._storage(features),
            prompts,
            max_length=generation_limit(len(prompts[0]), sample_length(options, self.n_text_ctx)),
            return_scores=True,
            return_no_speech_prob=options.no_speech_after == "sot",
            max_initial_timestamp_index=round(max_initial / TIMESTAMP_SECONDS) if max_initial else WHISPER_AUDIO_CTX,
            suppress_blank=options.suppress_blank,
            suppress_tokens=suppressed_tokens(tokenizer, options) if options.suppress_tokens else [],
            length_penalty=1.0,
            **self._search(options),
        )
        if options.no_speech_after == "sot":
            no_speech = [float(result.no_speech_prob) for result in results]
        else:
            no_speech = self._no_speech_after_notimestamps(features, prompts, tokenizer)

        # CTranslate2 returns the forced prefix (tokens after the sot sequence) at the head of each hypothesis
        forced = len(prompts[0]) - prompts[0].index(tokenizer.sot) - len(tokenizer.sot_sequence)
        forced -= int(options.without_timestamps)
        decoded = []
        for row, result in enumerate(results):
            # scores are log-prob / length (length_penalty 1, the length counting the prefix); recover each
            # candidate's summed log-prob
            sums = [score * len(ids) for score, ids in zip(result.scores, result.sequences_ids, strict=True)]
            hypotheses = [list(ids)[forced:] for ids in result.sequences_ids]
            best = 0  # CTranslate2 ranks by log-prob / length, olmoasr's rule without a length penalty
            if options.length_penalty is not None:
                best = rank_by_likelihood([hypotheses], [sums], options.length_penalty)[0]
            tokens = hypotheses[best]
            text = tokenizer.decode(tokens).strip()
            decoded.append(
                DecodingResult(
                    audio_features=features[row],
                    language=options.language or "en",
                    tokens=tokens,
                    text=text,
                    avg_logprob=sums[best] / (len(tokens) + 1),
                    no_speech_prob=no_speech[row],
                    temperature=options.temperature,
                    compression_ratio=compression_ratio(text),
                )
            )
        return decoded

    def _no_speech_after_notimestamps(
        self, features: Any, prompts: list[list[int]], tokenizer: Tokenizer
    ) -> list[float]:
        """P(<|nospeech|>) right after <|notimestamps|> (where OLMoASR trains it): one extra decoder step,
        read from CTranslate2's logits of the first generated token with nothing suppressed."""
        if tokenizer.no_speech is None:
            return [float("nan")] * len(prompts)
        no_timestamps = tokenizer.no_timestamps
        extended = [prompt if prompt[-1] == no_timestamps else [*prompt, no_timestamps] for prompt in prompts]
        probabilities = self._first_step_probability(features, extended, tokenizer.no_speech, suppressed=[])
        missing = [row for row, value in enumerate(probabilities) if value is None]
        if missing:
            # CTranslate2 returns no logits when the first token is <|endoftext|>; read that step with it
            # suppressed instead (P(<|nospeech|>) among the other tokens, a close upper bound)
            retried = self._first_step_probability(
                features[missing], [extended[row] for row in missing], tokenizer.no_speech, suppressed=[tokenizer.eot]
            )
            for row, value in zip(missing, retried, strict=True):
                probabilities[row] = value
        return [float("nan") if value is None else value for value in probabilities]

    def _first_step_probability(
        self, features: Any, prompts: list[list[int]], token: int, suppressed: list[int]
    ) -> list[float | None]:
        results = self.model.generate(
            self._storage(features),
            prompts,
            max_length=generation_limit(max(len(prompt) for prompt in prompts), 1),
            beam_size=1,
            sampling_topk=1,
            return_logits_vocab=True,
            suppress_blank=False,
            suppress_tokens=suppressed,
        )
        probabilities: list[float | None] = []
        for result in results:
            steps = result.logits[0] if result.logits else []
            if not steps:
                probabilities.append(None)
                continue
            logits = torch.from_numpy(np.asarray(steps[0], dtype=np.float32))
            probabilities.append(float(logits.softmax(dim=-1)[token]))
        return probabilities

    def align(
        self,
        features: Any,
        tokenizer: Tokenizer,
        text_tokens: list[int],
        num_frames: int,
        medfilt_width: int,
    ) -> TokenAlignment:
        result = self.model.align(
            self._storage(features[None]),
            list(tokenizer.sot_sequence),
            [list(text_tokens)],
            num_frames,
            median_filter_width=medfilt_width,
        )[0]
        path = np.asarray(result.alignments, dtype=np.int64).reshape(-1, 2)
        return TokenAlignment(path[:, 0], path[:, 1], [float(p) for p in result.text_token_probs])

    def transcribe(self, audio: str | os.PathLike | bytes | np.ndarray, **options: Any) -> dict[str, Any]:
        """Long-form transcription, exactly as `olmoasr.model.transcribe.transcribe` on the torch network."""
        from olmoasr.model.transcribe import transcribe

        return transcribe(self, audio, **options)

    def __repr__(self) -> str:
        where = f"{self._device}, {self.cpu_threads} threads"
        return f"CTranslate2Engine({self.model_dir.name}, {self.compute_type}, {where})"


def load_ctranslate2(
    name_or_path: str | os.PathLike,
    *,
    device: str | torch.device | None = None,
    compute_type: str | None = "auto",
    download_root: str | os.PathLike | None = None,
    cpu_threads: int = 0,
) -> CTranslate2Engine:
    """Any checkpoint olmoasr reads, on CTranslate2 (converted once into the cache when it is not a
    CTranslate2 folder already)."""
    from olmoasr.engines.ctranslate2_convert import converted_model_dir

    kind, _ = split_device(device)
    resolved = resolve_compute_type(compute_type, kind)
    model_dir = converted_model_dir(name_or_path, resolved, download_root)
    return CTranslate2Engine(model_dir, device=device, compute_type=resolved, cpu_threads=cpu_threads)
