"""Deterministic train/dev/test splits by document: ``meta.split`` if set, else a hash of the id."""

from __future__ import annotations

import hashlib

SPLITS = ("train", "dev", "test")


def split_of(doc, dev_percent: int = 10, test_percent: int = 10) -> str:
    explicit = doc.meta.get("split")
    if explicit in SPLITS:
        return explicit
    bucket = int(hashlib.sha1(doc.id.encode("utf-8")).hexdigest(), 16) % 100
    if bucket < test_percent:
        return "test"
    if bucket < test_percent + dev_percent:
        return "dev"
    return "train"


def split_documents(docs, dev_percent: int = 10, test_percent: int = 10) -> dict[str, list]:
    out = {name: [] for name in SPLITS}
    for doc in docs:
        out[split_of(doc, dev_percent, test_percent)].append(doc)
    return out
