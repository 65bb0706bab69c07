"""Test helpers: a micro SpeechBrain-layout language-ID model with random weights, and segment shards
with real (synthetic) audio files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from olmoasr.audio import write_audio
from olmoasr.io import JsonlWriter
from olmoasr.pipeline.lang_id.backends import Prediction
from olmoasr.pipeline.lang_id.ecapa import ClassifierConfig, EcapaConfig
from olmoasr.pipeline.lang_id.fbank import FbankConfig
from olmoasr.pipeline.lang_id.speechbrain_format import SpeechBrainLidSpec
from olmoasr.pipeline.lang_id.voxlingua import SpeechBrainLanguageId

MICRO_LABELS = ["en: English", "de: German", "fr: French"]


def micro_spec() -> SpeechBrainLidSpec:
    return SpeechBrainLidSpec(
        fbank=FbankConfig(n_mels=20),
        mean_norm=True,
        std_norm=False,
        ecapa=EcapaConfig(
            input_size=20, channels=(16, 16, 16, 16, 48), attention_channels=8, se_channels=8, lin_neurons=12
        ),
        classifier=ClassifierConfig(input_size=12, lin_blocks=1, lin_neurons=16, out_neurons=len(MICRO_LABELS)),
    )


def build_micro_model(seed: int = 0) -> SpeechBrainLanguageId:
    torch.manual_seed(seed)
    model = SpeechBrainLanguageId(micro_spec(), MICRO_LABELS)
    with torch.no_grad():  # non-trivial batch-norm statistics, so loading them is actually tested
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    return model.eval()


def tone(freq: float, seconds: float = 0.6, amplitude: float = 0.3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    return (amplitude * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


def segment(doc_id: str, k: int, audio_file: str | None, text: str = "hello there") -> dict:
    content = f"WEBVTT\n\n00:00:00.000 --> 00:00:00.500\n{text}\n" if text else ""
    return {
        "subtitle_file": f"{doc_id}/{k}.vtt",
        "seg_content": content,
        "text_timestamp": "00:00:00,000_00:00:00,500",
        "audio_timestamp": "00:00:00,000_00:00:00,600",
        "norm_end": "00:00:00.500",
        "id": doc_id,
        "seg_id": f"{doc_id}_{k}",
        "audio_file": audio_file,
    }


def write_shard(path: Path, records: list[dict]) -> Path:
    with JsonlWriter(path) as out:
        out.write_many(records)
    return path


def write_tone(path: Path, freq: float, seconds: float = 0.6, seed: int = 0) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_audio(path, tone(freq, seconds, seed=seed))
    return str(path)


class FrequencyClassifier:
    """Deterministic stand-in: the language is decided by the tone's dominant frequency band."""

    name = "by-frequency"
    bands = ((0, 350, "en"), (350, 700, "de"), (700, 8000, "fr"))

    def classify(self, waves):
        out = []
        for wave in waves:
            spectrum = np.abs(np.fft.rfft(wave))
            freq = np.argmax(spectrum) * 16000 / len(wave)
            out.append(next(Prediction(lang, 1.0) for lo, hi, lang in self.bands if lo <= freq < hi))
        return out
