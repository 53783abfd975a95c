"""Shared fixtures: the schema, paths, a tiny WordPiece tokenizer built on the corpus, a tiny
model trained on the gold corpus (once per test session), and a real Label Studio server on a free
127.0.0.1 port with a fresh data folder (once per session, for every test that asks for it)."""

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the stage folders (train/, eval/) import as packages from the repository root

from arner.config import data_dir, load_config  # noqa: E402
from arner.schema import load_schema  # noqa: E402
from train.train import train  # noqa: E402

DATA_DIR = data_dir() if data_dir().is_absolute() else ROOT / data_dir()  # external data: $DATA_DIR, default ../shared/data


def external(relative: str) -> Path:
    """A file of the external data; the test is skipped, naming the path, where it is absent (a user's clone
    without ../shared). It always runs where the data is, as in CI."""
    path = DATA_DIR / relative
    if not path.exists():
        pytest.skip(f"external data absent: {path} (set DATA_DIR to the folder that holds it)")
    return path


STAGE_SCRIPTS = {"train": "train.train", "eval": "eval.evaluate"}  # `make train`, `make eval`


def run_cli(*args, cwd, env=None):
    """``arner ARGS`` in a subprocess, or a stage script for ``train`` and ``eval`` (``python -m train.train ...``)."""
    args = [str(a) for a in args]
    module = STAGE_SCRIPTS.get(args[0])
    argv = ["-m", module, *args[1:]] if module else ["-m", "arner.cli", *args]
    return subprocess.run([sys.executable, *argv], cwd=cwd, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """Label Studio, started once per session (stopped at the end); skipped only when it is not installed."""
    from arner import labelstudio as ls

    if not ((Path(sys.executable).parent / "label-studio").exists() or shutil.which("label-studio")):
        pytest.skip("the label-studio executable is not installed (`make setup` installs it)")
    data = tmp_path_factory.mktemp("labelstudio-data")
    settings = ls.Settings(url=f"http://127.0.0.1:{free_port()}", username="admin@arner.test",
                           password="test-password-123", token="0123456789abcdef0123456789abcdef01234567")
    process = ls.start_server(settings, data, wait=120)
    assert process is not None, "another server answered on the free port"
    yield settings
    ls.stop_server(data)
    assert process.wait(timeout=30) is not None
