"""Configs: strict validation, one-line errors naming the file and the key."""

import pytest

from arner.config import load_config
from arner.errors import InputError

from conftest import ROOT


TRAINING_CONFIGS = sorted(p.stem for p in (ROOT / "configs").glob("*.yaml") if p.stem not in {"labels", "aliases", "labelstudio"})


def test_shipped_configs_load():
    assert TRAINING_CONFIGS == ["default", "offline", "offline-gold-only", "offline-realnews", "offline-robust", "tiny"]
    for name in TRAINING_CONFIGS:
        assert load_config(ROOT / "configs" / f"{name}.yaml").name == name


def test_label_studio_settings_are_checked(tmp_path):
    from arner.labelstudio import load_project_settings

    assert load_project_settings(ROOT / "configs" / "labelstudio.yaml").fields() == {
        "maximum_annotations": 2, "overlap_cohort_percentage": 20, "show_overlap_first": True}
    bad = tmp_path / "ls.yaml"
    bad.write_text("overlap_percent: 120\n", encoding="utf-8")
    with pytest.raises(InputError, match="overlap_percent: Input should be less than or equal to 100"):
        load_project_settings(bad)


def test_unknown_key_is_an_error(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("name: x\nencoder: tiny\ntraining:\n  epoch: 3\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_config(path)
    assert str(err.value) == f"{path}: invalid config file: training.epoch: Extra inputs are not permitted"


def test_missing_and_malformed_configs(tmp_path):
    with pytest.raises(InputError, match="config file not found"):
        load_config(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [x\n", encoding="utf-8")
    with pytest.raises(InputError, match="invalid YAML"):
        load_config(bad)
