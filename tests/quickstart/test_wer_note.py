"""The closing WER line claims only what was measured: the LibriVox result only for the measured fine-tune."""

from __future__ import annotations

from types import SimpleNamespace

from olmoasr.model.hub import OFFLINE_MODEL
from olmoasr.quickstart.data import FINETUNE_LR, write_train_config
from olmoasr.quickstart.walk import DEFAULT_STEPS, wer_note


def summary(**changes):
    values = {"mode": "finetune", "steps": DEFAULT_STEPS["finetune"], "base_model": OFFLINE_MODEL}
    return SimpleNamespace(**{**values, **changes})


def test_lower_wer_with_the_measured_fine_tune_cites_the_measurement():
    assert "LibriVox speech is unchanged" in wer_note(summary(), lower=True)


def test_other_steps_models_or_a_higher_wer_claim_nothing_more():
    for case in (summary(steps=DEFAULT_STEPS["finetune"] + 1), summary(base_model="other.pt")):
        assert "LibriVox" not in wer_note(case, lower=True)
    assert "not a better model" in wer_note(summary(), lower=False)
    assert "not a better model" in wer_note(summary(mode="micro"), lower=True)


def test_the_written_config_carries_the_measured_lr(tmp_path):
    import yaml

    config = yaml.safe_load(write_train_config(tmp_path / "t.yaml", "finetune", "cpu", OFFLINE_MODEL).read_text())
    assert config["lr"] == FINETUNE_LR == 5e-6 and DEFAULT_STEPS["finetune"] == 5
