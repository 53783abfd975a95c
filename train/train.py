"""`make train`: fine-tune the encoder of a config into ``models/<name>/`` (``python -m train.train CONFIG``).

Reads like Hugging Face's ``run_ner.py`` ``main()``: config -> dataset -> tokenizer and model ->
features -> trainer -> train -> save. Dev strict F1 (the same Tagger and scorer as `make eval`)
selects the best checkpoint and drives early stopping. Checkpoints live in
``train/runs/<name>-<identity>/`` (``arner.runs``): the same config, corpus and encoder resume
from the last one; any change starts a new run and says why. The model folder is written aside
and renamed into place. Under ``torchrun`` it trains with distributed data parallel.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

import torch
import yaml

from arner.config import Config, data_dir, load_config
from arner.conll import read_conll
from arner.documents import load_corpus
from arner.encoders import build_tiny, ensure_encoder_available
from arner.errors import InputError, exit_on_input_error
from arner.evaluate import known_forms, label_table, predict_documents, score
from arner.perturb import augment
from arner.runs import RUN_FILE, choose_run_dir, run_record
from arner.schema import load_schema
from arner.snapshot import write_snapshot
from arner.splits import split_documents
from arner.tagger import Tagger, TaggerSettings
from arner.text import split_words
from train.dataset import dataset_on_disk, training_windows
from train.trainer import last_checkpoint, project_trainer, world_size


def check_inputs(config: Config, config_path: Path) -> None:
    """Fail within seconds, before any work, on an encoder or public corpus that is not there."""
    if config.encoder != "tiny":
        ensure_encoder_available(config.encoder)
    for i, extra in enumerate(config.extra_corpora):
        if not extra.file.exists():
            raise InputError(f"{config_path}: extra_corpora.{i}.path: {extra.file} not found; set DATA_DIR to the folder "
                             f"that holds public/ (now {data_dir()}), or train on the gold corpus alone: "
                             "make train CONFIG=configs/offline-gold-only.yaml")
    if config.training.batch_size % world_size():
        raise InputError(f"{config_path}: training.batch_size {config.training.batch_size} does not split over "
                         f"{world_size()} processes")


def corpus_splits(config: Config, config_path: Path, schema) -> dict[str, list]:
    """train/dev/test documents by source article; the public corpora and augmentation go to train only."""
    docs = load_corpus(config.data.corpus, schema)
    splits = split_documents(docs, config.data.dev_percent, config.data.test_percent)
    for name in ("train", "dev"):
        if not splits[name]:
            raise InputError(f"{config.data.corpus}: the {name} split is empty ({len(docs)} documents); add documents or set meta.split")
    for extra in config.extra_corpora:
        extra_docs = [d for d in read_conll(extra.file, extra.labels, extra.mask_numbers)
                      if not extra.keep_only_with or any(e.label in extra.keep_only_with for e in d.entities)]
        if extra.max_sentences and len(extra_docs) > extra.max_sentences:
            step = len(extra_docs) / extra.max_sentences
            extra_docs = [extra_docs[int(i * step)] for i in range(extra.max_sentences)]
        print(f"[train] + {len(extra_docs)} sentences from {extra.file} (training split only)", flush=True)
        splits["train"] = splits["train"] + extra_docs
    t = config.training
    if t.augment:
        splits["train"] = augment(splits["train"], t.augment, t.seed, config.normalize)
        print(f"[train] augmentation: {t.augment:.0%} of the training documents rewritten by a change of form", flush=True)
    return splits


def encoder_dir(config: Config, run_dir: Path, train_docs) -> str:
    """The encoder to fine-tune: the config's, or for ``tiny`` one built on the training words (once per run)."""
    if config.encoder != "tiny":
        return config.encoder
    base = run_dir / "tiny-base"
    if not (base / "config.json").exists():
        # Built aside and renamed into place: data-parallel processes build the same thing at once.
        words = [w.text for d in train_docs for w in split_words(d.text)]
        tmp = base.with_name(f"tiny-base.tmp{os.getpid()}")
        build_tiny(words, config.tiny, config.max_length, tmp)
        try:
            tmp.rename(base)
        except OSError:  # another process was first
            shutil.rmtree(tmp)
    return str(base)


def train(config: Config, config_path: Path, callbacks: list | None = None) -> dict:
    """Train, select on dev strict F1, save ``models/<name>/``; ``callbacks`` are extra TrainerCallbacks."""
    from transformers import AutoModelForTokenClassification, AutoTokenizer, EarlyStoppingCallback, set_seed

    started, t = time.time(), config.training
    check_inputs(config, config_path)

    # Dataset: the corpus by source article, saved as a DatasetDict under train/data/.
    schema = load_schema(config.data.labels)
    set_seed(t.seed)  # the tiny encoder's random weights, too
    splits = corpus_splits(config, config_path, schema)
    run_dir, identity, why = choose_run_dir(config)
    print(why, flush=True)
    dataset, dataset_folder = dataset_on_disk(splits, schema, str(config_path))

    # Tokenizer and model.
    encoder = encoder_dir(config, run_dir, splits["train"])
    print(f"[train] {config.name}: encoder {encoder}; documents train {len(splits['train'])}, dev {len(splits['dev'])}, "
          f"test {len(splits['test'])} ({dataset_folder})", flush=True)
    set_seed(t.seed)
    tokenizer = AutoTokenizer.from_pretrained(encoder)
    model = AutoModelForTokenClassification.from_pretrained(
        encoder, num_labels=len(schema.bio_tags), id2label=schema.id2label, label2id=schema.label2id)
    if t.freeze_word_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    settings = TaggerSettings(config.normalize, config.max_length, config.window_overlap)

    # Features: training windows, cached by fingerprint beside the dataset.
    windows = training_windows(dataset["train"], tokenizer, config)

    # Trainer, selecting on dev F1 as `make eval` computes it.
    def dev_metrics(trainer) -> dict:
        """Tag the dev documents exactly as `make eval` does (on every data-parallel process,
        so all of them take the same early-stopping and best-checkpoint decisions)."""
        tagger = Tagger(trainer.model, tokenizer, settings, batch_size=t.eval_batch_size, device=str(trainer.args.device))
        metrics = score(splits["dev"], predict_documents(tagger, splits["dev"]), schema.names)
        return {"f1": metrics["seqeval"]["micro_f1"], **{f"f1_{k}": v["f1"] for k, v in metrics["per_label"].items()}}

    trainer = project_trainer(
        model, tokenizer, windows, t, run_dir, dev_metrics,
        callbacks=[EarlyStoppingCallback(early_stopping_patience=t.early_stopping_patience), *(callbacks or [])],
        eval_strategy="epoch", save_strategy="epoch", save_total_limit=2, load_best_model_at_end=True,
        metric_for_best_model="f1", greater_is_better=True, logging_strategy="epoch",
    )
    print(f"[train] bf16 autocast: {'on' if trainer.bf16 else 'off'}; {world_size()} process(es); "
          f"{len(windows)} windows, global batch {t.batch_size}", flush=True)

    # Train (resuming this run's last checkpoint, if any).
    resume = last_checkpoint(run_dir)
    if resume:
        print(f"[train] resuming from {resume}", flush=True)
    trainer.train(resume_from_checkpoint=resume)
    train_seconds = time.time() - started
    if not trainer.is_world_process_zero():
        return {}  # data-parallel helpers stop here; the first process scores and saves

    # Save, with the final scores of the best checkpoint (loaded at the end of training).
    tagger = Tagger(trainer.model, tokenizer, settings, batch_size=t.eval_batch_size)
    known = known_forms(splits["train"])
    results = {name: score(splits[name], predict_documents(tagger, splits[name]), schema.names, known)
               for name in ("dev", "test") if splits[name]}
    save_model(trainer.model, tokenizer, settings, config, config_path, results, train_seconds, run_record(identity, splits))
    for name, metrics in results.items():
        print(f"\n[{config.name}] {name} split\n{label_table(metrics)}")
    print(f"\n[train] saved {config.model_dir} in {train_seconds:.0f} s")
    return results


def save_model(model, tokenizer, settings: TaggerSettings, config: Config, config_path: Path, results: dict, seconds: float,
               run: str) -> None:
    """Write the model directory (with ``run``, its run record) to a temporary folder, then swap it into place."""
    final = config.model_dir
    tmp = final.with_name(f".{final.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    settings.save(tmp)
    (tmp / RUN_FILE).write_text(run, encoding="utf-8")
    (tmp / "training_config.yaml").write_text(yaml.safe_dump(config.model_dump(), allow_unicode=True, sort_keys=False), encoding="utf-8")
    (tmp / "README.md").write_text(model_card(config, config_path, results, seconds), encoding="utf-8")
    write_snapshot(tmp, config)  # labels, aliases, known forms, identity: tagging needs no checkout (arner/snapshot.py)
    old = final.with_name(f".{final.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def model_card(config: Config, config_path: Path, results: dict, seconds: float) -> str:
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU"
    lines = [
        f"# {config.name}: Arabic conflict-news NER (ARMED_GROUP, LOCATION, COUNT)", "",
        f"Token classifier fine-tuned from `{config.encoder}` by the arner project "
        f"(`make train CONFIG={config_path}`), {seconds:.0f} s on {device}.", "",
        "Load it with `from arner import Tagger; Tagger.load(dir).tag([text])` (exact character offsets, "
        "windows for long texts) or with plain `transformers.pipeline(\"token-classification\", model=dir, "
        "aggregation_strategy=\"simple\")`.", "",
    ]
    for name, metrics in results.items():
        lines += [f"## Scores on the {name} split", "", label_table(metrics), ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="Fine-tune the encoder named in CONFIG; resumes an interrupted run.")
    parser.add_argument("config", type=Path, help="configs/<name>.yaml")
    config_path = parser.parse_args().config
    train(load_config(config_path), config_path)


if __name__ == "__main__":
    exit_on_input_error(main)
