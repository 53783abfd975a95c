"""`make eval`: score a model on its own test split, or on a file, with the per-label report.

``python -m eval.evaluate MODEL [--data FILE] [--current-split]`` writes ``eval/<model>/report.md``
(per-label table, seen and unseen names, error lists, an HTML table of errors read right to left)
and ``metrics.json``. By default the test documents are the model's own (its ``run.json``): after
the corpus has changed it still scores what the model was measured on, and says how the corpus
moved; ``--current-split`` scores the current corpus's test split instead, and says so.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import yaml

from arner.config import Config
from arner.conll import read_conll
from arner.documents import load_corpus
from arner.errors import InputError, exit_on_input_error
from arner.evaluate import known_forms, label_table, predict_documents, score, write_report
from arner.runs import own_split
from arner.schema import load_schema
from arner.splits import split_documents
from arner.tagger import Tagger


@dataclass
class EvaluationSet:
    docs: list
    name: str
    out: Path              # the default report folder
    labels: list[str]
    train_docs: list       # for the seen/unseen split of names
    note: str = ""         # a line to show, where the corpus changed since training


def evaluation_set(model: Path, data: Path | None, conll_labels: str = "LOC=LOCATION", current_split: bool = False) -> EvaluationSet:
    """What `make eval` scores: the model's own test split (from its ``run.json``; the current corpus's
    with ``current_split`` or for a model without one), or DATA (JSONL, or .conll mapped by ``conll_labels``)."""
    config_file = model / "training_config.yaml"
    if not config_file.exists():
        raise InputError(f"{model}: no training_config.yaml; is this a model trained by `make train`?")
    config = Config.model_validate(yaml.safe_load(config_file.read_text(encoding="utf-8")))
    schema = load_schema(config.data.labels)
    corpus = load_corpus(config.data.corpus, schema)
    splits = split_documents(corpus, config.data.dev_percent, config.data.test_percent)
    found = EvaluationSet([], "", Path("eval") / model.name, schema.names, splits["train"])
    if data is None:
        found.docs, found.note = own_split(model, corpus, "test")
        found.name = f"{config.data.corpus} (its own test split)"
        if current_split or not found.docs:
            if current_split and {d.id for d in found.docs} != {d.id for d in splits["test"]}:
                found.note = (f"scoring the current corpus's test split ({len(splits['test'])} documents), not the "
                              f"{len(found.docs)} that {model} was measured on")
            found.docs, found.name = splits["test"], f"{config.data.corpus} (current test split)"
    elif data.suffix == ".conll":
        pairs = [pair.split("=") for pair in conll_labels.split(",")]
        if any(len(p) != 2 or not p[0].strip() or p[1] not in schema.names for p in pairs):
            raise InputError(f"--conll-labels {conll_labels!r}: expected TYPE=LABEL pairs, comma-separated, each LABEL "
                             f"one of {', '.join(schema.names)}")
        found.docs = read_conll(data, dict(pairs), mask_numbers=False)
        found.name, found.out = f"{data} (mapped {conll_labels})", found.out / f"{data.parent.name}-{data.stem}"
    else:
        found.docs, found.name, found.out = load_corpus(data, schema), str(data), found.out / data.stem
    if not found.docs:
        raise InputError(f"{found.name}: no documents to evaluate")
    return found


def evaluate(model: Path, data: Path | None = None, conll_labels: str = "LOC=LOCATION", current_split: bool = False,
             out: Path | None = None) -> dict:
    """Score ``model``; write ``report.md`` and ``metrics.json``; print the table; return the metrics."""
    found = evaluation_set(model, data, conll_labels, current_split)
    if found.note:
        print(f"[eval] {found.note}")
    out = out or found.out
    tagger = Tagger.load(model, labels=found.labels)
    metrics = score(found.docs, predict_documents(tagger, found.docs), found.labels, known=known_forms(found.train_docs))
    write_report(metrics, out, f"{model.name} on {found.name}")
    print(f"{model.name} on {found.name}\n{label_table(metrics)}\n\nreport: {out / 'report.md'}")
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description="Score MODEL on its own test split (or DATA): per-label table, report.md, metrics.json.")
    parser.add_argument("model", type=Path)
    parser.add_argument("--data", type=Path, help="JSONL documents, or a .conll file (default: the model's own test split)")
    parser.add_argument("--conll-labels", default="LOC=LOCATION", help="for .conll data: TYPE=LABEL pairs, comma-separated; other types are dropped")
    parser.add_argument("--current-split", action="store_true", help="score the current corpus's test split, not the model's own")
    parser.add_argument("--out", type=Path, help="report folder (default eval/<model name>, with DATA eval/<model name>/<data name>)")
    args = parser.parse_args()
    evaluate(args.model, args.data, args.conll_labels, args.current_split, args.out)


if __name__ == "__main__":
    exit_on_input_error(main)
