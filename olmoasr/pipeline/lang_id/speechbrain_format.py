"""Read and write SpeechBrain's pretrained-model directory layout without SpeechBrain:

    hyperparams.yaml      HyperPyYAML (`!new:`, `!name:`, `!ref <key>` tags) describing the modules
    embedding_model.ckpt  state dict of the ECAPA-TDNN (torch.save)
    classifier.ckpt       state dict of the classifier head
    label_encoder.txt     `'en: English' => 20` lines (CategoricalEncoder), then `'starting_index' => 0`

From the Hub (`huggingface_hub.snapshot_download`, the normal Hub cache) or from a local directory.
"""

from __future__ import annotations

import ast
import pickle
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml

from olmoasr.errors import ConfigError, HubOfflineError, HubUnavailableError, UsageError
from olmoasr.io.hub_access import hub_online, offline_reason
from olmoasr.io.safe_yaml import BoundedSafeLoader, read_yaml
from olmoasr.model.checkpoint_formats.torch_pickle import refusal_reason
from olmoasr.pipeline.lang_id.ecapa import ClassifierConfig, EcapaConfig
from olmoasr.pipeline.lang_id.fbank import FbankConfig

VOXLINGUA107_REPO = "speechbrain/lang-id-voxlingua107-ecapa"
MODEL_FILES = ("hyperparams.yaml", "embedding_model.ckpt", "classifier.ckpt", "label_encoder.txt")

# ----------------------------------------------------------------------------------- HyperPyYAML


class _Ref(str):
    """The text of a `!ref` node, resolved after the whole document is read."""


class _HyperLoader(BoundedSafeLoader):
    pass


def _construct_tagged(loader: yaml.Loader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        value: Any = loader.construct_mapping(node, deep=True)
    elif isinstance(node, yaml.SequenceNode):
        value = {"__args__": loader.construct_sequence(node, deep=True)}
    else:
        scalar = loader.construct_scalar(node)
        value = {"__args__": [scalar]} if scalar not in ("", None) else {}
    return {"__target__": suffix, **value}


def _construct_new(loader: yaml.Loader, suffix: str, node: yaml.Node) -> Any:
    return _construct_tagged(loader, suffix, node)


def _construct_ref(loader: yaml.Loader, node: yaml.Node) -> Any:
    return _Ref(loader.construct_scalar(node))


def _construct_other(loader: yaml.Loader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    return _construct_tagged(loader, suffix, node)


_HyperLoader.add_multi_constructor("!new:", _construct_new)
_HyperLoader.add_multi_constructor("!name:", _construct_new)
_HyperLoader.add_multi_constructor("!apply:", _construct_new)
_HyperLoader.add_constructor("!ref", _construct_ref)
_HyperLoader.add_constructor("!copy", _construct_ref)
_HyperLoader.add_multi_constructor("!", _construct_other)

_REF = re.compile(r"<([^<>]+)>")


def _resolve(value: Any, root: dict[str, Any], depth: int = 0) -> Any:
    if depth > 20:
        return value
    if isinstance(value, _Ref):
        whole = _REF.fullmatch(value.strip())
        if whole:
            target = root.get(whole.group(1), str(value))
            return _resolve(target, root, depth + 1)
        return _REF.sub(lambda m: str(_resolve(root.get(m.group(1), m.group(0)), root, depth + 1)), str(value))
    if isinstance(value, dict):
        return {k: _resolve(v, root, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, root, depth + 1) for v in value]
    return value


def load_hyperparams(path: Path) -> dict[str, Any]:
    """HyperPyYAML as plain data: `!new:cls` nodes become `{"__target__": "cls", **kwargs}`; refs resolved."""
    raw = read_yaml(path, loader=_HyperLoader)
    if not isinstance(raw, dict):
        raise ConfigError(str(path), "hyperparams must be a YAML mapping")
    return {k: _resolve(v, raw) for k, v in raw.items()}


# ----------------------------------------------------------------------------------- model spec


@dataclass(frozen=True)
class SpeechBrainLidSpec:
    """What a SpeechBrain language-ID directory describes, in our own terms."""

    fbank: FbankConfig
    mean_norm: bool
    std_norm: bool
    ecapa: EcapaConfig
    classifier: ClassifierConfig


def _module(params: dict[str, Any], key: str, expected_suffix: str, path: Path) -> dict[str, Any]:
    node = params.get(key)
    if not isinstance(node, dict) or not str(node.get("__target__", "")).endswith(expected_suffix):
        found = node.get("__target__") if isinstance(node, dict) else node
        raise ConfigError(str(path), f"`{key}` must be a !new:...{expected_suffix} (found {found!r})")
    return node


def _ints(value: Any) -> tuple[int, ...]:
    return tuple(int(v) for v in value)


def spec_from_hyperparams(params: dict[str, Any], path: Path) -> SpeechBrainLidSpec:
    feats = _module(params, "compute_features", "Fbank", path)
    for unsupported in ("deltas", "context"):
        if feats.get(unsupported):
            raise ConfigError(str(path), f"compute_features: `{unsupported}: True` is not supported")
    sample_rate = int(feats.get("sample_rate", 16000))
    fbank = FbankConfig(
        n_mels=int(feats.get("n_mels", 40)),  # SpeechBrain's Fbank default
        sample_rate=sample_rate,
        n_fft=int(feats.get("n_fft", 400)),
        win_ms=float(feats.get("win_length", 25)),
        hop_ms=float(feats.get("hop_length", 10)),
        f_min=float(feats.get("f_min", 0)),
        f_max=float(feats["f_max"]) if feats.get("f_max") is not None else None,
    )
    norm = params.get("mean_var_norm") or {}
    if norm and norm.get("norm_type", "global") != "sentence":
        raise ConfigError(str(path), f"mean_var_norm: norm_type {norm.get('norm_type')!r} is not supported")
    emb = _module(params, "embedding_model", "ECAPA_TDNN", path)
    ecapa_defaults = EcapaConfig()
    ecapa = EcapaConfig(
        input_size=int(emb.get("input_size", fbank.n_mels)),
        channels=_ints(emb.get("channels", (512, 512, 512, 512, 1536))),
        kernel_sizes=_ints(emb.get("kernel_sizes", ecapa_defaults.kernel_sizes)),
        dilations=_ints(emb.get("dilations", ecapa_defaults.dilations)),
        attention_channels=int(emb.get("attention_channels", 128)),
        res2net_scale=int(emb.get("res2net_scale", 8)),
        se_channels=int(emb.get("se_channels", 128)),
        global_context=bool(emb.get("global_context", True)),
        lin_neurons=int(emb.get("lin_neurons", 192)),
    )
    head = _module(params, "classifier", "Xvector.Classifier", path)
    activation = str((head.get("activation") or {}).get("__target__", "torch.nn.LeakyReLU"))
    if not activation.endswith("LeakyReLU"):
        raise ConfigError(str(path), f"classifier: activation {activation!r} is not supported (LeakyReLU only)")
    input_shape = head.get("input_shape") or [None, None, ecapa.lin_neurons]
    classifier = ClassifierConfig(
        input_size=int(input_shape[-1]),
        lin_blocks=int(head.get("lin_blocks", 1)),
        lin_neurons=int(head.get("lin_neurons", 512)),
        out_neurons=int(head.get("out_neurons", 1211)),
    )
    if ecapa.input_size != fbank.n_mels:
        raise ConfigError(str(path), f"embedding_model input_size {ecapa.input_size} != n_mels {fbank.n_mels}")
    return SpeechBrainLidSpec(
        fbank=fbank,
        mean_norm=bool(norm.get("mean_norm", True)) if norm else False,
        std_norm=bool(norm.get("std_norm", True)) if norm else False,
        ecapa=ecapa,
        classifier=classifier,
    )


def hyperparams_yaml(spec: SpeechBrainLidSpec) -> str:
    """HyperPyYAML text for `spec`, in the shape of the published VoxLingua107 model's file."""
    f, e, c = spec.fbank, spec.ecapa, spec.classifier
    return f"""# Language identification with ECAPA-TDNN (SpeechBrain layout; written by olmoasr)
pretrained_path: .
n_mels: {f.n_mels}
out_n_neurons: {c.out_neurons}

compute_features: !new:speechbrain.lobes.features.Fbank
    n_mels: !ref <n_mels>
    sample_rate: {f.sample_rate}
    n_fft: {f.n_fft}
    win_length: {f.win_ms:g}
    hop_length: {f.hop_ms:g}
    left_frames: 0
    right_frames: 0
    deltas: False

mean_var_norm: !new:speechbrain.processing.features.InputNormalization
    norm_type: sentence
    mean_norm: {spec.mean_norm}
    std_norm: {spec.std_norm}

embedding_model: !new:speechbrain.lobes.models.ECAPA_TDNN.ECAPA_TDNN
    input_size: !ref <n_mels>
    channels: {list(e.channels)}
    kernel_sizes: {list(e.kernel_sizes)}
    dilations: {list(e.dilations)}
    attention_channels: {e.attention_channels}
    res2net_scale: {e.res2net_scale}
    se_channels: {e.se_channels}
    global_context: {e.global_context}
    lin_neurons: {e.lin_neurons}

classifier: !new:speechbrain.lobes.models.Xvector.Classifier
    input_shape: [null, null, {c.input_size}]
    activation: !name:torch.nn.LeakyReLU
    lin_blocks: {c.lin_blocks}
    lin_neurons: {c.lin_neurons}
    out_neurons: !ref <out_n_neurons>

label_encoder: !new:speechbrain.dataio.encoder.CategoricalEncoder

modules:
    compute_features: !ref <compute_features>
    mean_var_norm: !ref <mean_var_norm>
    embedding_model: !ref <embedding_model>
    classifier: !ref <classifier>

pretrainer: !new:speechbrain.utils.parameter_transfer.Pretrainer
    loadables:
        embedding_model: !ref <embedding_model>
        classifier: !ref <classifier>
        label_encoder: !ref <label_encoder>
    paths:
        embedding_model: !ref <pretrained_path>/embedding_model.ckpt
        classifier: !ref <pretrained_path>/classifier.ckpt
        label_encoder: !ref <pretrained_path>/label_encoder.txt
"""


# ----------------------------------------------------------------------------------- labels

_LABEL_LINE = re.compile(r"^(?P<label>'.*'|\".*\")\s*=>\s*(?P<index>-?\d+)\s*$")


def read_label_encoder(path: Path) -> list[str]:
    """Labels by class index from a CategoricalEncoder file (the part before `=====`)."""
    labels: dict[int, str] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise ConfigError(str(path), f"cannot read label encoder ({err.strerror or err})") from err
    for line_no, line in enumerate(lines, start=1):
        if line.startswith("="):
            break
        if not line.strip():
            continue
        match = _LABEL_LINE.match(line.strip())
        if not match:
            raise ConfigError(f"{path}:{line_no}", "expected a `'label' => index` line")
        labels[int(match.group("index"))] = str(ast.literal_eval(match.group("label")))
    if not labels or sorted(labels) != list(range(len(labels))):
        raise ConfigError(str(path), "label indices must run 0..N-1 without gaps")
    return [labels[i] for i in range(len(labels))]


def label_to_code(label: str) -> str:
    """`'en: English'` -> `en` (the original kept the code before ': ')."""
    return label.split(":", 1)[0].strip()


def label_encoder_text(labels: list[str]) -> str:
    body = "".join(f"{label!r} => {index}\n" for index, label in enumerate(labels))
    return body + "================\n'starting_index' => 0\n"


# ----------------------------------------------------------------------------------- checkpoints


def load_state_dict_into(module: torch.nn.Module, path: Path) -> None:
    """Load a SpeechBrain `.ckpt` (a torch-saved state dict) with `weights_only=True`; one-line errors."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # unpickling errors differ across torch versions
        if isinstance(err, pickle.UnpicklingError):  # torch's message advises weights_only=False: never repeat it
            reason = refusal_reason(err)
            if "Python object" in reason:
                raise ConfigError(str(path), f"refusing to unpickle: {reason}") from None
            raise ConfigError(str(path), f"cannot load checkpoint ({reason})") from None
        reason = " ".join(str(err).split())[:200]
        raise ConfigError(str(path), f"cannot load checkpoint ({type(err).__name__}: {reason})") from err
    if not isinstance(state, dict):
        raise ConfigError(str(path), "checkpoint is not a state dict")
    expected = module.state_dict()
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    wrong_shape = [
        f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and hasattr(state[k], "shape") and tuple(state[k].shape) != tuple(v.shape)
    ]
    if missing or unexpected or wrong_shape:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} keys (e.g. {missing[0]})")
        if unexpected:
            parts.append(f"unexpected {len(unexpected)} keys (e.g. {unexpected[0]})")
        if wrong_shape:
            parts.append(f"shape mismatch {wrong_shape[0]}")
        raise ConfigError(str(path), "checkpoint does not match hyperparams.yaml: " + "; ".join(parts))
    module.load_state_dict({k: v for k, v in state.items() if k in expected}, strict=False)


# ----------------------------------------------------------------------------------- where the files are


def _looks_like_repo_id(name: str) -> bool:
    return bool(re.fullmatch(r"[\w.-]+/[\w.-]+", name))


def resolve_model_dir(model: str | None, repo_default: str = VOXLINGUA107_REPO) -> Path:
    """A local directory with MODEL_FILES, or a Hub repo id fetched (or found) in the Hub cache."""
    name = model or repo_default
    local = Path(name).expanduser()
    if local.exists():
        if not local.is_dir():
            raise UsageError(f"{local}: --model must be a model directory or a Hub repo id")
        missing = [f for f in MODEL_FILES if not (local / f).is_file()]
        if missing:
            raise UsageError(f"{local}: not a SpeechBrain language-ID model directory (missing {', '.join(missing)})")
        return local
    if not _looks_like_repo_id(name):
        raise UsageError(f"{name}: no such model directory (and not a Hub repo id like {repo_default})")
    from huggingface_hub import snapshot_download

    online = hub_online()
    try:
        path = Path(snapshot_download(repo_id=name, allow_patterns=list(MODEL_FILES), local_files_only=not online))
    except Exception as err:  # noqa: BLE001 - offline, not cached, no such repo, HTTP errors: one line each
        if online:
            detail = " ".join(str(err).split())[:200]
            raise HubUnavailableError(
                f"cannot load the language-ID model '{name}' from the Hugging Face Hub ({type(err).__name__}: "
                f"{detail}); offline, use --backend whisper-en (English or not)"
            ) from None
        raise HubOfflineError(
            f"cannot load the language-ID model '{name}': {offline_reason()} and it is not in the cache",
            f"offline, use --backend whisper-en (English or not), or run `hf download {name}` where the Hub is "
            "reachable (it lands in the Hub cache), or pass --model LOCAL_DIR (hyperparams.yaml, "
            "embedding_model.ckpt, classifier.ckpt, label_encoder.txt)",
        ) from None
    missing = [f for f in MODEL_FILES if not (path / f).is_file()]
    if missing:
        raise HubUnavailableError(f"Hub repo '{name}' lacks {', '.join(missing)}: not a SpeechBrain language-ID model")
    return path
