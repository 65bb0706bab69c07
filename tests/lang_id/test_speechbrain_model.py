"""The ECAPA-TDNN + classifier in SpeechBrain's layout: key names, hyperparams, labels, save/load."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from olmoasr.errors import ConfigError, HubUnavailableError, UsageError
from olmoasr.pipeline.lang_id.ecapa import (
    AttentiveStatisticsPooling,
    ClassifierConfig,
    EcapaTdnn,
    EmbeddingClassifier,
)
from olmoasr.pipeline.lang_id.speechbrain_format import (
    load_hyperparams,
    read_label_encoder,
    resolve_model_dir,
    spec_from_hyperparams,
)
from olmoasr.pipeline.lang_id.voxlingua import VoxLinguaClassifier, load_speechbrain_model

from .lid_helpers import MICRO_LABELS, build_micro_model, tone

# The inference hyperparams of speechbrain/lang-id-voxlingua107-ecapa, in its HyperPyYAML shape.
VOXLINGUA_HPARAMS = """
pretrained_path: speechbrain/lang-id-voxlingua107-ecapa
n_mels: 60
left_frames: 0
right_frames: 0
deltas: False
out_n_neurons: 107

compute_features: !new:speechbrain.lobes.features.Fbank
    n_mels: !ref <n_mels>
    left_frames: !ref <left_frames>
    right_frames: !ref <right_frames>
    deltas: !ref <deltas>

embedding_model: !new:speechbrain.lobes.models.ECAPA_TDNN.ECAPA_TDNN
    input_size: !ref <n_mels>
    channels: [1024, 1024, 1024, 1024, 3072]
    kernel_sizes: [5, 3, 3, 3, 1]
    dilations: [1, 2, 3, 4, 1]
    attention_channels: 128
    lin_neurons: 256

classifier: !new:speechbrain.lobes.models.Xvector.Classifier
    input_shape: [null, null, 256]
    activation: !name:torch.nn.LeakyReLU
    lin_blocks: 1
    lin_neurons: 512
    out_neurons: !ref <out_n_neurons>

mean_var_norm: !new:speechbrain.processing.features.InputNormalization
    norm_type: sentence
    std_norm: False

modules:
    compute_features: !ref <compute_features>
    mean_var_norm: !ref <mean_var_norm>
    embedding_model: !ref <embedding_model>
    classifier: !ref <classifier>

label_encoder: !new:speechbrain.dataio.encoder.CategoricalEncoder

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


def test_voxlingua_hyperparams_parse_to_the_published_architecture(tmp_path):
    path = tmp_path / "hyperparams.yaml"
    path.write_text(VOXLINGUA_HPARAMS)
    params = load_hyperparams(path)
    assert params["pretrainer"]["paths"]["classifier"] == "speechbrain/lang-id-voxlingua107-ecapa/classifier.ckpt"
    spec = spec_from_hyperparams(params, path)
    assert spec.fbank.n_mels == 60 and spec.fbank.win_length == 400 and spec.fbank.hop_length == 160
    assert (spec.mean_norm, spec.std_norm) == (True, False)
    assert spec.ecapa.channels == (1024, 1024, 1024, 1024, 3072) and spec.ecapa.lin_neurons == 256
    assert spec.ecapa.res2net_scale == 8 and spec.ecapa.se_channels == 128
    assert spec.classifier == ClassifierConfig(input_size=256, lin_blocks=1, lin_neurons=512, out_neurons=107)


def test_full_size_parameter_names_and_shapes_are_speechbrains():
    spec = spec_from_hyperparams(_params(VOXLINGUA_HPARAMS), Path("hyperparams.yaml"))
    with torch.device("meta"):
        emb = EcapaTdnn(spec.ecapa).state_dict()
        head = EmbeddingClassifier(spec.classifier).state_dict()
    expected_emb = {
        "blocks.0.conv.conv.weight": (1024, 60, 5),
        "blocks.0.norm.norm.running_var": (1024,),
        "blocks.1.tdnn1.conv.conv.weight": (1024, 1024, 1),
        "blocks.1.res2net_block.blocks.6.conv.conv.weight": (128, 128, 3),
        "blocks.3.se_block.conv1.conv.weight": (128, 1024, 1),
        "blocks.3.se_block.conv2.conv.bias": (1024,),
        "blocks.3.tdnn2.norm.norm.num_batches_tracked": (),
        "mfa.conv.conv.weight": (3072, 3072, 1),
        "asp.tdnn.conv.conv.weight": (128, 9216, 1),
        "asp.conv.conv.weight": (3072, 128, 1),
        "asp_bn.norm.running_mean": (6144,),
        "fc.conv.weight": (256, 6144, 1),
    }
    for key, shape in expected_emb.items():
        assert tuple(emb[key].shape) == shape, key
    assert "blocks.1.res2net_block.blocks.7.conv.conv.weight" not in emb  # scale 8 -> 7 convolutions
    assert not any("shortcut" in k for k in emb)
    assert {k: tuple(v.shape) for k, v in head.items() if not k.endswith("num_batches_tracked")} == {
        "norm.norm.weight": (256,),
        "norm.norm.bias": (256,),
        "norm.norm.running_mean": (256,),
        "norm.norm.running_var": (256,),
        "DNN.block_0.linear.w.weight": (512, 256),
        "DNN.block_0.linear.w.bias": (512,),
        "DNN.block_0.norm.norm.weight": (512,),
        "DNN.block_0.norm.norm.bias": (512,),
        "DNN.block_0.norm.norm.running_mean": (512,),
        "DNN.block_0.norm.norm.running_var": (512,),
        "out.w.weight": (107, 512),
        "out.w.bias": (107,),
    }


def _params(text: str) -> dict:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "hyperparams.yaml"
        path.write_text(text)
        return load_hyperparams(path)


def test_label_encoder_keeps_index_order(tmp_path):
    path = tmp_path / "label_encoder.txt"
    path.write_text(
        "'fr: French' => 2\n'en: English' => 0\n\"it's: Odd\" => 1\n================\n'starting_index' => 0\n"
    )
    assert read_label_encoder(path) == ["en: English", "it's: Odd", "fr: French"]
    path.write_text("'en: English' => 0\n'fr: French' => 2\n")
    with pytest.raises(ConfigError, match="0..N-1"):
        read_label_encoder(path)
    path.write_text("en English 0\n")
    with pytest.raises(ConfigError, match=r"label_encoder.txt:1"):
        read_label_encoder(path)


def test_saved_directory_loads_back_to_identical_predictions(micro_model_dir):
    assert sorted(p.name for p in micro_model_dir.iterdir()) == [
        "classifier.ckpt",
        "embedding_model.ckpt",
        "hyperparams.yaml",
        "label_encoder.txt",
    ]
    original = build_micro_model()
    loaded = load_speechbrain_model(micro_model_dir)
    assert loaded.labels == MICRO_LABELS and loaded.codes == ["en", "de", "fr"]
    waves = torch.from_numpy(np.stack([tone(300), tone(900, seed=1)]))
    lengths = torch.ones(2)
    with torch.inference_mode():
        np.testing.assert_allclose(loaded(waves, lengths).numpy(), original(waves, lengths).numpy(), rtol=1e-6)
    assert torch.equal(
        loaded.embedding_model.blocks[0].norm.norm.running_mean,
        original.embedding_model.blocks[0].norm.norm.running_mean,
    )


def test_attentive_pooling_ignores_padded_frames():
    torch.manual_seed(0)
    pool = AttentiveStatisticsPooling(channels=6, attention_channels=4).eval()
    x = torch.randn(1, 6, 30)
    padded = torch.cat([x, torch.randn(1, 6, 20) * 100], dim=2)
    with torch.inference_mode():
        alone = pool(x, torch.ones(1))
        masked = pool(padded, torch.tensor([30 / 50]))
    np.testing.assert_allclose(alone.numpy(), masked.numpy(), rtol=1e-5, atol=1e-6)
    assert alone.shape == (1, 12, 1)


def test_classifier_handles_batches_empty_and_very_short_audio(micro_model_dir):
    clf = VoxLinguaClassifier(micro_model_dir)
    waves = [tone(300), np.zeros(0, np.float32), tone(500, seconds=0.01), tone(900, seconds=1.0)]
    preds = clf.classify(waves)
    assert preds[1] is None
    assert all(p.language in ("en", "de", "fr") and 0 < p.probability <= 1 for p in (preds[0], preds[2], preds[3]))
    # Same-length inputs: a batch gives what each gives alone.
    same = [tone(300), tone(310, seed=3)]
    assert [p.language for p in clf.classify(same)] == [clf.classify([w])[0].language for w in same]


def test_mismatched_checkpoint_is_one_clear_error(micro_model_dir, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(micro_model_dir, broken)
    state = torch.load(broken / "classifier.ckpt", weights_only=True)
    state["out.w.weight"] = torch.zeros(5, 16)
    del state["norm.norm.weight"]
    torch.save(state, broken / "classifier.ckpt")
    with pytest.raises(ConfigError) as err:
        load_speechbrain_model(broken)
    message = str(err.value)
    assert "classifier.ckpt" in message and "missing 1 keys (e.g. norm.norm.weight)" in message
    assert "\n" not in message
    (broken / "embedding_model.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match="embedding_model.ckpt: cannot load checkpoint"):
        load_speechbrain_model(broken)


def test_model_resolution_local_and_offline_hub(micro_model_dir, tmp_path, monkeypatch):
    assert resolve_model_dir(str(micro_model_dir)) == micro_model_dir
    (tmp_path / "incomplete").mkdir()
    with pytest.raises(UsageError, match="missing hyperparams.yaml"):
        resolve_model_dir(str(tmp_path / "incomplete"))
    with pytest.raises(UsageError, match="no such model directory"):
        resolve_model_dir(str(tmp_path / "nope" / "deeper"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))
    with pytest.raises(HubUnavailableError) as err:
        resolve_model_dir(None)
    message = str(err.value)
    assert "speechbrain/lang-id-voxlingua107-ecapa" in message and "--model LOCAL_DIR" in message
    assert "hf download speechbrain/lang-id-voxlingua107-ecapa" in message and "huggingface-cli" not in message
    assert "--backend whisper-en" in message and "HF_HUB_OFFLINE is set" in message and "\n" not in message
