"""The Whisper-architecture encoder-decoder of spec §7.1.

Parameter names equal openai-whisper's, so its `.pt` checkpoints (and OLMoASR's) load unchanged.
LayerNorm runs in float32 and Linear/Conv1d cast their weights to the input dtype, so one network
serves fp32, fp16 and bf16; logits are always float32. Attention is `scaled_dot_product_attention`
with `is_causal` for the decoder: right-padded training batches need no mask, because a real token
never attends to a later (padding) position.

Without autograd (decoding), the decoder's self-attention computes query, key and value with one
fused matmul, and the output projection reads the token embedding laid out for the product: those
are `InferenceWeights`, derived from the parameters and rebuilt when a parameter changes. Training
multiplies the plain parameters, so gradients and checkpoints are unaffected.
"""

from __future__ import annotations

import base64
import functools
import gzip
import math
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from olmoasr.model.dims import MULTILINGUAL_VOCAB, ModelDimensions
from olmoasr.model.kv_cache import KVCache

if TYPE_CHECKING:
    from olmoasr.model.tokenizer import Tokenizer

T = TypeVar("T")

__all__ = ["Whisper", "ResidualAttentionBlock", "AudioEncoder", "TextDecoder", "KVCache", "init_fan_in_gaussian_"]


class InferenceWeights:
    """Tensors derived from parameters for decoding (fused, transposed, cast), rebuilt when a source changes.

    A source changes when it is updated in place (its version counter), replaced (its storage), cast
    or moved. Derived tensors are plain attributes, never parameters or buffers: they stay out of
    state dicts, `.to()` and optimisers.
    """

    def __init__(self) -> None:
        self._entries: dict[str, tuple[tuple, Any]] = {}

    def get(self, key: str, sources: Sequence[Tensor], build: Callable[[], T]) -> T:
        stamp = tuple(_stamp(tensor) for tensor in sources)
        entry = self._entries.get(key)
        if entry is None or entry[0] != stamp:
            with torch.inference_mode(False), torch.no_grad():
                entry = (stamp, build())
            self._entries[key] = entry
        return entry[1]

    def clear(self) -> None:
        self._entries.clear()

    # A copy (deepcopy, pickle) starts empty and rebuilds on demand: entries are stamped with the source
    # tensors' storage, which a copy does not share, and oneDNN's packed weights cannot be copied at all.
    def __deepcopy__(self, memo: dict) -> InferenceWeights:
        return InferenceWeights()

    def __getstate__(self) -> dict:
        return {"_entries": {}}


def _stamp(tensor: Tensor) -> tuple:
    try:
        version = tensor._version
    except RuntimeError:  # an inference tensor has no version counter (and cannot change outside inference mode)
        version = -1
    return tensor.data_ptr(), version, tensor.dtype, tensor.device, tuple(tensor.shape)


def needs_autograd(*tensors: Tensor) -> bool:
    return torch.is_grad_enabled() and any(tensor.requires_grad for tensor in tensors)


class LayerNorm(nn.LayerNorm):
    def forward(self, x: Tensor) -> Tensor:
        if x.dtype == torch.float32 and self.weight.dtype == torch.float32:
            return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        weight = None if self.weight is None else self.weight.float()
        bias = None if self.bias is None else self.bias.float()
        return F.layer_norm(x.float(), self.normalized_shape, weight, bias, self.eps).type(x.dtype)


class Linear(nn.Linear):
    def forward(self, x: Tensor) -> Tensor:
        if self.weight.dtype == x.dtype:
            return F.linear(x, self.weight, self.bias)
        bias = None if self.bias is None else self.bias.to(x.dtype)
        return F.linear(x, self.weight.to(x.dtype), bias)


def fused_linear(layers: Sequence[nn.Linear], dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    """One weight [sum(out), in] and bias (zeros where a layer has none) that compute `layers` side by side."""
    weight = torch.cat([layer.weight for layer in layers]).to(dtype)
    bias = torch.cat(
        [layer.bias if layer.bias is not None else layer.weight.new_zeros(layer.out_features) for layer in layers]
    )
    return weight.contiguous(), bias.to(dtype)


class Conv1d(nn.Conv1d):
    def _conv_forward(self, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        return super()._conv_forward(x, weight.to(x.dtype), None if bias is None else bias.to(x.dtype))


def sinusoids(length: int, channels: int, max_timescale: float = 10_000) -> Tensor:
    """Fixed positional encoding of the encoder: sines in the first half of the channels, cosines after."""
    if channels % 2:
        raise ValueError(f"sinusoidal positions need an even width, got {channels}")
    increment = math.log(max_timescale) / (channels // 2 - 1)
    inv_timescales = torch.exp(-increment * torch.arange(channels // 2))
    angles = torch.arange(length)[:, None] * inv_timescales[None, :]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


class MultiHeadAttention(nn.Module):
    """Attention with `n_head` heads. `fuse_qkv` (the decoder's self-attention, run once per token) computes
    query, key and value with one matmul when no gradient is needed; elsewhere the products are large
    enough that a fused copy of the weights would only cost memory."""

    def __init__(self, n_state: int, n_head: int, fuse_qkv: bool = False):
        super().__init__()
        self.n_head = n_head
        self.fuse_qkv = fuse_qkv
        self.query = Linear(n_state, n_state)
        self.key = Linear(n_state, n_state, bias=False)
        self.value = Linear(n_state, n_state)
        self.out = Linear(n_state, n_state)
        self.derived = InferenceWeights()

    def _fused(self, name: str, layers: Sequence[nn.Linear], x: Tensor) -> Tensor:
        """`layers` applied to `x` side by side as one matmul, [..., len(layers) * n_state]."""
        sources = [tensor for layer in layers for tensor in (layer.weight, layer.bias) if tensor is not None]
        weight, bias = self.derived.get(f"{name}.{x.dtype}", sources, lambda: fused_linear(layers, x.dtype))
        return F.linear(x, weight, bias)

    def self_projections(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Query, key and value of `x`, each [batch, heads, length, head_dim]."""
        layers = (self.query, self.key, self.value)
        if not self.fuse_qkv or needs_autograd(x, *(layer.weight for layer in layers)):
            return self.split_heads(self.query(x)), self.split_heads(self.key(x)), self.split_heads(self.value(x))
        q, k, v = self._fused("qkv", layers, x).chunk(3, dim=-1)
        return self.split_heads(q), self.split_heads(k), self.split_heads(v)

    def split_heads(self, x: Tensor) -> Tensor:
        batch, length, width = x.shape
        return x.view(batch, length, self.n_head, width // self.n_head).transpose(1, 2)

    def merge_heads(self, x: Tensor) -> Tensor:
        batch, _, length, _ = x.shape
        return x.transpose(1, 2).reshape(batch, length, -1)

    def cross_keys_values(self, xa: Tensor) -> tuple[Tensor, Tensor]:
        """Keys and values of the audio features, [batch, heads, n_audio_ctx, head_dim] each."""
        return self.split_heads(self.key(xa)), self.split_heads(self.value(xa))

    def forward(
        self,
        x: Tensor,
        xa: Tensor | None = None,
        *,
        causal: bool = False,
        cache: KVCache | None = None,
        layer: int = 0,
        mask: Tensor | None = None,
    ) -> Tensor:
        """Self-attention (`xa` None) or cross-attention to `xa`; `mask` [rows, 1, T, keys] (True: may attend)
        replaces the causal rule when rows are padded (see `KVCache.padding`)."""
        if xa is None:
            q, k, v = self.self_projections(x)
            if cache is not None:
                k, v = cache.append(layer, k, v)
            if mask is not None:
                return self.out(self.merge_heads(F.scaled_dot_product_attention(q, k, v, attn_mask=mask)))
        else:
            q = self.split_heads(self.query(x))
            cached = None if cache is None else cache.cross(layer)
            if cached is None:
                cached = self.cross_keys_values(xa)
                if cache is not None:
                    cache.set_cross(layer, *cached)
            k, v = cached
            if k.shape[0] != q.shape[0]:
                return self.out(self.merge_heads(_attend_grouped(q, k, v)))
            causal = False
        return self.out(self.merge_heads(_attend(q, k, v, causal)))

    def attention_weights(self, x: Tensor, keys: Tensor, n_frames: int | None) -> Tensor:
        """Explicit softmax(q·kᵀ/√d) [batch, heads, T, frames] over the first `n_frames` keys."""
        q = self.split_heads(self.query(x)).float()
        keys = keys.float() if n_frames is None else keys[:, :, :n_frames].float()
        return torch.softmax(q @ keys.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)


def _attend(q: Tensor, k: Tensor, v: Tensor, causal: bool) -> Tensor:
    n_query, n_key = q.shape[-2], k.shape[-2]
    if not causal or n_query == 1:
        return F.scaled_dot_product_attention(q, k, v)
    if n_query == n_key:
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    # New tokens after a cached prefix: query i sits at position n_key - n_query + i.
    allowed = torch.ones(n_query, n_key, dtype=torch.bool, device=q.device).tril(n_key - n_query)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)


def _attend_grouped(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """Cross-attention of `group` rows per audio window (beams, samples) to that window's keys and values.

    q [windows * group, heads, T, d], k and v [windows, heads, frames, d]: the group's queries attend
    as one longer query sequence, so each window's keys and values are read once per step, not once
    per row.
    """
    windows, heads, frames, head_dim = k.shape
    rows, _, length, _ = q.shape
    if rows % windows:
        raise ValueError(f"{rows} decoder rows cannot share the audio of {windows} windows")
    group = rows // windows
    folded = q.view(windows, group, heads, length, head_dim).transpose(1, 2).reshape(windows, heads, -1, head_dim)
    out = F.scaled_dot_product_attention(folded, k, v)
    return out.view(windows, heads, group, length, head_dim).transpose(1, 2).reshape(rows, heads, length, head_dim)


class ResidualAttentionBlock(nn.Module):
    """Pre-LayerNorm block: self-attention, cross-attention (decoder only), 4x MLP with GELU."""

    def __init__(self, n_state: int, n_head: int, cross_attention: bool = False):
        super().__init__()
        self.attn = MultiHeadAttention(n_state, n_head, fuse_qkv=cross_attention)
        self.attn_ln = LayerNorm(n_state)
        self.cross_attn = MultiHeadAttention(n_state, n_head) if cross_attention else None
        self.cross_attn_ln = LayerNorm(n_state) if cross_attention else None
        self.mlp = nn.Sequential(Linear(n_state, 4 * n_state), nn.GELU(), Linear(4 * n_state, n_state))
        self.mlp_ln = LayerNorm(n_state)

    def forward(
        self,
        x: Tensor,
        xa: Tensor | None = None,
        cache: KVCache | None = None,
        layer: int = 0,
        mask: Tensor | None = None,
    ) -> Tensor:
        is_decoder = self.cross_attn is not None
        x = x + self.attn(self.attn_ln(x), causal=is_decoder, cache=cache, layer=layer, mask=mask)
        if self.cross_attn is not None and self.cross_attn_ln is not None:
            x = x + self.cross_attn(self.cross_attn_ln(x), xa, cache=cache, layer=layer)
        return x + self.mlp(self.mlp_ln(x))


class AudioEncoder(nn.Module):
    def __init__(self, n_mels: int, n_ctx: int, n_state: int, n_head: int, n_layer: int):
        super().__init__()
        self.conv1 = Conv1d(n_mels, n_state, kernel_size=3, padding=1)
        self.conv2 = Conv1d(n_state, n_state, kernel_size=3, stride=2, padding=1)
        self.register_buffer("positional_embedding", sinusoids(n_ctx, n_state))
        self.blocks = nn.ModuleList([ResidualAttentionBlock(n_state, n_head) for _ in range(n_layer)])
        self.ln_post = LayerNorm(n_state)

    def forward(self, mel: Tensor) -> Tensor:
        """mel [batch, n_mels, 2 * n_ctx] -> audio features [batch, n_ctx, n_state]."""
        n_ctx = self.positional_embedding.shape[0]
        if mel.ndim != 3 or mel.shape[-1] != 2 * n_ctx:
            raise ValueError(f"encoder expects mel [batch, n_mels, {2 * n_ctx}], got {list(mel.shape)}")
        x = F.gelu(self.conv1(mel))
        x = F.gelu(self.conv2(x)).transpose(1, 2)
        x = x + self.positional_embedding.to(x.dtype)
        for block in self.blocks:
            x = block(x)
        return self.ln_post(x)


class TextDecoder(nn.Module):
    def __init__(self, n_vocab: int, n_ctx: int, n_state: int, n_head: int, n_layer: int):
        super().__init__()
        self.token_embedding = nn.Embedding(n_vocab, n_state)
        self.positional_embedding = nn.Parameter(torch.empty(n_ctx, n_state))
        nn.init.normal_(self.positional_embedding, std=0.01)
        self.blocks = nn.ModuleList(
            [ResidualAttentionBlock(n_state, n_head, cross_attention=True) for _ in range(n_layer)]
        )
        self.ln = LayerNorm(n_state)
        self.derived = InferenceWeights()

    def hidden(self, tokens: Tensor, audio_features: Tensor, cache: KVCache | None = None) -> Tensor:
        offset = 0 if cache is None else cache.length
        n_ctx = self.positional_embedding.shape[0]
        if offset + tokens.shape[-1] > n_ctx:
            raise ValueError(f"decoder context is {n_ctx} tokens; got {offset + tokens.shape[-1]}")
        mask = None
        if cache is not None and cache.padding is not None:
            # left-padded rows: each row's tokens keep the positions they have alone
            positions = self.positional_embedding[cache.positions(tokens.shape[-1])]
            mask = cache.attention_mask(tokens.shape[-1])
        else:
            positions = self.positional_embedding[offset : offset + tokens.shape[-1]]
        x = (self.token_embedding(tokens) + positions).to(audio_features.dtype)
        for layer, block in enumerate(self.blocks):
            x = block(x, audio_features, cache, layer, mask)
        if cache is not None:
            cache.advance(tokens.shape[-1])
        return self.ln(x)

    def cache_cross_attention(self, cache: KVCache, audio_features: Tensor) -> None:
        """Put every layer's cross-attention keys and values of `audio_features` [windows, ...] in `cache`.

        The cache may hold several rows per window (beams, samples): they share the window's keys and
        values, computed and read once.
        """
        for layer, block in enumerate(self.blocks):
            if block.cross_attn is not None:
                cache.set_cross(layer, *block.cross_attn.cross_keys_values(audio_features))

    def forward(self, tokens: Tensor, audio_features: Tensor, cache: KVCache | None = None) -> Tensor:
        """tokens [batch, T] -> float32 logits [batch, T, n_vocab] (output projection tied to the embedding)."""
        return self.project(self.hidden(tokens, audio_features, cache))

    def project(self, x: Tensor) -> Tensor:
        """Hidden states -> float32 logits through the tied embedding.

        Training multiplies in float32. Decoding multiplies in float16 for a float16 model, as
        openai-whisper does, and in float32 otherwise (bfloat16 logits are too coarse to rank close
        tokens), by a copy of the embedding laid out for the product, made once: a matmul on the
        transposed view of a [n_vocab, width] matrix runs at a fraction of memory speed on CPUs. On a
        CPU, a single row is a matrix-vector product on the contiguous transposed copy; several rows
        (beams, batches, a prompt) go through oneDNN with a prepacked copy, which is 2-3x faster there
        than the BLAS matmul for small row counts.
        """
        weight = self.token_embedding.weight
        if needs_autograd(x, weight):
            return x.float() @ weight.float().T
        dtype = torch.float16 if x.dtype == torch.float16 else torch.float32
        x = x.to(dtype)
        cpu_float32 = x.device.type == "cpu" and dtype == torch.float32
        # inductor packs weights itself and cannot trace a prepacked one
        onednn = onednn_linear() if cpu_float32 and not torch.compiler.is_compiling() else None
        if onednn is not None and x.numel() > x.shape[-1]:
            pack, linear = onednn
            packed = self.derived.get(f"logits.onednn.{dtype}", [weight], lambda: pack(weight.to(dtype), 8))
            return linear(x, packed, None, "none", [], "").float()
        transposed = self.derived.get(f"logits.{dtype}", [weight], lambda: weight.to(dtype).T.contiguous())
        return (x @ transposed).float()


@functools.cache
def onednn_linear() -> tuple[Callable, Callable] | None:
    """oneDNN's (weight prepacking, linear) operators, when this torch build has them (CPU builds do)."""
    try:
        if not torch.backends.mkldnn.is_available():
            return None
        return torch.ops.mkldnn._reorder_linear_weight, torch.ops.mkldnn._linear_pointwise
    except (AttributeError, RuntimeError):
        return None


class Whisper(nn.Module):
    def __init__(self, dims: ModelDimensions):
        super().__init__()
        self.dims = dims
        self.encoder = AudioEncoder(
            dims.n_mels, dims.n_audio_ctx, dims.n_audio_state, dims.n_audio_head, dims.n_audio_layer
        )
        self.decoder = TextDecoder(
            dims.n_vocab, dims.n_text_ctx, dims.n_text_state, dims.n_text_head, dims.n_text_layer
        )
        # Default alignment heads for word timestamps: every head of the last half of the decoder.
        heads = torch.zeros(dims.n_text_layer, dims.n_text_head, dtype=torch.bool)
        heads[dims.n_text_layer // 2 :] = True
        self.register_buffer("alignment_heads", heads, persistent=False)

    # ---- properties ----------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return self.decoder.token_embedding.weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.decoder.token_embedding.weight.dtype

    @property
    def is_multilingual(self) -> bool:
        return self.dims.n_vocab >= MULTILINGUAL_VOCAB

    @property
    def num_languages(self) -> int:
        return self.dims.n_vocab - 51765 - int(self.is_multilingual)

    def tokenizer(self, *, language: str | None = None, task: str | None = None) -> Tokenizer:
        """The tokenizer matching this model's vocabulary."""
        from olmoasr.model.tokenizer import get_tokenizer

        return get_tokenizer(self.is_multilingual, num_languages=self.num_languages, language=language, task=task)

    # ---- computation ---------------------------------------------------------------------------
    def embed_audio(self, mel: Tensor) -> Tensor:
        """mel [batch, n_mels, 3000] -> audio features [batch, n_audio_ctx, n_audio_state]."""
        return self.encoder(mel.to(device=self.device, dtype=self.encoder.conv1.weight.dtype))

    def logits(self, tokens: Tensor, audio_features: Tensor, kv_cache: KVCache | None = None) -> Tensor:
        """float32 logits [batch, T, n_vocab]. With a cache, `tokens` are only the tokens not yet cached."""
        return self.decoder(tokens, audio_features, kv_cache)

    def forward(self, mel: Tensor, tokens: Tensor) -> Tensor:
        """Teacher-forced logits for training; right padding needs no mask (causal attention hides it)."""
        return self.decoder(tokens, self.embed_audio(mel))

    def new_kv_cache(self, batch_size: int, max_len: int | None = None) -> KVCache:
        return KVCache(self.dims.n_text_layer, batch_size, max_len or self.dims.n_text_ctx)

    @torch.no_grad()
    def cross_attention_weights(self, tokens: Tensor, audio_features: Tensor, n_frames: int | None = None) -> Tensor:
        """Cross-attention of the alignment heads: [n_alignment_heads, batch, T, n_frames or n_audio_ctx].

        With `n_frames`, the softmax runs over the first `n_frames` audio positions only (the part of
        the window that holds audio), as word-timestamp alignment wants.
        """
        decoder = self.decoder
        positions = decoder.positional_embedding[: tokens.shape[-1]]
        x = (decoder.token_embedding(tokens) + positions).to(audio_features.dtype)
        per_layer: list[Tensor] = []
        last_layer = int(self.alignment_heads.any(dim=1).nonzero().max()) if self.alignment_heads.any() else -1
        for layer, block in enumerate(decoder.blocks[: last_layer + 1]):
            heads = self.alignment_heads[layer].nonzero().flatten()
            if len(heads):
                after_self = x + block.attn(block.attn_ln(x), causal=True)
                keys, _ = block.cross_attn.cross_keys_values(audio_features)
                weights = block.cross_attn.attention_weights(block.cross_attn_ln(after_self), keys, n_frames)
                per_layer.append(weights[:, heads.to(weights.device)].transpose(0, 1))
            x = block(x, audio_features)
        if not per_layer:
            shape = (0, tokens.shape[0], tokens.shape[-1], n_frames or audio_features.shape[1])
            return torch.zeros(shape, device=audio_features.device)
        return torch.cat(per_layer, dim=0)

    def set_alignment_heads(self, spec: str | bytes | Sequence[Sequence[int]] | Tensor | np.ndarray) -> None:
        """Set the heads used for word timestamps: OpenAI's base85+gzip mask dump, [[layer, head], ...] or a mask."""
        shape = (self.dims.n_text_layer, self.dims.n_text_head)
        if isinstance(spec, str | bytes):
            raw = np.frombuffer(gzip.decompress(base64.b85decode(spec)), dtype=bool)
            if raw.size != shape[0] * shape[1]:
                raise ValueError(f"alignment-head dump has {raw.size} entries, the model {shape[0] * shape[1]}")
            mask = torch.from_numpy(raw.copy()).reshape(shape)
        elif isinstance(spec, Tensor | np.ndarray) and spec.dtype in (torch.bool, np.bool_):
            mask = torch.as_tensor(spec).reshape(shape).clone()
        else:
            mask = torch.zeros(shape, dtype=torch.bool)
            for layer, head in _pairs(spec):
                if not (0 <= layer < shape[0] and 0 <= head < shape[1]):
                    raise ValueError(f"alignment head ({layer}, {head}) is outside a {shape[0]}x{shape[1]} decoder")
                mask[layer, head] = True
        self.alignment_heads = mask.to(self.alignment_heads.device)

    # ---- decoding entry points (implemented in the decoding modules) ---------------------------
    def transcribe(self, audio: Any, **options: Any) -> dict[str, Any]:
        from olmoasr.model.transcribe import transcribe

        return transcribe(self, audio, **options)

    def decode(self, mel: Tensor, options: Any = None, **kwargs: Any) -> Any:
        from olmoasr.model.decoding import decode

        return decode(self, mel, options, **kwargs)

    def detect_language(self, mel: Tensor, tokenizer: Tokenizer | None = None) -> Any:
        from olmoasr.model.decoding import detect_language

        return detect_language(self, mel, tokenizer)


def _pairs(spec: Iterable[Sequence[int]] | Tensor | np.ndarray) -> list[tuple[int, int]]:
    pairs = spec.tolist() if isinstance(spec, Tensor | np.ndarray) else list(spec)
    result = []
    for pair in pairs:
        if len(pair) != 2:
            raise ValueError(f"an alignment head is a [layer, head] pair, got {pair!r}")
        result.append((int(pair[0]), int(pair[1])))
    return result


@torch.no_grad()
def init_fan_in_gaussian_(model: nn.Module) -> nn.Module:
    """The report's "Gaussian fan-in" init (spec §7.1): Kaiming normal (fan_in, ReLU gain) on every
    Linear and Conv1d weight, the token embedding and the decoder's positional embedding; biases and
    LayerNorms keep their defaults."""
    for module in model.modules():
        if isinstance(module, nn.Linear | nn.Conv1d | nn.Embedding):
            nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
        if isinstance(module, TextDecoder):
            nn.init.kaiming_normal_(module.positional_embedding, mode="fan_in", nonlinearity="relu")
    return model
