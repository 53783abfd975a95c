"""Configs: strict validation, one-line errors naming the file and the key."""

import pytest

from arner.config import load_config
from arner.errors import InputError

from conftest import ROOT


TRAINING_CONFIGS = sorted(p.stem for p in (ROOT / "configs").glob("*.yaml") if p.stem not in {"labels", "aliases", "labelstudio"})


def test_shipped_configs_load():
    assert TRAINING_CONFIGS == ["default", "offline", "offline-gold-only", "offline-gpu", "offline-realnews", "tiny"]
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


def test_external_data_follows_DATA_DIR_and_a_missing_public_corpus_fails_before_training(tmp_path, monkeypatch):
    from arner.config import TinyEncoder
    from train.train import train

    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    config = load_config(ROOT / "configs" / "offline.yaml")
    assert [str(e.file) for e in config.extra_corpora] == [f"{tmp_path}/data/public/anercorp/train.conll",
                                                           f"{tmp_path}/data/public/aqmar/train.conll"]
    config = config.model_copy(update={"encoder": "tiny", "tiny": TinyEncoder(), "output_dir": str(tmp_path / "model")})
    with pytest.raises(InputError) as err:
        train(config, "configs/offline.yaml")
    assert str(err.value) == (
        f"configs/offline.yaml: extra_corpora.0.path: {tmp_path}/data/public/anercorp/train.conll not found; set DATA_DIR "
        f"to the folder that holds public/ (now {tmp_path}/data), or train on the gold corpus alone: "
        "make train CONFIG=configs/offline-gold-only.yaml")
    assert not (tmp_path / "model").exists()


def test_a_test_that_needs_absent_external_data_is_skipped_naming_the_path():
    from conftest import DATA_DIR, external

    with pytest.raises(pytest.skip.Exception) as skipped:
        external("realnews-dev/no-such-file.jsonl")
    assert str(skipped.value) == (f"external data absent: {DATA_DIR}/realnews-dev/no-such-file.jsonl "
                                  "(set DATA_DIR to the folder that holds it)")
    assert external("realnews-dev/dev.jsonl") == DATA_DIR / "realnews-dev" / "dev.jsonl"  # present here, as in CI
