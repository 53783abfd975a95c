"""Training configuration: a YAML file validated strictly (unknown keys are errors)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from arner.errors import InputError
from arner.schema import load_schema
from arner.yamlfile import load_yaml


DATA_DIR_DEFAULT = "../shared/data"


def data_dir() -> Path:
    """Where external data lives (the real-news sets, the raw pool, the public corpora): ``$DATA_DIR``,
    default ``../shared/data``. The project's own inputs are in the repository, never here."""
    return Path(os.environ.get("DATA_DIR", DATA_DIR_DEFAULT))


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TinyEncoder(Strict):
    """A randomly initialised few-layer BERT with a WordPiece vocabulary trained on the corpus."""

    layers: int = Field(2, ge=1)
    hidden: int = Field(64, ge=1)
    heads: int = Field(2, ge=1)
    intermediate: int = Field(128, ge=1)
    vocab_size: int = Field(2000, ge=1)
    dropout: float = Field(0.1, ge=0, lt=1)


class DataConfig(Strict):
    corpus: str | list[str] = "annotations/gold"  # a JSONL file or a folder of them, or a list of those
    labels: str = "configs/labels.yaml"
    # Splits: documents with meta.split use it; others by a hash of the id (percentages).
    dev_percent: int = Field(10, ge=0, le=100)
    test_percent: int = Field(10, ge=0, le=100)


class ExtraCorpus(Strict):
    """A public CoNLL corpus added to the training split (never to dev/test)."""

    path: str                              # "${DATA_DIR}/..." is read from data_dir()
    labels: dict[str, str]                 # its entity type -> a schema label; other types are masked
    keep_only_with: list[str] = []         # keep only sentences with one of these schema labels (empty: all)
    mask_numbers: bool = True              # its numerals were never annotated as COUNT: mask them
    max_sentences: int | None = Field(None, ge=1)  # keep at most this many (evenly spaced, deterministic)

    @property
    def file(self) -> Path:
        return Path(self.path.replace("${DATA_DIR}", str(data_dir())))


class TrainingConfig(Strict):
    epochs: int = Field(10, ge=1)
    learning_rate: float = Field(5e-5, gt=0)
    batch_size: int = Field(16, ge=1)      # global: split evenly over data-parallel processes
    eval_batch_size: int = Field(64, ge=1)
    weight_decay: float = Field(0.01, ge=0)
    warmup_ratio: float = Field(0.1, ge=0)  # under 1: a share of all steps; from 1: a number of steps
    early_stopping_patience: int = Field(3, ge=1)
    seed: int = 13
    freeze_word_embeddings: bool = False   # the e5 vocabulary is 96M of its 118M parameters
    bf16: bool = True                      # bf16 autocast where the hardware multiplies it (bf16 GPUs; CPUs with AMX or AVX512-BF16)
    augment: float = Field(0.0, ge=0, le=1)  # share of training documents rewritten by one change of form (arner.perturb)


class Config(Strict):
    name: str
    encoder: str                           # hub id, local directory, or "tiny"
    tiny: TinyEncoder | None = None
    normalize: Literal["none", "arabert", "surface"] = "none"
    max_length: int = Field(256, ge=8)     # subword tokens per window, special tokens included
    window_overlap: int = Field(64, ge=0)  # subword tokens shared by consecutive windows
    data: DataConfig = Field(default_factory=DataConfig)
    extra_corpora: list[ExtraCorpus] = []
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    output_dir: str | None = None          # default: models/<name>

    @property
    def model_dir(self) -> Path:
        return Path(self.output_dir or f"models/{self.name}")


def load_config(path: str | Path) -> Config:
    config = load_yaml(path, Config, "config file")
    if config.encoder == "tiny" and config.tiny is None:
        config = config.model_copy(update={"tiny": TinyEncoder()})
    if config.window_overlap * 2 >= config.max_length - 2:
        raise InputError(f"{path}: window_overlap ({config.window_overlap}) must be under half of max_length ({config.max_length})")
    names = load_schema(config.data.labels).names if config.extra_corpora else []
    for i, extra in enumerate(config.extra_corpora):  # before anything is built or read
        for key, labels in (("labels", list(extra.labels.values())), ("keep_only_with", extra.keep_only_with)):
            for label in labels:
                if label not in names:
                    raise InputError(f"{path}: extra_corpora.{i}.{key}: {label!r} is not a label of {config.data.labels} "
                                     f"(known: {', '.join(names)})")
    return config
