"""The training configuration: one frozen dataclass, loaded from YAML and `--key value` overrides.

Every flag of the original trainer (spec §7.10) is a key here with the same name, plus what our
trainer adds (strategy, resume, init-from, shuffle buffer, timestamp probability, ...). An unknown key
is an error naming the key (and the closest known one), never silently ignored.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from olmoasr.configs import CONFIG_ROOT
from olmoasr.errors import ConfigError, brief
from olmoasr.io.safe_yaml import load_text, read_yaml

CONFIG_DIR = CONFIG_ROOT / "train"
PRECISIONS = {"float32": "float32", "fp32": "float32", "float16": "float16", "fp16": "float16",
              "bfloat16": "bfloat16", "bf16": "bfloat16"}  # fmt: skip
STRATEGIES = ("auto", "ddp", "fsdp")
FEATURE_PADDING_POLICIES = ("mel", "audio", "mixed")
# Peak dense bf16/fp16 FLOP/s per device for MFU (spec §7.8 table; H100 SXM dense is ~989 T).
PEAK_FLOPS = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L40": 362e12, "A6000": 310e12, "cpu": 0.0}
ALIASES = {"data": "samples_dicts_dir"}


@dataclass(frozen=True)
class TrainConfig:
    # --- model --------------------------------------------------------------------------------
    model_variant: str = "tiny"  # tiny/base/small/medium/large (or tiny.en ...: same dims)
    dims: dict[str, int] = field(default_factory=dict)  # overrides of ModelDimensions fields (micro models)
    init_from: str | None = None  # fine-tune: any checkpoint olmoasr.load_model loads
    # --- run / files --------------------------------------------------------------------------
    exp_name: str = "olmoasr"
    job_type: str = "train"
    samples_dicts_dir: str = ""  # the training mix: JSONL file or directory of segment records
    allow_partial: bool = False  # train on a mix folder whose run did not finish (warned, not refused)
    out: str = ""  # run directory (default runs/<exp_name>)
    ckpt_dir: str = ""  # default <out>/checkpoints
    log_dir: str = ""  # default <out> (metrics.jsonl)
    eval_dir: str = ""  # base directory for a relative eval_data path
    run_id_dir: str = ""  # where the wandb run id is kept (default <out>)
    resume: str = "auto"  # auto | never | PATH of a checkpoint directory
    ckpt_file_name: str | None = None  # the original's name for `resume PATH`
    seed: int = 42
    # --- schedule -----------------------------------------------------------------------------
    train_steps: int = 524288
    epoch_steps: int = 0  # >0: also keep a `latesttrain` checkpoint every epoch_steps steps
    lr: float = 1.5e-3
    betas: tuple[float, float] = (0.9, 0.98)
    eps: float = 1e-6
    weight_decay: float = 0.1
    max_grad_norm: float = 1.0
    warmup_fraction: float = 0.002  # warm-up steps = ceil(warmup_fraction * train_steps)
    eff_batch_size: int = 256  # global batch (segments per optimizer step)
    train_batch_size: int = 8  # per-device micro-batch
    # --- data ---------------------------------------------------------------------------------
    num_workers: int = 10
    prefetch_factor: int = 2
    pin_memory: bool = True
    shuffle: bool = True
    shuffle_buffer: int = 2000  # records per loader stream held for shuffling
    persistent_workers: bool = True  # always true in effect: the loader streams without end, workers live all run
    timestamp_prob: float = 0.5  # probability of the timestamp target form (spec §7.3)
    nospeech_placement: str = "decoder"  # decoder: sot,nospeech,eot | original: sot,notimestamps,nospeech,eot
    # what fills a window after a segment shorter than 30 s (olmoasr.model.features.log_mel_batch): mel (the
    # spectrogram padding `transcribe` gives a model) | audio (the samples padding of the original trainer,
    # Hugging Face and `eval`'s short form) | mixed (each sample one or the other, from its seeded draw: the
    # model then reads both; benchmarks/RESULTS.md "proof_feature_padding", tests/train/test_listening.py)
    feature_padding: str = "mixed"
    # --- precision / parallelism --------------------------------------------------------------
    precision: str = "bfloat16"
    strategy: str = "auto"  # auto (ddp when world > 1) | ddp | fsdp
    sharding_strategy: str = "FULL_SHARD"  # FSDP: FULL_SHARD (reshard after forward) | SHARD_GRAD_OP
    nproc_per_node: int = 1
    activation_checkpointing: bool = False
    compile: bool = False
    device: str = "auto"  # auto | cpu | cuda
    # --- logging ------------------------------------------------------------------------------
    train_log_freq: int = 20000
    hardware: str = "H100"  # peak FLOP/s lookup for MFU
    peak_flops: float = 0.0  # per device; 0 = from `hardware` (none on CPU)
    verbose: bool = False  # print a per-micro-batch line (debugging)
    wandb_project: str | None = None
    wandb_entity: str | None = None
    wandb_mode: str = "online"  # online | offline | disabled
    # --- evaluation and checkpoints -----------------------------------------------------------
    run_eval: bool = False
    eval_data: str | None = None  # held-out JSONL: segment records or {"audio", "text"} lines
    eval_freq: int = 20000
    eval_batch_size: int = 32
    eval_max_samples: int = 0  # 0 = all
    eval_sample_len: int = 0  # max tokens decoded per eval window; 0 = the decoder's default (224)
    eval_wandb_log: bool = True  # send eval/* metrics to wandb (metrics.jsonl always has them)
    eval_on_gpu: bool = True  # false: decode on a CPU copy of the weights (frees GPU memory for training)
    async_eval: bool = False  # the original's subprocess eval: not supported (eval runs in the loop)
    eval_script_path: str | None = None  # only meaningful with async_eval; rejected when set
    run_val: bool = False  # teacher-forced loss on eval_data
    val_freq: int = 20000
    val_batch_size: int = 32
    val_cache_dir: str = ""  # the original cached HF validation sets here; ours reads eval_data (rejected when set)
    val_wandb_log: bool = True  # send val/* metrics to wandb
    ckpt_freq: int = 2500
    keep_last: int = 2
    stop_after_steps: int = 0  # >0: end this run after that many optimizer steps (a planned stop)

    # ------------------------------------------------------------------------------------------
    @property
    def run_dir(self) -> Path:
        return Path(self.out or os.path.join("runs", self.exp_name))

    @property
    def checkpoint_dir(self) -> Path:
        return Path(self.ckpt_dir) if self.ckpt_dir else self.run_dir / "checkpoints"

    @property
    def metrics_dir(self) -> Path:
        return Path(self.log_dir) if self.log_dir else self.run_dir

    @property
    def warmup_steps(self) -> int:
        import math

        return math.ceil(self.warmup_fraction * self.train_steps)

    @property
    def resume_from(self) -> str:
        return self.ckpt_file_name or self.resume

    def effective_peak_flops(self, device_type: str) -> float:
        if self.peak_flops > 0:
            return self.peak_flops
        return 0.0 if device_type == "cpu" else PEAK_FLOPS.get(self.hardware, 0.0)

    def eval_data_path(self) -> str | None:
        if not self.eval_data:
            return None
        if self.eval_dir and not os.path.isabs(self.eval_data):
            return os.path.join(self.eval_dir, self.eval_data)
        return self.eval_data

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["betas"] = list(self.betas)
        return out

    def replace(self, **changes: Any) -> TrainConfig:
        return build_config({**self.to_dict(), **changes}, source="replace")


FIELDS = {f.name: f for f in fields(TrainConfig)}


def _coerce(key: str, value: Any, source: str) -> Any:
    """Convert a YAML/CLI value to the type of field `key` (so `--lr 1e-4` and `lr: 1.0e-4` agree)."""
    default = FIELDS[key].default
    if default is dataclasses.MISSING:
        default = FIELDS[key].default_factory()  # type: ignore[misc]
    annotation = str(FIELDS[key].type)
    try:
        if value is None:
            if "None" in annotation:
                return None
            raise ValueError("a value is required")
        if key == "betas":
            if isinstance(value, str):
                value = [float(v) for v in value.replace("(", "").replace(")", "").split(",")]
            betas = tuple(float(v) for v in value)
            if len(betas) != 2:
                raise ValueError("expected two numbers, e.g. 0.9,0.98")
            return betas
        if key == "dims":
            if isinstance(value, str):
                value = load_text(value, f"{source}: `{key}` value")
            if not isinstance(value, dict):
                raise ValueError("expected a mapping of ModelDimensions fields")
            return {str(k): int(v) for k, v in value.items()}
        if isinstance(default, bool):
            if isinstance(value, str):
                lowered = value.strip().lower()
                if lowered in ("true", "1", "yes", "on"):
                    return True
                if lowered in ("false", "0", "no", "off"):
                    return False
                raise ValueError(f"expected true/false, got {value!r}")
            return bool(value)
        if isinstance(default, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            return int(str(value).replace("_", ""))
        if isinstance(default, float):
            return float(value)
        return str(value)
    except (TypeError, ValueError) as err:
        raise ConfigError(source, f"bad value {brief(value)} for `{key}`: {brief(str(err))}") from None


def _unknown_key(key: str, source: str) -> ConfigError:
    close = difflib.get_close_matches(key, list(FIELDS), n=1)
    hint = f" (did you mean `{close[0]}`?)" if close else ""
    return ConfigError(source, f"unknown config key `{key}`{hint}")


def _normalise_key(key: str) -> str:
    key = key.strip().lstrip("-").replace("-", "_")
    return ALIASES.get(key, key)


def build_config(values: dict[str, Any], source: str = "config") -> TrainConfig:
    """Validate a flat mapping into a TrainConfig; one clear error for the first bad key or value."""
    kwargs: dict[str, Any] = {}
    for raw_key, value in values.items():
        key = _normalise_key(raw_key)
        if key.startswith("dims."):
            dims = dict(kwargs.get("dims", {}))
            dims[key.split(".", 1)[1]] = _coerce("dims", {"x": value}, source)["x"]
            kwargs["dims"] = dims
            continue
        if key not in FIELDS:
            raise _unknown_key(raw_key, source)
        coerced = _coerce(key, value, source)
        if key == "dims":
            coerced = {**kwargs.get("dims", {}), **coerced}
        kwargs[key] = coerced
    config = TrainConfig(**kwargs)
    validate(config, source)
    return config


def validate(config: TrainConfig, source: str) -> None:
    """Reject impossible combinations before any process starts."""
    precision = PRECISIONS.get(config.precision)
    if precision is None:
        raise ConfigError(source, f"precision must be one of float32, float16, bfloat16 (got {config.precision!r})")
    object.__setattr__(config, "precision", precision)
    if config.strategy not in STRATEGIES:
        raise ConfigError(source, f"strategy must be one of {', '.join(STRATEGIES)} (got {config.strategy!r})")
    if config.nospeech_placement not in ("decoder", "original"):
        raise ConfigError(source, "nospeech_placement must be `decoder` or `original`")
    if config.feature_padding not in FEATURE_PADDING_POLICIES:
        raise ConfigError(source, f"feature_padding must be mel, audio or mixed (got {config.feature_padding!r})")
    if config.sharding_strategy not in ("FULL_SHARD", "SHARD_GRAD_OP"):
        raise ConfigError(source, "sharding_strategy must be FULL_SHARD or SHARD_GRAD_OP")
    if config.async_eval:
        raise ConfigError(source, "async_eval is not supported: evaluation runs inside the loop (run_eval, eval_freq)")
    if config.eval_script_path or config.val_cache_dir:
        raise ConfigError(
            source,
            "eval_script_path / val_cache_dir belong to the original's subprocess eval and Hub validation sets; "
            "validation here reads eval_data (run_val, val_freq)",
        )
    if config.wandb_mode not in ("online", "offline", "disabled"):
        raise ConfigError(source, "wandb_mode must be online, offline or disabled")
    if config.device not in ("auto", "cpu", "cuda"):
        raise ConfigError(source, "device must be auto, cpu or cuda")
    for key in ("train_steps", "train_batch_size", "eff_batch_size", "eval_batch_size", "val_batch_size",
                "train_log_freq", "eval_freq", "ckpt_freq", "val_freq", "nproc_per_node"):  # fmt: skip
        if getattr(config, key) <= 0:
            raise ConfigError(source, f"`{key}` must be positive (got {getattr(config, key)})")
    if not 0.0 <= config.timestamp_prob <= 1.0:
        raise ConfigError(source, "timestamp_prob must be within [0, 1]")
    if config.keep_last < 1:
        raise ConfigError(source, "keep_last must be at least 1")
    if config.run_eval and not config.eval_data:
        raise ConfigError(source, "run_eval needs eval_data (a held-out JSONL of segments or {audio, text} lines)")


def shipped_configs() -> list[str]:
    return sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))


def _read_yaml(path: Path, chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    data = read_yaml(path) or {}
    if not isinstance(data, dict):
        raise ConfigError(str(path), "a training config must be a YAML mapping of keys to values")
    base = data.pop("base", None)
    if base:  # `base: tiny` inherits a shipped config (or a path relative to this file)
        parent = _resolve_config_path(str(base), relative_to=path.parent)
        chain = (*chain, path.resolve())
        if parent.resolve() in chain:
            loop = " -> ".join(str(p) for p in (*chain, parent.resolve()))
            raise ConfigError(str(path), f"`base:` chain loops back on itself ({loop})")
        data = {**_read_yaml(parent, chain), **data}
    return data


def _resolve_config_path(name: str, relative_to: Path | None = None) -> Path:
    candidates = [Path(name)]
    if relative_to is not None:
        candidates.append(relative_to / name)
    candidates.append(CONFIG_DIR / f"{name}.yaml")
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ConfigError(name, f"no such config file or shipped config (shipped: {', '.join(shipped_configs())})")


def parse_overrides(args: list[str]) -> dict[str, str]:
    """`["--lr", "1e-4", "--shuffle=false"]` -> {"lr": "1e-4", "shuffle": "false"}; a bare flag means true."""
    out: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--"):
            raise ConfigError("command line", f"unexpected argument {arg!r} (overrides are `--key value`)")
        if "=" in arg:
            key, value = arg[2:].split("=", 1)
            i += 1
        elif i + 1 < len(args) and not args[i + 1].startswith("--"):
            key, value = arg[2:], args[i + 1]
            i += 2
        else:
            key, value = arg[2:], "true"
            i += 1
        out[key] = value
    return out


def load_config(
    source: str | os.PathLike[str] | None = None,
    overrides: dict[str, Any] | list[str] | None = None,
) -> TrainConfig:
    """A shipped config name (`tiny`, `micro`, ...) or YAML path, then overrides (dict or `--key value` list)."""
    values: dict[str, Any] = {}
    label = "defaults"
    if source is not None:
        path = _resolve_config_path(str(source))
        label = str(path)
        values = _read_yaml(path)
        # validate the file's own keys with the file named in the error
        for key in values:
            norm = _normalise_key(key)
            if norm not in FIELDS and not norm.startswith("dims."):
                raise _unknown_key(key, label)
    if isinstance(overrides, list):
        overrides = parse_overrides(overrides)
    for key, value in (overrides or {}).items():
        norm = _normalise_key(key)
        if norm not in FIELDS and not norm.startswith("dims."):
            raise _unknown_key(key, "command line")
        # a bad value is blamed on the command line, not on the YAML file it overrides
        if norm.startswith("dims."):
            _coerce("dims", {norm.split(".", 1)[1]: value}, "command line")
        else:
            _coerce(norm, value, "command line")
    merged = dict(values)
    for key, value in (overrides or {}).items():
        norm = _normalise_key(key)
        if norm == "dims" or norm.startswith("dims."):
            merged.setdefault("dims", {})
        merged[key] = value
    return build_config(merged, source=label)
