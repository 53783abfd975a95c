"""The corpus as a Hugging Face ``datasets.DatasetDict``, and the training windows built from it.

One row per document: ``id``, ``text``, its words (``tokens``), their BIO ``ner_tags`` (a
``ClassLabel`` over the tags of ``configs/labels.yaml``; -1 for words a public corpus never
annotated, which the loss skips), the character ``spans`` and ``meta`` (JSON: provenance).
Splits are by source article (``arner.splits``). ``dataset_on_disk`` keeps each distinct corpus
under ``train/data/<content hash>/`` (``save_to_disk``, with a dataset card), so the training
windows made from it by ``.map(batched=True)`` are cached beside it by fingerprint: a re-run with
the same data and tokenizer reads them back instead of tokenizing again.

`make dataset CONFIG=...` writes the corpus of a config and records its folder in ``train/data/<name>.txt``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import time
from pathlib import Path

from datasets import ClassLabel, Dataset, DatasetDict, Features, List, Value, load_from_disk

from arner.align import IGNORE, make_windows, word_tags
from arner.documents import atomic_write
from arner.errors import exit_on_input_error
from arner.text import split_words

DATA = Path("train/data")


def corpus_features(schema) -> Features:
    return Features({
        "id": Value("string"),
        "text": Value("string"),
        "tokens": List(Value("string")),
        "ner_tags": List(ClassLabel(names=schema.bio_tags)),
        "spans": List({"start": Value("int32"), "end": Value("int32"), "label": ClassLabel(names=schema.names)}),
        "meta": Value("string"),
    })


def document_row(doc, schema) -> dict:
    words = split_words(doc.text)
    tags = [schema.label2id[t] for t in word_tags(words, doc.entities)]
    for start, end in doc.meta.get("unlabelled", []):  # spans a public corpus never annotated: no loss
        for i, w in enumerate(words):
            if w.start < end and start < w.end:
                tags[i] = -1
    return {"id": doc.id, "text": doc.text, "tokens": [w.text for w in words], "ner_tags": tags,
            "spans": [{"start": e.start, "end": e.end, "label": schema.names.index(e.label)} for e in doc.entities],
            "meta": json.dumps(doc.meta, ensure_ascii=False, sort_keys=True)}


def build_dataset(splits: dict[str, list], schema) -> DatasetDict:
    """``{"train": docs, "dev": docs, ...}`` -> a DatasetDict with the corpus features (in memory)."""
    features = corpus_features(schema)
    return DatasetDict({name: Dataset.from_list([document_row(d, schema) for d in docs], features=features)
                        for name, docs in splits.items()})


def content_hash(splits: dict[str, list], schema) -> str:
    digest = hashlib.sha256(json.dumps(schema.bio_tags).encode("utf-8"))
    for name in sorted(splits):
        digest.update(f"\n== {name}\n".encode("utf-8"))
        for doc in splits[name]:
            digest.update((doc.to_json() + "\n").encode("utf-8"))
    return digest.hexdigest()[:12]


def dataset_card(dataset: DatasetDict, schema, source: str) -> str:
    rows = "\n".join(f"| {name} | {len(part):,} | {sum(len(s) for s in part['spans']):,} |" for name, part in dataset.items())
    return f"""---
language: [ar]
task_categories: [token-classification]
task_ids: [named-entity-recognition]
pretty_name: arner Arabic conflict-news NER corpus
---
# arner corpus: {source}

Arabic news annotated per the arner annotation guidelines with {", ".join(schema.names)}
(BIO tags in `ner_tags`; -1 marks words a public corpus never annotated, skipped by the loss).
Splits are by source article (`meta.url`, else the document a Label Studio piece belongs to, else the id).

| split | documents | entities |
|---|---:|---:|
{rows}

Columns: `id`, `text`, `tokens` (the words `arner.text.split_words` finds), `ner_tags`, `spans`
(character offsets into `text`, `label` a ClassLabel), `meta` (JSON: provenance such as paper, url,
date, annotators, round).

Licence: the written corpus is the project's own; documents from the SaudiNewsNet pool
(`meta.paper` set) are CC BY-NC-SA 4.0; public CoNLL sentences (ANERcorp, AQMAR) keep their own licences.
Load it with `datasets.load_from_disk(folder)`.
"""


def dataset_on_disk(splits: dict[str, list], schema, source: str, root: Path = DATA) -> tuple[DatasetDict, Path]:
    """The DatasetDict of ``splits``, saved once under ``root/<content hash>/`` (built aside, then renamed into place)."""
    folder = root / content_hash(splits, schema)
    if not (folder / "dataset_dict.json").exists():
        # Built aside and renamed into place: data-parallel processes build the same thing at once.
        tmp = folder.with_name(f".{folder.name}.tmp{os.getpid()}")
        dataset = build_dataset(splits, schema)
        dataset.save_to_disk(str(tmp))
        (tmp / "README.md").write_text(dataset_card(dataset, schema, source), encoding="utf-8")
        try:
            tmp.rename(folder)
        except OSError:  # another process was first
            shutil.rmtree(tmp)
    return load_from_disk(str(folder)), folder


def window_batch(batch: dict, tokenizer, normalize: str, max_length: int) -> dict:
    """A batch of documents -> their training windows: input ids and each word's tag on its first subword.

    Training windows do not overlap (each is an example of its own; overlap would only add compute).
    """
    words = [split_words(text) for text in batch["text"]]
    out = {"input_ids": [], "attention_mask": [], "labels": []}
    for window in make_windows(tokenizer, words, normalize, max_length, overlap=0):
        labels = [IGNORE] * len(window.input_ids)
        tags = batch["ner_tags"][window.text_index]
        for pos, word in zip(window.first_positions, window.first_words):
            labels[pos] = IGNORE if tags[word] < 0 else tags[word]
        out["input_ids"].append(window.input_ids)
        out["attention_mask"].append([1] * len(window.input_ids))
        out["labels"].append(labels)
    return out


def training_windows(documents: Dataset, tokenizer, config) -> Dataset:
    """The windows of a split, by ``.map(batched=True)``; on a saved dataset the result is cached by
    fingerprint (the data, this function and the tokenizer), and the log says which happened."""
    started = time.time()
    windows = documents.map(window_batch, batched=True, remove_columns=documents.column_names,
                            fn_kwargs={"tokenizer": tokenizer, "normalize": config.normalize, "max_length": config.max_length},
                            desc="training windows")
    files = [Path(f["filename"]) for f in windows.cache_files]
    if files and files[0].stat().st_mtime < started:
        print(f"[train] {len(windows)} training windows read from the cache ({files[0]}): not tokenized again", flush=True)
    else:
        print(f"[train] {len(windows)} training windows tokenized in {time.time() - started:.1f} s", flush=True)
    return windows


def main() -> None:
    from arner.config import load_config
    from arner.schema import load_schema
    from train.train import corpus_splits

    parser = argparse.ArgumentParser(description="Write the corpus of CONFIG as a datasets.DatasetDict with a card.")
    parser.add_argument("config", type=Path)
    args = parser.parse_args()
    config = load_config(args.config)
    schema = load_schema(config.data.labels)
    dataset, folder = dataset_on_disk(corpus_splits(config, args.config, schema), schema, str(args.config))
    with atomic_write(DATA / f"{config.name}.txt") as f:  # the dataset of this config now (a target of `make all`)
        f.write(f"{folder}\n")
    print(dataset)
    print(f"written: {folder} (datasets.load_from_disk; card in {folder / 'README.md'}); recorded in {DATA / f'{config.name}.txt'}")


if __name__ == "__main__":
    exit_on_input_error(main)
