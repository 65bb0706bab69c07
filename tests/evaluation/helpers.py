"""Evaluation test data: generated speech, sine clips, Hub-format datasets written like the Hub's parquet."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "She sells sea shells by the sea shore.",
    "Open the window and let the fresh air in.",
    "We paid twenty five dollars for the tickets.",
    "Mister Smith arrived at nine o'clock.",
]


def flite_wav(text: str, path: Path) -> Path:
    subprocess.run(["flite", "-t", text, "-o", str(path)], check=True, capture_output=True, timeout=60)
    return path


def write_hub_parquet(
    folder: Path,
    rows: list[dict],
    split: str = "test",
    text_field: str = "text",
    audio_column: str = "audio",
    extra: dict | None = None,
) -> Path:
    """A dataset laid out like a Hub parquet repo: `data/<split>-00000-of-00001.parquet`, Audio feature metadata.

    `rows`: {"audio": path or bytes, "text": ..., "id": ...}. Written with pyarrow (datasets would need
    torchcodec to encode audio).
    """
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    audio_values = []
    for row in rows:
        audio = row["audio"]
        if isinstance(audio, bytes):
            audio_values.append({"bytes": audio, "path": None})
        else:
            audio_values.append({"bytes": Path(audio).read_bytes(), "path": Path(audio).name})
    columns = {
        "id": [str(row.get("id", i)) for i, row in enumerate(rows)],
        audio_column: audio_values,
        text_field: [row["text"] for row in rows],
    }
    features = {
        "id": {"dtype": "string", "_type": "Value"},
        audio_column: {"sampling_rate": 16000, "_type": "Audio"},
        text_field: {"dtype": "string", "_type": "Value"},
    }
    for name, values in (extra or {}).items():
        columns[name] = values
        features[name] = {"dtype": "string", "_type": "Value"}
    schema = pa.schema(
        [
            pa.field("id", pa.string()),
            pa.field(audio_column, pa.struct({"bytes": pa.binary(), "path": pa.string()})),
            pa.field(text_field, pa.string()),
            *[pa.field(name, pa.string()) for name in (extra or {})],
        ],
        metadata={"huggingface": json.dumps({"info": {"features": features}})},
    )
    table = pa.table(columns, schema=schema)
    target = folder / "data" / f"{split}-00000-of-00001.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, target)
    return folder


def sine(seconds: float, freq: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * 16000)) / 16000
    return (0.2 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
