"""Whisper's tokenizer and feature settings as the files other tools read from a model folder.

`tokenizer.json` is built offline with the Hugging Face `tokenizers` library from olmoasr's own
tiktoken ranks: tiktoken stores only each token's rank, so each merge is recovered by running BPE on
the token's bytes with the merges ranked below it, which always ends in exactly two parts.
transformers' Whisper tokenizer and faster-whisper both load it; `preprocessor_config.json` tells
them the log-mel settings (80 or 128 bins, 16 kHz, 30 s windows).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from olmoasr.io.atomic import atomic_write_text
from olmoasr.model.features import HOP_LENGTH, N_FFT, N_FRAMES, N_SAMPLES, SAMPLE_RATE

if TYPE_CHECKING:
    from olmoasr.model.tokenizer import Tokenizer

TOKENIZER_FILE = "tokenizer.json"
PREPROCESSOR_FILE = "preprocessor_config.json"


def byte_characters() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map (what byte-level BPE vocabularies are written in)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    mapping = {byte: chr(byte) for byte in printable}
    extra = 0
    for byte in range(256):
        if byte not in mapping:
            mapping[byte] = chr(256 + extra)
            extra += 1
    return mapping


def byte_level_vocabulary(tokenizer: Tokenizer) -> list[str]:
    """Every token's string in id order: byte-level text tokens, then the special tokens."""
    chars = byte_characters()
    encoding = tokenizer.encoding
    words = ["".join(chars[b] for b in encoding.decode_single_token_bytes(i)) for i in range(tokenizer.eot)]
    specials = sorted(encoding.special_tokens_set, key=encoding.encode_single_token)
    return words + specials


def _merge_of(token: bytes, rank: int, ranks: dict[bytes, int]) -> tuple[bytes, bytes]:
    parts = [bytes([byte]) for byte in token]
    while len(parts) > 2:
        best_rank, best_index = None, -1
        for index in range(len(parts) - 1):
            merged_rank = ranks.get(parts[index] + parts[index + 1])
            if merged_rank is not None and merged_rank < rank and (best_rank is None or merged_rank < best_rank):
                best_rank, best_index = merged_rank, index
        if best_rank is None:
            break
        parts[best_index : best_index + 2] = [parts[best_index] + parts[best_index + 1]]
    if len(parts) != 2:
        raise ValueError(f"token {token!r} (rank {rank}) is not the merge of two lower-ranked tokens")
    return parts[0], parts[1]


def hf_tokenizer(tokenizer: Tokenizer) -> Any:
    """A `tokenizers.Tokenizer` equal to `tokenizer`: byte-level BPE, then the special tokens in id order."""
    from tokenizers import AddedToken, decoders, models, pre_tokenizers
    from tokenizers import Tokenizer as HFTokenizer

    encoding = tokenizer.encoding
    chars = byte_characters()

    def text(token: bytes) -> str:
        return "".join(chars[byte] for byte in token)

    ranks = {encoding.decode_single_token_bytes(rank): rank for rank in range(tokenizer.eot)}
    vocab = {text(token): rank for token, rank in ranks.items()}
    merges = [
        tuple(text(part) for part in _merge_of(token, rank, ranks))
        for token, rank in sorted(ranks.items(), key=lambda item: item[1])
        if len(token) > 1
    ]
    hf = HFTokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False))
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    hf.decoder = decoders.ByteLevel()
    specials = sorted(encoding.special_tokens_set, key=encoding.encode_single_token)
    hf.add_special_tokens([AddedToken(name, special=True, normalized=False) for name in specials])
    return hf


def tokenizer_config(tokenizer: Tokenizer) -> dict[str, Any]:
    """transformers' tokenizer_config.json for a Whisper tokenizer built from tokenizer.json."""
    return {
        "tokenizer_class": "WhisperTokenizer",
        "model_max_length": 1024,
        "add_prefix_space": False,
        "errors": "replace",
        "bos_token": "<|endoftext|>",
        "eos_token": "<|endoftext|>",
        "unk_token": "<|endoftext|>",
        "pad_token": "<|endoftext|>",
        "clean_up_tokenization_spaces": False,
        "processor_class": "WhisperProcessor",
    }


def preprocessor_config(n_mels: int) -> dict[str, Any]:
    return {
        "feature_extractor_type": "WhisperFeatureExtractor",
        "processor_class": "WhisperProcessor",
        "feature_size": n_mels,
        "sampling_rate": SAMPLE_RATE,
        "hop_length": HOP_LENGTH,
        "n_fft": N_FFT,
        "chunk_length": N_SAMPLES // SAMPLE_RATE,
        "n_samples": N_SAMPLES,
        "nb_max_frames": N_FRAMES,
        "padding_side": "right",
        "padding_value": 0.0,
        "return_attention_mask": False,
    }


def write_tokenizer_files(tokenizer: Tokenizer, n_mels: int, directory: Path) -> None:
    """tokenizer.json, tokenizer_config.json and preprocessor_config.json, each written atomically."""
    directory = Path(directory)
    atomic_write_text(directory / TOKENIZER_FILE, hf_tokenizer(tokenizer).to_str())
    atomic_write_text(directory / "tokenizer_config.json", json.dumps(tokenizer_config(tokenizer), indent=2) + "\n")
    atomic_write_text(directory / PREPROCESSOR_FILE, json.dumps(preprocessor_config(n_mels), indent=2) + "\n")
