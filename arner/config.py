"""Training configuration: a YAML file validated strictly (unknown keys are errors)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from arner.errors import InputError
from arner.yamlfile import load_yaml


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TinyEncoder(Strict):
    """A randomly initialised few-layer BERT with a WordPiece vocabulary trained on the corpus."""

    layers: int = 2
    hidden: int = 64
    heads: int = 2
    intermediate: int = 128
    vocab_size: int = 2000
    dropout: float = 0.1


class DataConfig(Strict):
    corpus: str | list[str] = "annotations/gold"  # a JSONL file or a folder of them, or a list of those
    labels: str = "configs/labels.yaml"
    # Splits: documents with meta.split use it; others by a hash of the id (percentages).
    dev_percent: int = 10
    test_percent: int = 10


class ExtraCorpus(Strict):
    """A public CoNLL corpus added to the training split (never to dev/test)."""

    path: str
    labels: dict[str, str]                 # its entity type -> a schema label; other types are masked
    keep_only_with: list[str] = []         # keep only sentences with one of these schema labels (empty: all)
    mask_numbers: bool = True              # its numerals were never annotated as COUNT: mask them
    max_sentences: int | None = None       # keep at most this many (evenly spaced, deterministic)


class TrainingConfig(Strict):
    epochs: int = 10
    learning_rate: float = 5e-5
    batch_size: int = 16                   # global: split evenly over data-parallel processes
    eval_batch_size: int = 64
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    early_stopping_patience: int = 3
    seed: int = 13
    freeze_word_embeddings: bool = False   # the e5 vocabulary is 96M of its 118M parameters
    bf16: bool = True                      # bf16 autocast where the hardware multiplies it (bf16 GPUs; CPUs with AMX or AVX512-BF16)
    augment: float = Field(0.0, ge=0, le=1)  # share of training documents rewritten by one change of form (arner.perturb)


class Config(Strict):
    name: str
    encoder: str                           # hub id, local directory, or "tiny"
    tiny: TinyEncoder | None = None
    normalize: Literal["none", "arabert", "surface"] = "none"
    max_length: int = 256                  # subword tokens per window, special tokens included
    window_overlap: int = 64               # subword tokens shared by consecutive windows
    data: DataConfig = Field(default_factory=DataConfig)
    extra_corpora: list[ExtraCorpus] = []
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    output_dir: str | None = None          # default: models/<name>

    @property
    def model_dir(self) -> Path:
        return Path(self.output_dir or f"models/{self.name}")

    @property
    def run_dir(self) -> Path:
        """Checkpoints and logs of the run (git-ignored)."""
        return Path("train/runs") / self.name


def load_config(path: str | Path) -> Config:
    config = load_yaml(path, Config, "config file")
    if config.encoder == "tiny" and config.tiny is None:
        config = config.model_copy(update={"tiny": TinyEncoder()})
    if config.window_overlap * 2 >= config.max_length - 2:
        raise InputError(f"{path}: window_overlap ({config.window_overlap}) must be under half of max_length ({config.max_length})")
    return config
