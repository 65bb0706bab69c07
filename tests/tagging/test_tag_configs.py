"""Tagging and filter configs: the original YAMLs load unchanged; mistakes fail at load time, naming file and key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from olmoasr.configs import packaged_configs, resolve_config
from olmoasr.errors import ConfigError
from olmoasr.pipeline.filter_config import BoolEquals, CleanSegContent, InSet, NumericRange, load_filter_config
from olmoasr.pipeline.tagging import load_tagging_config

SPEC_CONFIGS = Path(__file__).resolve().parents[2].parent / "shared" / "spec" / "configs"  # ../shared beside the repo


def write(tmp_path: Path, text: str, name: str = "cfg.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_shipped_configs_are_the_originals_unchanged():
    if not SPEC_CONFIGS.is_dir():
        pytest.skip("spec configs not present on this machine")
    for kind in ("tagging", "filtering"):
        shipped = packaged_configs(kind)
        originals = sorted((SPEC_CONFIGS / kind).rglob("*.yaml"))
        assert sorted(shipped) == sorted(p.stem for p in originals)
        for original in originals:
            assert shipped[original.stem].read_bytes() == original.read_bytes()


def test_main_tagging_configs_load():
    doc = load_tagging_config("main_tagging")
    assert doc.name == "main_tagging"
    assert doc.fields == ["casing", "repeating_lines", "text_lang", "edit_dist"]
    seg = load_tagging_config("main_tagging_seg", "segment")
    assert seg.fields == ["seg_edit_dist"]  # the original's crashing segment config works, as seg_edit_dist


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("name: x\npipeline:\n  - tag: casingg\n", "pipeline[0]: unknown tagger 'casingg'"),
        ("name: x\npipeline:\n  - tag: casing\n    ratoi: 0.5\n", "pipeline[0] (tag: casing): unknown key 'ratoi'"),
        (
            "name: x\npipeline:\n  - tag: text_lang\n    model: x\n",
            "unknown key 'model' (this tagger takes no options)",
        ),
        ("name: x\npipelines:\n  - tag: casing\n", "unknown key 'pipelines'"),
        ("name: x\npipeline: []\n", "`pipeline` must be a non-empty list"),
        ("name: x\npipeline:\n  - casing\n", "pipeline[0]: expected a mapping with a `tag` key"),
        ("name: x\npipeline:\n  - tag: casing\n    ratio: high\n", "option 'ratio' must be a float"),
        ("name: x\npipeline:\n  - tag: seg_edit_dist\n", "'seg_edit_dist' is a segment-level tagger"),
        ("name: x\npipeline:\n  - tag: casing\n  - tag: casing\n", "writes 'casing' like pipeline[0]"),
        ("name: x\npipeline: [\n", "not valid YAML"),
        ("- just\n- a list\n", "expected a mapping"),
    ],
)
def test_bad_tagging_configs_name_file_and_key(tmp_path, yaml_text, message):
    path = write(tmp_path, yaml_text)
    with pytest.raises(ConfigError) as err:
        load_tagging_config(path)
    assert str(err.value).startswith(str(path)) and message in str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_config_name_lists_the_shipped_ones():
    with pytest.raises(ConfigError, match="shipped: .*text_heurs_seg_edit_dist_edit_dist"):
        resolve_config("no_such_filter", "filtering")
    with pytest.raises(ConfigError, match="no such file"):
        resolve_config("some/dir/main_tagging.yaml", "tagging")  # a path that does not exist is not a name


def test_every_shipped_filter_config_loads_to_its_meaning():
    expected = {
        "lang_align": [("audio_lang", {"en"}), ("text_lang", {"en"})],
        "mixed_lang_eq": [("casing", {"mixed"}), ("audio_lang", {"en"}), ("text_lang", {"en"})],
        "mixed_no_repeats_lang_eq": [
            ("casing", {"mixed"}),
            ("repeating_lines", False),
            ("audio_lang", {"en"}),
            ("text_lang", {"en"}),
        ],
        "no_repeats_lang_eq": [("repeating_lines", False), ("audio_lang", {"en"}), ("text_lang", {"en"})],
        "no_upper_lang_eq": [
            ("casing", {"mixed", "lower"}),
            ("repeating_lines", False),
            ("audio_lang", {"en"}),
            ("text_lang", {"en"}),
        ],
        "text_heurs_seg_edit_dist_edit_dist": [
            ("audio_lang", {"en"}),
            ("text_lang", {"en"}),
            ("casing", {"mixed", "lower"}),
            ("repeating_lines", False),
            ("edit_dist", 0.5),
            ("seg_edit_dist", 0.7),
            ("seg_content", None),
        ],
    }
    for x, y in ((0.2, 0.2), (0.4, 0.4), (0.6, 0.4), (0.7, 0.5)):
        expected[f"seg_edit_dist_{x}_edit_dist_{y}"] = [
            ("audio_lang", {"en"}),
            ("text_lang", {"en"}),
            ("edit_dist", y),
            ("seg_edit_dist", x),
        ]
    assert set(expected) == set(packaged_configs("filtering"))
    for name, steps in expected.items():
        config = load_filter_config(name)
        assert len(config.steps) == len(steps), name
        for step, (field, meaning) in zip(config.steps, steps, strict=True):
            assert step.field == field
            if isinstance(meaning, set):
                assert isinstance(step, InSet) and step.values == meaning and not step.negate
            elif isinstance(meaning, bool):
                assert isinstance(step, BoolEquals) and step.ref is meaning
            elif meaning is None:
                assert isinstance(step, CleanSegContent)
            else:
                assert isinstance(step, NumericRange) and step.upper == meaning and step.lower is None
                assert step.inclusive


def test_a_config_can_be_given_by_path(tmp_path):
    path = tmp_path / "mine.yaml"
    shutil.copy(packaged_configs("filtering")["lang_align"], path)
    assert load_filter_config(path).path == str(path)
    assert load_filter_config(str(path)).name == "lang_align"


@pytest.mark.parametrize(
    ("step_yaml", "message"),
    [
        ("  - tag: casing\n    ref_vale: mixed\n", "pipeline[0] (tag: casing): unknown key 'ref_vale'"),
        ("  - tag: casing\n    ref_value: mixed\n    reference_value: mixed\n", "not both"),
        ("  - tag: casing\n    ref_value: mixed\n    comparison: equals\n", "`comparison` must be `in` or `not_in`"),
        ("  - tag: repeating_lines\n    ref_value: false\n    comparison: in\n", "applies to string values"),
        ("  - tag: edit_dist\n    ref_value: 0.5\n", "use lower_bound/upper_bound for numbers"),
        ("  - tag: edit_dist\n    upper_bound: high\n", "`upper_bound` must be a number"),
        ("  - tag: edit_dist\n    upper_bound: 0.5\n    inclusive: yes please\n", "`inclusive` must be true or false"),
        ("  - tag: edit_dist\n    lower_bound: 0.6\n    upper_bound: 0.5\n", "above upper_bound"),
        ("  - tag: edit_dist\n    ref_value: en\n    upper_bound: 0.5\n", "cannot be combined"),
        ("  - tag: edit_dist\n", "nothing to test"),
        ("  - tag: edit_dist\n    inclusive: true\n", "`inclusive` needs lower_bound or upper_bound"),
        ("  - tag: casing\n    comparison: in\n", "`comparison` needs `ref_value`"),
        ("  - tag: seg_content\n    ref_value: x\n", ""),  # seg_content with a test is a plain string step
    ],
)
def test_bad_filter_steps_fail_at_load_time(tmp_path, step_yaml, message):
    path = write(tmp_path, "name: x\npipeline:\n" + step_yaml)
    if not message:
        assert isinstance(load_filter_config(path).steps[0], InSet)
        return
    with pytest.raises(ConfigError) as err:
        load_filter_config(path)
    assert str(err.value).startswith(str(path)) and message in str(err.value)


def test_reference_value_is_accepted_like_ref_value(tmp_path):
    a = load_filter_config(
        write(tmp_path, "name: a\npipeline:\n  - tag: casing\n    ref_value: [mixed, lower]\n", "a.yaml")
    )
    b = load_filter_config(
        write(tmp_path, "name: b\npipeline:\n  - tag: casing\n    reference_value: [mixed, lower]\n", "b.yaml")
    )
    assert a.steps == b.steps
    c = load_filter_config(
        write(tmp_path, "name: c\npipeline:\n  - tag: casing\n    ref_value: upper\n    comparison: not_in\n", "c.yaml")
    )
    assert c.steps[0] == InSet("casing", frozenset({"upper"}), negate=True)
