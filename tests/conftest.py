"""Shared fixtures: the schema, paths, a tiny WordPiece tokenizer built on the corpus, and a tiny
model trained on the gold corpus (once per test session)."""

import os
from pathlib import Path

import pytest
import yaml

from arner.config import data_dir, load_config
from arner.schema import load_schema
from arner.train import train

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = data_dir() if data_dir().is_absolute() else ROOT / data_dir()  # external data: $DATA_DIR, default ../shared/data


def external(relative: str) -> Path:
    """A file of the external data; the test is skipped, naming the path, where it is absent (a user's clone
    without ../shared). It always runs where the data is, as in CI."""
    path = DATA_DIR / relative
    if not path.exists():
        pytest.skip(f"external data absent: {path} (set DATA_DIR to the folder that holds it)")
    return path


@pytest.fixture(scope="session")
def schema():
    return load_schema(ROOT / "configs" / "labels.yaml")


@pytest.fixture(scope="session")
def tiny_tokenizer(tmp_path_factory):
    from transformers import AutoTokenizer

    from arner.config import TinyEncoder
    from arner.encoders import build_tiny
    from arner.text import split_words

    text = (ROOT / "annotations" / "markup" / "seed.txt").read_text(encoding="utf-8")
    out = build_tiny([w.text for w in split_words(text)], TinyEncoder(vocab_size=300), 64, tmp_path_factory.mktemp("tok"))
    return AutoTokenizer.from_pretrained(out)  # the reloaded tokenizer, not the in-memory one


CONFIG = {
    "name": "tiny",
    "encoder": "tiny",
    "tiny": {"layers": 2, "hidden": 64, "heads": 2, "intermediate": 128, "vocab_size": 1500},
    "max_length": 64,
    "window_overlap": 16,
    "data": {"corpus": str(ROOT / "annotations" / "gold"), "labels": str(ROOT / "configs" / "labels.yaml")},
    "training": {"epochs": 3, "learning_rate": 2.0e-3, "batch_size": 16, "early_stopping_patience": 5},
}


def write_config(folder: Path) -> Path:
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump(CONFIG, allow_unicode=True), encoding="utf-8")
    return path


def train_in(folder: Path, callbacks=None):
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        path = write_config(folder)
        return train(load_config(path), path, callbacks=callbacks)
    finally:
        os.chdir(cwd)


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    results = train_in(folder)
    return folder, folder / "models" / "tiny", results
