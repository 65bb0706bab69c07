"""Key/value cache for incremental decoding: preallocated self-attention K/V plus per-audio cross K/V."""

from __future__ import annotations

import torch


class KVCache:
    """Per-layer cached keys and values of one batch of decoder rows.

    Self-attention K/V live in tensors [batch, heads, max_len, head_dim] allocated on first use and
    filled up to `length`; `Whisper.logits` writes the new tokens' K/V at `length` and then advances
    it. Cross-attention K/V depend only on the audio, so they are computed on the first call after a
    `reset()` and reused. They may hold one row per audio window while the batch holds several rows
    per window (beams, samples; `TextDecoder.cache_cross_attention`): those rows share them.

    Rows whose prompts differ in length are left-padded to one length: `padding[row]` positions at
    the start of a row are never attended to (except by themselves, so every softmax has a key),
    and each row's real tokens keep the positions they would have alone.
    """

    def __init__(self, n_layer: int, batch_size: int, max_len: int):
        self.n_layer = n_layer
        self.batch_size = batch_size
        self.max_len = max_len
        self.length = 0
        self.padding: torch.Tensor | None = None
        self._keys: list[torch.Tensor | None] = [None] * n_layer
        self._values: list[torch.Tensor | None] = [None] * n_layer
        self._cross: list[tuple[torch.Tensor, torch.Tensor] | None] = [None] * n_layer

    def append(self, layer: int, keys: torch.Tensor, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Store the new tokens' K/V [batch, heads, new, head_dim] at `length`; return all K/V so far."""
        batch, heads, new, head_dim = keys.shape
        if batch != self.batch_size:
            raise ValueError(f"KV cache holds {self.batch_size} rows but got {batch}")
        end = self.length + new
        if end > self.max_len:
            raise ValueError(f"KV cache overflow: {end} tokens > max_len {self.max_len}")
        cached_keys = self._keys[layer]
        if cached_keys is None or cached_keys.dtype != keys.dtype or cached_keys.device != keys.device:
            shape = (batch, heads, self.max_len, head_dim)
            cached_keys = keys.new_zeros(shape)
            self._keys[layer] = cached_keys
            self._values[layer] = values.new_zeros(shape)
        cached_values = self._values[layer]
        cached_keys[:, :, self.length : end] = keys
        cached_values[:, :, self.length : end] = values
        return cached_keys[:, :, :end], cached_values[:, :, :end]

    def set_padding(self, padding: torch.Tensor | None) -> None:
        """Leading positions per row [batch] that hold no token (None or all zeros: no padding)."""
        if padding is not None and padding.numel() != self.batch_size:
            raise ValueError(f"padding has {padding.numel()} rows, the cache {self.batch_size}")
        self.padding = None if padding is None or not bool(padding.any()) else padding.long()

    def positions(self, n_new: int) -> torch.Tensor:
        """Positional-embedding index [batch, n_new] of the next `n_new` tokens of each padded row."""
        assert self.padding is not None
        absolute = torch.arange(self.length, self.length + n_new, device=self.padding.device)
        return (absolute[None, :] - self.padding[:, None]).clamp_(min=0)

    def attention_mask(self, n_new: int) -> torch.Tensor:
        """Which keys [batch, 1, n_new, length + n_new] the next `n_new` tokens of each padded row may attend to."""
        assert self.padding is not None
        end = self.length + n_new
        keys = torch.arange(end, device=self.padding.device)
        queries = torch.arange(self.length, end, device=self.padding.device)
        causal = keys[None, :] <= queries[:, None]
        real = keys[None, None, :] >= self.padding[:, None, None]
        itself = keys[None, :] == queries[:, None]
        return (causal & (real | itself))[:, None]

    def cross(self, layer: int) -> tuple[torch.Tensor, torch.Tensor] | None:
        return self._cross[layer]

    def set_cross(self, layer: int, keys: torch.Tensor, values: torch.Tensor) -> None:
        self._cross[layer] = (keys, values)

    def advance(self, n_tokens: int) -> None:
        self.length += n_tokens

    def truncate(self, length: int) -> None:
        """Forget every token at position >= `length` (the audio's cross K/V are kept)."""
        if not 0 <= length <= self.length:
            raise ValueError(f"cannot truncate a KV cache of length {self.length} to {length}")
        self.length = length

    def reorder(self, index: torch.Tensor) -> None:
        """Make row i hold what row `index[i]` held (beam search keeps its best candidates).

        Beam search moves rows only among the beams of one audio, whose cross-attention K/V are
        identical, so those stay in place.
        """
        if index.numel() != self.batch_size:
            raise ValueError(f"reorder index has {index.numel()} rows, the cache {self.batch_size}")
        if self.padding is not None:
            self.padding = self.padding[index.to(self.padding.device)]
        for layer in range(self.n_layer):
            cached_keys, cached_values = self._keys[layer], self._values[layer]
            if cached_keys is not None and cached_values is not None and self.length:
                idx = index.to(cached_keys.device)
                filled = slice(0, self.length)
                cached_keys[:, :, filled] = cached_keys[idx, :, filled]  # the gather copies before writing
                cached_values[:, :, filled] = cached_values[idx, :, filled]

    def reset(self) -> None:
        """Empty the cache for new audio (buffers are kept and overwritten)."""
        self.length = 0
        self.padding = None
        self._cross = [None] * self.n_layer
