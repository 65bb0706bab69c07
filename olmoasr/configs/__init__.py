"""Shipped configs, the one home of every packaged YAML: `tagging/` and `filtering/` (the original's, unchanged)
and `train/` (model sizes for `olmoasr train -c NAME`, read by `olmoasr.train.config`).

`resolve_config("text_heurs_seg_edit_dist_edit_dist", "filtering")` finds the packaged file; an existing
path is used as is. Unknown names fail with one line listing what is available.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from olmoasr.errors import ConfigError
from olmoasr.io.safe_yaml import read_yaml

CONFIG_ROOT = Path(__file__).parent
Kind = Literal["tagging", "filtering"]


def packaged_configs(kind: Kind) -> dict[str, Path]:
    """Config name (file stem) -> path, for every YAML shipped under `configs/<kind>/`."""
    return {p.stem: p for p in sorted((CONFIG_ROOT / kind).rglob("*.yaml"))}


def resolve_config(name_or_path: str | Path, kind: Kind) -> Path:
    path = Path(name_or_path)
    if path.is_file():
        return path
    stem = path.name.removesuffix(".yaml").removesuffix(".yml")
    found = packaged_configs(kind).get(stem) if path.parent == Path(".") else None
    if found is not None:
        return found
    available = ", ".join(packaged_configs(kind))
    raise ConfigError(str(name_or_path), f"no such file or shipped {kind} config (shipped: {available})")


def load_yaml_mapping(path: Path) -> dict[str, Any]:
    """Parse a YAML file that must hold a mapping; every problem is a ConfigError naming the file."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(str(path), "expected a mapping with `name` and `pipeline`")
    return data
