"""Corpus statistics per split: documents, sentences, words, entities and surface forms per label."""

from __future__ import annotations

from collections import Counter

from arner.splits import SPLITS, split_documents
from arner.text import split_sentences, split_words


def corpus_stats(docs, labels: list[str], dev_percent: int = 10, test_percent: int = 10) -> dict:
    splits = split_documents(docs, dev_percent, test_percent)
    out = {}
    for name in (*SPLITS, "all"):
        part = docs if name == "all" else splits[name]
        sentences = [(d, a, b) for d in part for a, b in split_sentences(d.text)]
        entities = Counter(e.label for d in part for e in d.entities)
        forms = {label: {d.text[e.start:e.end] for d in part for e in d.entities if e.label == label} for label in labels}
        empty = sum(1 for d, a, b in sentences if not any(a <= e.start < b for e in d.entities))
        out[name] = {
            "documents": len(part), "sentences": len(sentences),
            "words": sum(len(split_words(d.text)) for d in part),
            "sentences_without_entities": empty,
            "entities": {label: entities[label] for label in labels},
            "distinct_forms": {label: len(forms[label]) for label in labels},
        }
    return out


def stats_markdown(stats: dict, labels: list[str]) -> str:
    head = "| split | documents | sentences | words | no-entity sentences | " + " | ".join(
        f"{label} (distinct)" for label in labels) + " |"
    rows = [head, "|" + "---|" * (5 + len(labels))]
    for name, s in stats.items():
        cells = [f"{s['entities'][label]} ({s['distinct_forms'][label]})" for label in labels]
        share = s["sentences_without_entities"] / s["sentences"] if s["sentences"] else 0
        rows.append(f"| {name} | {s['documents']} | {s['sentences']} | {s['words']} | "
                    f"{s['sentences_without_entities']} ({share:.0%}) | " + " | ".join(cells) + " |")
    return "\n".join(rows)
