"""Shared fixtures: the schema, paths, and a tiny WordPiece tokenizer built on the corpus."""

from pathlib import Path

import pytest

from arner.schema import load_schema

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


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
