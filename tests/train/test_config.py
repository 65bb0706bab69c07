from __future__ import annotations

import pytest

from olmoasr.errors import ConfigError
from olmoasr.train.config import TrainConfig, load_config, parse_overrides, shipped_configs


@pytest.mark.parametrize("name", ["tiny", "base", "small", "medium", "large", "micro"])
def test_shipped_configs_load_with_the_original_recipe(name):
    cfg = load_config(name)
    assert name in shipped_configs()
    if name != "micro":
        assert (cfg.train_steps, cfg.lr, cfg.betas, cfg.eps, cfg.weight_decay) == (
            524288,
            1.5e-3,
            (0.9, 0.98),
            1e-6,
            0.1,
        )
        assert cfg.eff_batch_size == 512 and cfg.max_grad_norm == 1.0 and cfg.warmup_steps == 1049
        assert cfg.model_variant == name


def test_recipe_precision_and_strategy_per_size():
    assert (load_config("small").strategy, load_config("small").precision) == ("ddp", "float16")
    assert (load_config("medium").strategy, load_config("medium").precision) == ("fsdp", "bfloat16")


def test_overrides_are_typed_like_the_fields():
    cfg = load_config("tiny", ["--lr", "1e-4", "--shuffle=false", "--train-steps", "1_000", "--betas", "0.9,0.95",
                               "--dims.n_text_layer", "2", "--pin_memory"])  # fmt: skip
    assert cfg.lr == 1e-4 and cfg.shuffle is False and cfg.train_steps == 1000
    assert cfg.betas == (0.9, 0.95) and cfg.dims == {"n_text_layer": 2} and cfg.pin_memory is True


def test_every_original_flag_is_a_key():
    original = ["model_variant", "exp_name", "job_type", "samples_dicts_dir", "train_steps", "epoch_steps",
                "ckpt_file_name", "ckpt_dir", "log_dir", "eval_dir", "run_id_dir", "lr", "betas", "eps",
                "weight_decay", "max_grad_norm", "eff_batch_size", "train_batch_size", "eval_batch_size",
                "num_workers", "prefetch_factor", "pin_memory", "shuffle", "persistent_workers", "run_eval",
                "train_log_freq", "eval_freq", "ckpt_freq", "verbose", "precision", "hardware", "async_eval",
                "eval_script_path", "eval_wandb_log", "eval_on_gpu", "sharding_strategy", "run_val", "val_freq",
                "val_batch_size", "val_cache_dir", "val_wandb_log"]  # fmt: skip
    assert set(original) <= set(TrainConfig.__dataclass_fields__)


def test_a_bad_command_line_value_blames_the_command_line():
    with pytest.raises(ConfigError, match=r"^command line: bad value 'abc' for `lr`"):
        load_config("micro", ["--lr", "abc"])
    with pytest.raises(ConfigError, match=r"^command line: bad value .* for `dims`"):
        load_config("micro", ["--dims.n_audio_state", "abc"])


def test_unknown_key_is_named_with_a_suggestion(tmp_path):
    with pytest.raises(ConfigError, match=r"command line: unknown config key `lrr` \(did you mean `lr`\?\)"):
        load_config("tiny", {"lrr": 1})
    bad = tmp_path / "bad.yaml"
    bad.write_text("base: micro\ntrain_step: 10\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: unknown config key `train_step`"):
        load_config(str(bad))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [({"precision": "fp8"}, "precision must be"), ({"train_steps": "ten"}, "bad value 'ten' for `train_steps`"),
     ({"strategy": "zero3"}, "strategy must be"), ({"run_eval": True}, "run_eval needs eval_data"),
     ({"async_eval": True}, "async_eval is not supported"), ({"train_batch_size": 0}, "must be positive")],
)  # fmt: skip
def test_bad_values_fail_before_training(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config("micro", overrides)


def test_missing_config_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(str(tmp_path / "nope.yaml"))
    broken = tmp_path / "broken.yaml"
    broken.write_text("lr: [1, 2\n")
    with pytest.raises(ConfigError, match="broken.yaml:.*not valid YAML"):
        load_config(str(broken))


def test_parse_overrides_forms():
    assert parse_overrides(["--a", "1", "--b=2", "--flag", "--c", "x"]) == {
        "a": "1",
        "b": "2",
        "flag": "true",
        "c": "x",
    }
    with pytest.raises(ConfigError, match="unexpected argument"):
        parse_overrides(["lr"])


def test_bf16_and_fp16_aliases():
    assert load_config("micro", {"precision": "bf16"}).precision == "bfloat16"
    assert load_config("micro", {"precision": "fp16"}).precision == "float16"
