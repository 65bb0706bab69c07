"""Training Whisper-style models: `olmoasr.train.train(config)` / `load_config(...)`.

```python
from olmoasr.train import load_config, train
config = load_config("micro", {"data": "mix/", "out": "runs/micro", "train_steps": 50})
result = train(config)            # one process, or N workers with nproc_per_node
```
"""

from __future__ import annotations

from typing import Any

from olmoasr.train.config import TrainConfig, load_config


def train(config: TrainConfig | str | None = None, **overrides: Any):
    """Train with a TrainConfig (or a shipped config name / YAML path plus keyword overrides).

    Spawns `nproc_per_node` workers when asked (returns rank 0's result), or runs as one rank under
    torchrun. Returns a `TrainResult` (steps, per-step losses, checkpoint and export paths).
    """
    from olmoasr.train.launch import run_training

    if not isinstance(config, TrainConfig):
        config = load_config(config, overrides)
    elif overrides:
        config = config.replace(**overrides)
    return run_training(config)


__all__ = ["TrainConfig", "load_config", "train"]
