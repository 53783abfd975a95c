"""The label schema, read from ``configs/labels.yaml``: names, colours, BIO tags, id2label."""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, ConfigDict, field_validator

from arner.yamlfile import load_yaml

DEFAULT_LABELS_PATH = Path(__file__).resolve().parent.parent / "configs" / "labels.yaml"


class LabelSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    description: str
    colour: str
    hotkey: str | None = None

    @field_validator("name")
    @classmethod
    def _upper_snake(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Z][A-Z0-9_]*", v):
            raise ValueError(f"label name {v!r} must be UPPER_SNAKE_CASE")
        return v


class LabelSchema(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    labels: list[LabelSpec]

    @field_validator("labels")
    @classmethod
    def _unique(cls, v: list[LabelSpec]) -> list[LabelSpec]:
        names = [spec.name for spec in v]
        if len(set(names)) != len(names) or not names:
            raise ValueError(f"label names must be unique and non-empty, got {names}")
        return v

    @property
    def names(self) -> list[str]:
        return [spec.name for spec in self.labels]

    @cached_property
    def bio_tags(self) -> list[str]:
        """``O`` then ``B-X, I-X`` for each label, in schema order; index = class id."""
        return ["O"] + [f"{p}-{name}" for name in self.names for p in ("B", "I")]

    @property
    def id2label(self) -> dict[int, str]:
        return dict(enumerate(self.bio_tags))

    @property
    def label2id(self) -> dict[str, int]:
        return {tag: i for i, tag in enumerate(self.bio_tags)}


def bio_problem(id2label: dict[int, str], names: list[str] | None = None) -> str | None:
    """Why ``id2label`` is not a BIO tag set (``O``, then ``B-X`` and ``I-X`` for each label X, ids
    0..n-1), or over other labels than ``names`` when given; None when it is fine."""
    tags = [id2label.get(i) for i in range(len(id2label))]
    labels = list(dict.fromkeys(t[2:] for t in tags if isinstance(t, str) and t[:2] in ("B-", "I-")))
    if sorted(map(str, tags)) != sorted(["O"] + [f"{p}-{x}" for x in labels for p in "BI"]):
        return f"id2label is not a BIO tag set (O, B-X and I-X for each label X): {', '.join(map(str, tags))}"
    if names is not None and set(labels) != set(names):
        return f"the model's labels ({', '.join(labels)}) are not the schema's ({', '.join(names)})"
    return None


def load_schema(path: str | Path = DEFAULT_LABELS_PATH) -> LabelSchema:
    return load_yaml(path, LabelSchema, "label schema")
