"""The `voxlingua107` backend: SpeechBrain's VoxLingua107 ECAPA-TDNN language classifier, run in torch.

waveforms (16 kHz) -> Fbank -> sentence mean normalisation -> ECAPA-TDNN embedding -> classifier
-> top-1 label code (e.g. `en`) with its probability. Batches are padded to their longest member and
every step is told each utterance's real length, so padding never counts (unlike the original, which
classified every segment padded with zeros to 30 s).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from olmoasr.errors import ConfigError
from olmoasr.pipeline.lang_id.backends import Prediction
from olmoasr.pipeline.lang_id.ecapa import EcapaTdnn, EmbeddingClassifier
from olmoasr.pipeline.lang_id.fbank import Fbank, relative_lengths
from olmoasr.pipeline.lang_id.speechbrain_format import (
    SpeechBrainLidSpec,
    hyperparams_yaml,
    label_encoder_text,
    label_to_code,
    load_hyperparams,
    load_state_dict_into,
    read_label_encoder,
    spec_from_hyperparams,
)

# Reflect padding in the deepest dilated convolution needs a few frames; shorter inputs are zero-padded
# to this many samples (their real length still masks the statistics).
MIN_SAMPLES = 1600


class SpeechBrainLanguageId(torch.nn.Module):
    """Features, embedding network and classifier of one SpeechBrain language-ID model."""

    def __init__(self, spec: SpeechBrainLidSpec, labels: list[str]):
        super().__init__()
        if len(labels) != spec.classifier.out_neurons:
            raise ValueError(f"{len(labels)} labels for {spec.classifier.out_neurons} classifier outputs")
        self.spec = spec
        self.labels = list(labels)
        self.codes = [label_to_code(label) for label in labels]
        self.compute_features = Fbank(spec.fbank)
        self.embedding_model = EcapaTdnn(spec.ecapa)
        self.classifier = EmbeddingClassifier(spec.classifier)

    def normalize(self, feats: torch.Tensor, rel_lengths: torch.Tensor) -> torch.Tensor:
        frames = feats.shape[1]
        real = torch.round(rel_lengths * frames).clamp(min=1).long()
        mask = (torch.arange(frames, device=feats.device)[None, :] < real[:, None]).to(feats.dtype)[:, :, None]
        count = real[:, None, None].to(feats.dtype)
        if self.spec.mean_norm:
            mean = (feats * mask).sum(dim=1, keepdim=True) / count
            feats = feats - mean
        if self.spec.std_norm:
            mean = (feats * mask).sum(dim=1, keepdim=True) / count
            var = (((feats - mean) * mask) ** 2).sum(dim=1, keepdim=True) / (count - 1).clamp(min=1)
            feats = feats / var.sqrt().clamp(min=1e-10)
        return feats

    def forward(self, waves: torch.Tensor, rel_lengths: torch.Tensor) -> torch.Tensor:
        """(batch, samples), (batch,) relative lengths -> (batch, classes) log-probabilities."""
        feats = self.normalize(self.compute_features(waves), rel_lengths)
        return self.classifier(self.embedding_model(feats, rel_lengths))


def load_speechbrain_model(model_dir: Path) -> SpeechBrainLanguageId:
    spec = spec_from_hyperparams(load_hyperparams(model_dir / "hyperparams.yaml"), model_dir / "hyperparams.yaml")
    labels = read_label_encoder(model_dir / "label_encoder.txt")
    if len(labels) != spec.classifier.out_neurons:
        raise ConfigError(
            str(model_dir / "label_encoder.txt"),
            f"{len(labels)} labels but the classifier has {spec.classifier.out_neurons} outputs",
        )
    model = SpeechBrainLanguageId(spec, labels)
    load_state_dict_into(model.embedding_model, model_dir / "embedding_model.ckpt")
    load_state_dict_into(model.classifier, model_dir / "classifier.ckpt")
    return model.eval()


def save_speechbrain_model(model: SpeechBrainLanguageId, out_dir: str | Path) -> Path:
    """Write `model` in SpeechBrain's layout (hyperparams.yaml, the two .ckpt files, label_encoder.txt)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "hyperparams.yaml").write_text(hyperparams_yaml(model.spec), encoding="utf-8")
    torch.save(model.embedding_model.state_dict(), out / "embedding_model.ckpt")
    torch.save(model.classifier.state_dict(), out / "classifier.ckpt")
    (out / "label_encoder.txt").write_text(label_encoder_text(model.labels), encoding="utf-8")
    return out


class VoxLinguaClassifier:
    """Batched top-1 spoken-language prediction with a SpeechBrain ECAPA language-ID model."""

    name = "voxlingua107"

    def __init__(self, model_dir: Path, device: str = "cpu"):
        self.device = torch.device(device)
        self.model = load_speechbrain_model(Path(model_dir)).to(self.device)
        self.sample_rate = self.model.spec.fbank.sample_rate

    @torch.inference_mode()
    def classify(self, waves: list[np.ndarray]) -> list[Prediction | None]:
        """One prediction per waveform; None for an empty waveform."""
        results: list[Prediction | None] = [None] * len(waves)
        keep = [i for i, w in enumerate(waves) if len(w) > 0]
        if not keep:
            return results
        lengths = [len(waves[i]) for i in keep]
        width = max(max(lengths), MIN_SAMPLES)
        batch = np.zeros((len(keep), width), dtype=np.float32)
        for row, i in enumerate(keep):
            batch[row, : lengths[row]] = waves[i]
        rel = relative_lengths(lengths + [width])[:-1].to(self.device)
        log_probs = self.model(torch.from_numpy(batch).to(self.device), rel)
        best_log_prob, best = log_probs.max(dim=-1)
        for row, i in enumerate(keep):
            results[i] = Prediction(self.model.codes[int(best[row])], float(best_log_prob[row].exp()))
        return results
