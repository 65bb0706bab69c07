"""Held-out evaluation inside the training loop: greedy WER (and optionally teacher-forced loss).

The held-out JSONL holds segment records (reference = caption text, audio cut at `norm_end` as in the
no-timestamp form) or `{"audio": PATH, "text": ...}` lines (PATH relative to the JSONL's folder).
Decoding runs on rank 0 on a plain (unsharded) copy of the weights, so FSDP ranks never wait for each
other inside a data-dependent number of decoder calls; the other ranks wait at a barrier.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from olmoasr.audio import SAMPLE_RATE, load_audio
from olmoasr.errors import InputError
from olmoasr.evaluation.recognizer import DecodeSettings
from olmoasr.io.jsonl import iter_jsonl
from olmoasr.log import warn
from olmoasr.model.dims import MULTILINGUAL_VOCAB
from olmoasr.train.checkpointing import full_state_dict
from olmoasr.train.data import IGNORE_INDEX, find_data_files
from olmoasr.train.parallel import DTYPES, Runtime, barrier, unwrap
from olmoasr.train.targets import TargetError, build_example


def window_samples(dims) -> int:
    """Audio samples the encoder sees: 2 mel frames (hop 160) per audio position, 480 000 = 30 s."""
    return dims.n_audio_ctx * 2 * 160


@dataclass
class EvalItem:
    audio: np.ndarray
    text: str
    tokens: tuple[int, ...]  # no-timestamp targets, for the teacher-forced loss


@dataclass
class EvalOutcome:
    wer: float = math.nan
    metrics: dict[str, Any] = field(default_factory=dict)
    state_dict: dict[str, torch.Tensor] | None = None


def iter_eval_items(path: str, tokenizer: Any, limit: int = 0) -> Iterator[EvalItem]:
    from olmoasr.records.segment_store import SegmentAudioReader

    count = 0
    with SegmentAudioReader() as reader:
        for file in find_data_files(path, "eval data"):
            for line_no, record in iter_jsonl(file):
                where = f"{file}:{line_no}"
                try:
                    if "seg_content" in record:
                        example = build_example(record, False, tokenizer)
                        audio = reader.read(record)
                        if example.cut_ms is not None:
                            audio = audio[: example.cut_ms * SAMPLE_RATE // 1000]
                        item = EvalItem(audio, example.text, example.tokens)
                    elif "audio" in record and "text" in record:
                        audio_path = Path(record["audio"])
                        if not audio_path.is_absolute():
                            audio_path = file.parent / audio_path
                        text = str(record["text"])
                        tokens = (tokenizer.sot, tokenizer.no_timestamps, *tokenizer.encode(" " + text.strip()),
                                  tokenizer.eot)  # fmt: skip
                        item = EvalItem(load_audio(audio_path), text, tokens)
                    else:
                        raise InputError(where, "bad_eval_line", "needs seg_content or audio + text")
                except (InputError, TargetError) as err:
                    warn(f"skipping eval line {where}: {err}")
                    continue
                item.audio = item.audio[: 30 * SAMPLE_RATE]
                yield item
                count += 1
                if limit and count >= limit:
                    return


class Evaluator:
    def __init__(self, config: Any, dims: Any, runtime: Runtime):
        from olmoasr.model.tokenizer import get_tokenizer

        self.config = config
        self.dims = dims
        self.rt = runtime
        self.path = config.eval_data_path()
        if self.path is None:
            raise InputError("eval_data", "missing", "run_eval / run_val need eval_data")
        find_data_files(self.path, "eval data")  # fail at start-up, not at the first eval
        self.tokenizer = get_tokenizer(multilingual=dims.n_vocab >= MULTILINGUAL_VOCAB)
        # the convention of `olmoasr eval`'s short form, so the in-loop WER is the one `eval` reports
        self.feature_padding = DecodeSettings().short_feature_padding

    @property
    def device(self) -> torch.device:
        return self.rt.device if self.config.eval_on_gpu else torch.device("cpu")

    def _plain_model(self, model: torch.nn.Module, state_dict: dict[str, torch.Tensor]) -> torch.nn.Module:
        if self.rt.strategy != "fsdp" and self.device == self.rt.device:
            return unwrap(model)
        from olmoasr.model.network import Whisper

        copy = Whisper(self.dims)
        copy.load_state_dict(state_dict)
        return copy.to(self.device)

    def run(self, model: torch.nn.Module, wer: bool = True, val_loss: bool = False) -> EvalOutcome:
        """Collective: all ranks call it; results are on rank 0."""
        state_dict = full_state_dict(model, self.rt)
        outcome = EvalOutcome(state_dict=state_dict)
        if self.rt.is_main:
            plain = self._plain_model(model, state_dict)
            was_training = plain.training
            plain.eval()
            try:
                outcome = self._evaluate(plain, wer, val_loss, outcome)
            finally:
                plain.train(was_training)
        barrier(self.rt)
        return outcome

    @torch.no_grad()
    def _evaluate(self, model: torch.nn.Module, wer: bool, val_loss: bool, outcome: EvalOutcome) -> EvalOutcome:
        from olmoasr.model.decoding import DecodingOptions, decode
        from olmoasr.model.features import log_mel_batch
        from olmoasr.text.normalize import normalize_english
        from olmoasr.text.wer import corpus_wer

        cfg, device = self.config, self.device
        use_fp16 = device.type == "cuda" and cfg.precision != "float32"
        options = DecodingOptions(without_timestamps=True, fp16=use_fp16, sample_len=cfg.eval_sample_len or None)
        mixed = torch.autocast("cuda", dtype=DTYPES[cfg.precision]) if use_fp16 else contextlib.nullcontext()
        refs, hyps = [], []
        loss_sum, loss_tokens = 0.0, 0
        batch_size = cfg.eval_batch_size if wer else cfg.val_batch_size
        items = iter_eval_items(self.path, self.tokenizer, cfg.eval_max_samples)
        while True:
            chunk = [item for _, item in zip(range(batch_size), items, strict=False)]
            if not chunk:
                break
            mel = log_mel_batch([i.audio for i in chunk], self.dims.n_mels, pad=self.feature_padding,
                                n_samples=window_samples(self.dims), device=device)  # fmt: skip
            if wer:
                with mixed:
                    results = decode(model, mel, options)
                hyps.extend(r.text for r in results)
                refs.extend(i.text for i in chunk)
            if val_loss:
                length = max(len(i.tokens) for i in chunk) - 1
                inputs = torch.full((len(chunk), length), self.tokenizer.eot, dtype=torch.long)
                targets = torch.full((len(chunk), length), IGNORE_INDEX, dtype=torch.long)
                for row, item in enumerate(chunk):
                    tokens = torch.tensor(item.tokens)
                    inputs[row, : len(tokens) - 1] = tokens[:-1]
                    targets[row, : len(tokens) - 1] = tokens[1:]
                with mixed:
                    logits = model(mel, inputs.to(device)).float()
                loss_sum += float(F.cross_entropy(logits.flatten(0, 1), targets.to(device).flatten(),
                                                  ignore_index=IGNORE_INDEX, reduction="sum"))  # fmt: skip
                loss_tokens += int((targets != IGNORE_INDEX).sum())
        metrics: dict[str, Any] = {}
        if wer:
            result = corpus_wer([normalize_english(r) for r in refs], [normalize_english(h) for h in hyps])
            outcome.wer = result.wer
            metrics.update({"eval/wer": result.wer, "eval/substitutions": result.substitutions,
                            "eval/deletions": result.deletions, "eval/insertions": result.insertions,
                            "eval/samples": len(refs)})  # fmt: skip
        if val_loss:
            metrics["val/loss"] = loss_sum / max(1, loss_tokens)
        outcome.metrics = metrics
        return outcome
