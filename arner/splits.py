"""Deterministic train/dev/test splits by source article.

A document's split is ``meta.split`` if set, else a hash of its split key: the article's
``meta.url``, else the document it is a piece of (``meta.piece_of.id``, Label Studio pieces
of a long document), else its own id. Sentences of one article and pieces of one document
therefore share a split, and adding documents never moves an existing one.
"""

from __future__ import annotations

import hashlib

SPLITS = ("train", "dev", "test")


def split_key(doc) -> str:
    piece_of = doc.meta.get("piece_of")
    return doc.meta.get("url") or (piece_of.get("id") if isinstance(piece_of, dict) else None) or doc.id


def split_of(doc, dev_percent: int = 10, test_percent: int = 10) -> str:
    explicit = doc.meta.get("split")
    if explicit in SPLITS:
        return explicit
    bucket = int(hashlib.sha1(split_key(doc).encode("utf-8")).hexdigest(), 16) % 100
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
