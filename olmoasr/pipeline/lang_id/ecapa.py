"""ECAPA-TDNN embedding network and the x-vector style classifier head of SpeechBrain's VoxLingua107
language-ID recipe, written in plain torch.

Module and parameter names mirror SpeechBrain's so that its `embedding_model.ckpt` and
`classifier.ckpt` state dicts load unchanged: SpeechBrain wraps each torch layer one level deeper
(`<block>.conv.conv.weight`, `<block>.norm.norm.running_mean`, `<linear>.w.weight`), and its
convolutions pad "same" by reflection.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


class WrappedConv1d(nn.Module):
    """Conv1d with "same" reflect padding, stored as `.conv` (SpeechBrain's key layout)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 1, dilation: int = 1):
        super().__init__()
        self.conv = nn.Conv1d(
            in_channels,
            out_channels,
            kernel_size,
            dilation=dilation,
            padding="same" if kernel_size > 1 else 0,
            padding_mode="reflect",
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class WrappedBatchNorm1d(nn.Module):
    """BatchNorm1d over channels of (batch, channels, time) stored as `.norm`."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = nn.BatchNorm1d(channels, eps=1e-5, momentum=0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x)


class WrappedLinear(nn.Module):
    """Linear layer stored as `.w`."""

    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        self.w = nn.Linear(in_features, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w(x)


def length_mask(rel_lengths: torch.Tensor, frames: int) -> torch.Tensor:
    """(batch, 1, frames) float mask of each utterance's real frames, from relative lengths as SpeechBrain
    passes them (rounded, so float error never lets in one padded frame)."""
    real = torch.round(rel_lengths.float() * frames).clamp(min=1)
    positions = torch.arange(frames, device=rel_lengths.device, dtype=torch.float32)
    return (positions[None, :] < real[:, None]).float().unsqueeze(1)


class TDNNBlock(nn.Module):
    """conv -> ReLU -> batch norm (the order SpeechBrain trained with)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, dilation: int):
        super().__init__()
        self.conv = WrappedConv1d(in_channels, out_channels, kernel_size, dilation)
        self.activation = nn.ReLU()
        self.norm = WrappedBatchNorm1d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.activation(self.conv(x)))


class Res2NetBlock(nn.Module):
    """Channels split into `scale` groups; group i>0 goes through a TDNN after adding group i-1's output."""

    def __init__(self, channels: int, scale: int, kernel_size: int, dilation: int):
        super().__init__()
        if channels % scale:
            raise ValueError(f"res2net: {channels} channels do not split into {scale} groups")
        width = channels // scale
        self.scale = scale
        self.blocks = nn.ModuleList(TDNNBlock(width, width, kernel_size, dilation) for _ in range(scale - 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = []
        previous = None
        for i, part in enumerate(torch.chunk(x, self.scale, dim=1)):
            if i == 0:
                current = part
            elif i == 1:
                current = self.blocks[0](part)
            else:
                current = self.blocks[i - 1](part + previous)
            outputs.append(current)
            previous = current
        return torch.cat(outputs, dim=1)


class SEBlock(nn.Module):
    """Squeeze-and-excitation over the real frames of each utterance."""

    def __init__(self, channels: int, se_channels: int):
        super().__init__()
        self.conv1 = WrappedConv1d(channels, se_channels, 1)
        self.relu = nn.ReLU()
        self.conv2 = WrappedConv1d(se_channels, channels, 1)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor, rel_lengths: torch.Tensor) -> torch.Tensor:
        mask = length_mask(rel_lengths, x.shape[-1])
        squeezed = (x * mask).sum(dim=2, keepdim=True) / mask.sum(dim=2, keepdim=True)
        gate = self.sigmoid(self.conv2(self.relu(self.conv1(squeezed))))
        return x * gate


class SERes2NetBlock(nn.Module):
    def __init__(
        self, in_channels: int, out_channels: int, scale: int, se_channels: int, kernel_size: int, dilation: int
    ):
        super().__init__()
        self.tdnn1 = TDNNBlock(in_channels, out_channels, 1, 1)
        self.res2net_block = Res2NetBlock(out_channels, scale, kernel_size, dilation)
        self.tdnn2 = TDNNBlock(out_channels, out_channels, 1, 1)
        self.se_block = SEBlock(out_channels, se_channels)
        self.shortcut = WrappedConv1d(in_channels, out_channels, 1) if in_channels != out_channels else None

    def forward(self, x: torch.Tensor, rel_lengths: torch.Tensor) -> torch.Tensor:
        residual = x if self.shortcut is None else self.shortcut(x)
        y = self.tdnn2(self.res2net_block(self.tdnn1(x)))
        return self.se_block(y, rel_lengths) + residual


class AttentiveStatisticsPooling(nn.Module):
    """Attention-weighted mean and standard deviation over time, attention fed with global context
    (the utterance's plain mean and std repeated over time), padded frames masked out."""

    eps = 1e-12

    def __init__(self, channels: int, attention_channels: int, global_context: bool = True):
        super().__init__()
        self.global_context = global_context
        self.tdnn = TDNNBlock(channels * 3 if global_context else channels, attention_channels, 1, 1)
        self.tanh = nn.Tanh()
        self.conv = WrappedConv1d(attention_channels, channels, 1)

    def _statistics(self, x: torch.Tensor, weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean = (weights * x).sum(dim=2)
        std = torch.sqrt((weights * (x - mean.unsqueeze(2)).pow(2)).sum(dim=2).clamp(min=self.eps))
        return mean, std

    def forward(self, x: torch.Tensor, rel_lengths: torch.Tensor) -> torch.Tensor:
        frames = x.shape[-1]
        mask = length_mask(rel_lengths, frames)
        if self.global_context:
            mean, std = self._statistics(x, mask / mask.sum(dim=2, keepdim=True))
            context = torch.cat(
                [x, mean.unsqueeze(2).expand(-1, -1, frames), std.unsqueeze(2).expand(-1, -1, frames)], dim=1
            )
        else:
            context = x
        scores = self.conv(self.tanh(self.tdnn(context)))
        scores = scores.masked_fill(mask == 0, float("-inf"))
        mean, std = self._statistics(x, F.softmax(scores, dim=2))
        return torch.cat([mean, std], dim=1).unsqueeze(2)


@dataclass(frozen=True)
class EcapaConfig:
    """Architecture numbers (defaults: the VoxLingua107 model)."""

    input_size: int = 60
    channels: tuple[int, ...] = (1024, 1024, 1024, 1024, 3072)
    kernel_sizes: tuple[int, ...] = (5, 3, 3, 3, 1)
    dilations: tuple[int, ...] = (1, 2, 3, 4, 1)
    attention_channels: int = 128
    res2net_scale: int = 8
    se_channels: int = 128
    global_context: bool = True
    lin_neurons: int = 256

    def __post_init__(self) -> None:
        if not (len(self.channels) == len(self.kernel_sizes) == len(self.dilations)) or len(self.channels) < 3:
            raise ValueError("ECAPA: channels, kernel_sizes and dilations need the same length (>= 3)")


class EcapaTdnn(nn.Module):
    """(batch, frames, features) + relative lengths -> (batch, 1, lin_neurons) embeddings."""

    def __init__(self, config: EcapaConfig):
        super().__init__()
        c = config
        self.config = config
        self.blocks = nn.ModuleList([TDNNBlock(c.input_size, c.channels[0], c.kernel_sizes[0], c.dilations[0])])
        for i in range(1, len(c.channels) - 1):
            self.blocks.append(
                SERes2NetBlock(
                    c.channels[i - 1], c.channels[i], c.res2net_scale, c.se_channels, c.kernel_sizes[i], c.dilations[i]
                )
            )
        self.mfa = TDNNBlock(
            c.channels[-2] * (len(c.channels) - 2), c.channels[-1], c.kernel_sizes[-1], c.dilations[-1]
        )
        self.asp = AttentiveStatisticsPooling(c.channels[-1], c.attention_channels, c.global_context)
        self.asp_bn = WrappedBatchNorm1d(c.channels[-1] * 2)
        self.fc = WrappedConv1d(c.channels[-1] * 2, c.lin_neurons, 1)

    def forward(self, feats: torch.Tensor, rel_lengths: torch.Tensor) -> torch.Tensor:
        x = feats.transpose(1, 2)
        outputs = []
        for i, block in enumerate(self.blocks):
            x = block(x) if i == 0 else block(x, rel_lengths)
            outputs.append(x)
        x = self.mfa(torch.cat(outputs[1:], dim=1))
        x = self.asp_bn(self.asp(x, rel_lengths))
        return self.fc(x).transpose(1, 2)


@dataclass(frozen=True)
class ClassifierConfig:
    """SpeechBrain's `Xvector.Classifier` as the recipe configures it (LeakyReLU, one 512-unit block)."""

    input_size: int = 256
    lin_blocks: int = 1
    lin_neurons: int = 512
    out_neurons: int = 107


class _LinearBlock(nn.Module):
    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        self.linear = WrappedLinear(in_features, out_features)
        self.act = nn.LeakyReLU()
        self.norm = WrappedBatchNorm1d(out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.act(self.linear(x)))


class _LinearStack(nn.Module):
    """Holds `block_0`, `block_1`, ... (SpeechBrain's `DNN` container)."""

    def __init__(self, sizes: list[int]):
        super().__init__()
        self.names = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            self.add_module(f"block_{i}", _LinearBlock(a, b))
            self.names.append(f"block_{i}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for name in self.names:
            x = getattr(self, name)(x)
        return x


class EmbeddingClassifier(nn.Module):
    """(batch, 1, emb) embeddings -> (batch, classes) log-probabilities:
    LeakyReLU, batch norm, [linear, LeakyReLU, batch norm] x lin_blocks, linear, log-softmax."""

    def __init__(self, config: ClassifierConfig):
        super().__init__()
        self.config = config
        self.act = nn.LeakyReLU()
        self.norm = WrappedBatchNorm1d(config.input_size)
        sizes = [config.input_size] + [config.lin_neurons] * config.lin_blocks
        self.DNN = _LinearStack(sizes) if config.lin_blocks > 0 else None
        self.out = WrappedLinear(sizes[-1], config.out_neurons)

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        x = self.norm(self.act(embeddings.squeeze(1)))
        if self.DNN is not None:
            x = self.DNN(x)
        return F.log_softmax(self.out(x), dim=-1)
