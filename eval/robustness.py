"""The invariance suite: does the model's output survive changes of form that keep the meaning?

For each perturbation of ``arner.perturb`` (and two of context: each sentence tagged alone,
and the text tagged inside a paragraph of its neighbours) the documents are rewritten, the
gold spans are mapped through the change, and the model tags the new text. Per perturbation:
exact-span F1 against the mapped gold (micro and per label) beside the clean figure, and the
share of changed documents whose entities moved (against the clean prediction, mapped the same
way). Every predicted span is checked to point into the text that was tagged, and every mapped
gold span to sit on its word boundaries: the suite fails if one does not.

    python -m eval.robustness run models/offline [--normalize surface] [--name NAME]
    python -m eval.robustness report        # eval/robustness/report.md from eval/robustness/runs/*.json

A run's name is the model folder's name (plus ``+<normalize>`` when overridden); runs named
``<recipe>-s<seed>`` are grouped by recipe in the report, with the mean and spread over seeds.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import statistics
from pathlib import Path

from tqdm import tqdm

from arner.config import data_dir
from arner.documents import Document, Entity, atomic_write, load_corpus
from arner.evaluate import span_scores
from arner.perturb import PERTURBATIONS, Perturbed, off_word_boundaries, perturb, rewrite
from arner.schema import load_schema
from arner.splits import split_documents
from arner.tagger import Tagger
from arner.text import split_sentences

DATA_DIR = data_dir()
OUT = Path("eval/robustness")
CONTEXT = ("sentence alone", "in a paragraph")
LABELS = ("ARMED_GROUP", "LOCATION", "COUNT")


class SuiteError(Exception):
    pass


def evaluation_sets(schema, written_corpus: str = "annotations/gold") -> dict[str, list[Document]]:
    return {"realnews-dev": load_corpus(DATA_DIR / "realnews-dev" / "dev.jsonl", schema),
            "written test": split_documents(load_corpus(written_corpus, schema))["test"]}


def tag_spans(tagger: Tagger, texts: list[str]) -> list[list[tuple[int, int, str]]]:
    """Predicted ``(start, end, label)`` per text; raises if a span's text is not ``text[start:end]``."""
    out = []
    for text, ents in zip(texts, tagger.tag(texts, enrich=False)):
        for e in ents:
            if e["text"] != text[e["start"]:e["end"]]:
                raise SuiteError(f"offset error: {e} does not point into the tagged text {text[:60]!r}")
        out.append([(e["start"], e["end"], e["label"]) for e in ents])
    return out


def rewritten(name: str, docs: list[Document], index: int) -> Perturbed:
    if name == "in a paragraph":  # between the previous and the next document of the set
        before, after = docs[index - 1].text, docs[(index + 1) % len(docs)].text
        return rewrite(docs[index].text, prefix=before + " ", suffix=" " + after)
    return perturb(name, docs[index].text)


def sentences_alone(tagger: Tagger, doc: Document) -> list[tuple[int, int, str]]:
    bounds = split_sentences(doc.text)
    found = tag_spans(tagger, [doc.text[a:b] for a, b in bounds])
    return [(a + s, a + e, label) for (a, _), spans in zip(bounds, found) for s, e, label in spans]


def as_documents(texts: list[str], spans: list[list[tuple[int, int, str]]], ids: list[str]) -> list[Document]:
    return [Document(id=i, text=t, entities=[Entity(start=s, end=e, label=lab) for s, e, lab in sorted(sp)])
            for i, t, sp in zip(ids, texts, spans)]


def figures(gold: list[Document], pred: list[Document]) -> dict:
    scores = span_scores(gold, pred, list(LABELS))
    return {"micro": scores["micro"]["f1"], **{label: scores["per_label"][label]["f1"] for label in LABELS}}


def run_set(tagger: Tagger, docs: list[Document], names: list[str]) -> dict:
    """Clean and perturbed figures of one evaluation set."""
    ids = [d.id for d in docs]
    clean = tag_spans(tagger, [d.text for d in docs])
    gold_docs = [Document(id=d.id, text=d.text, entities=d.entities) for d in docs]
    result = {"documents": len(docs), "clean": figures(gold_docs, as_documents([d.text for d in docs], clean, ids))}
    for name in tqdm(names, desc="perturbations", unit="perturbation"):
        if name == "sentence alone":
            pieces = [rewrite(d.text) for d in docs]
            touched = [i for i, d in enumerate(docs) if len(split_sentences(d.text)) > 1]
            predicted = {i: sentences_alone(tagger, docs[i]) for i in touched}
        else:
            pieces = [rewritten(name, docs, i) for i in range(len(docs))]
            touched = [i for i, p in enumerate(pieces) if p.text != docs[i].text]
            tagged = tag_spans(tagger, [pieces[i].text for i in touched])
            predicted = {}
            for i, spans in zip(touched, tagged):  # only what falls inside the document itself
                lo, hi = pieces[i].starts[0], pieces[i].starts[-1]
                predicted[i] = [(s, e, lab) for s, e, lab in spans if lo <= s and e <= hi]
        texts, gold, pred, changed = [], [], [], 0
        for i, (doc, p) in enumerate(zip(docs, pieces)):
            mapped_gold = [(*p.span(e.start, e.end), e.label) for e in doc.entities]
            if off_word_boundaries(p.text, [(s, e) for s, e, _ in mapped_gold]):
                raise SuiteError(f"{name}: document {doc.id}: a gold span no longer sits on word boundaries")
            mapped_clean = sorted((*p.span(s, e), lab) for s, e, lab in clean[i])
            spans = sorted(predicted[i]) if i in predicted else mapped_clean
            changed += i in predicted and spans != mapped_clean
            texts.append(p.text)
            gold.append(mapped_gold)
            pred.append(spans)
        result[name] = {"touched": len(touched), "changed": changed,
                        **figures(as_documents(texts, gold, ids), as_documents(texts, pred, ids))}
    return result


def run(model_dir: Path, normalize: str | None, name: str | None, names: list[str]) -> Path:
    schema = load_schema("configs/labels.yaml")
    tagger = Tagger.load(model_dir)
    if normalize:
        tagger.settings = dataclasses.replace(tagger.settings, normalize=normalize)
    name = name or model_dir.name + (f"+{normalize}" if normalize else "")
    results = {"model": str(model_dir), "normalize": tagger.settings.normalize, "sets": {}}
    for set_name, docs in evaluation_sets(schema).items():
        print(f"[robustness] {name}: {set_name} ({len(docs)} documents)", flush=True)
        results["sets"][set_name] = run_set(tagger, docs, names)
    path = OUT / "runs" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as f:
        json.dump(results, f, ensure_ascii=False, indent=1)
    print(f"[robustness] wrote {path}")
    return path


def _mean_sd(values: list[float]) -> str:
    points = [100 * v for v in values]
    if len(points) == 1:
        return f"{points[0]:+.1f}"
    return f"{statistics.mean(points):+.1f} ± {statistics.stdev(points):.1f}"


def report() -> str:
    """``report.md``: per recipe and set, one row per perturbation: clean F1, change in points, changed share."""
    groups: dict[str, list[dict]] = {}
    for path in sorted((OUT / "runs").glob("*.json")):
        recipe = re.sub(r"-s\d+(?=\+|$)", "", path.stem)
        groups.setdefault(recipe, []).append(json.loads(path.read_text(encoding="utf-8")))
    lines = ["# Robustness: the invariance suite", "",
             "Generated by `python -m eval.robustness report` from `eval/robustness/runs/*.json` "
             "(`make robustness MODEL=...`). Exact-span F1 against the gold spans mapped through each change; "
             "Δ columns are the change from the clean figure in F1 points (mean ± sd over the seeds of a recipe). "
             "*touched*: documents the change applies to; *changed*: share of those whose entities moved. "
             "Target: every Δ micro within 1 point, no label losing more than 2.", ""]
    summary = ["## Summary", "",
               "Per recipe and set: the clean micro F1 and how many of the perturbations stay within the target "
               "(mean over seeds), with the worst one.", "",
               "| recipe | seeds | set | clean micro F1 | within target | worst perturbation (Δ micro) |",
               "|---|---:|---|---:|---:|---|"]
    details = []
    for recipe, runs in groups.items():
        for set_name in runs[0]["sets"]:
            sets = [r["sets"][set_name] for r in runs]
            details += [f"## {recipe} ({len(runs)} seed{'s' if len(runs) > 1 else ''}, tagging normalisation "
                        f"`{runs[0]['normalize']}`): {set_name}, {sets[0]['documents']} documents", "",
                        "clean micro F1 " + _mean_sd([s["clean"]["micro"] for s in sets]).lstrip("+")
                        + " (×100); " + ", ".join(f"{k} {100 * statistics.mean(s['clean'][k] for s in sets):.1f}" for k in LABELS), "",
                        "| perturbation | touched | changed | Δ micro | Δ ARMED_GROUP | Δ LOCATION | Δ COUNT | within target |",
                        "|---|---:|---:|---:|---:|---:|---:|---|"]
            names = [k for k in sets[0] if k not in ("documents", "clean")]
            within, worst = 0, (0.0, "")
            for name in names:
                rows = [s[name] for s in sets]
                delta = {k: [r[k] - s["clean"][k] for r, s in zip(rows, sets)] for k in ("micro", *LABELS)}
                ok = statistics.mean(delta["micro"]) >= -0.01 and all(statistics.mean(delta[k]) >= -0.02 for k in LABELS)
                within += ok
                worst = min(worst, (statistics.mean(delta["micro"]), f"{name} ({_mean_sd(delta['micro'])})"))
                share = statistics.mean(r["changed"] / r["touched"] if r["touched"] else 0 for r in rows)
                details.append(f"| {name} | {rows[0]['touched']} | {100 * share:.0f}% | "
                               + " | ".join(_mean_sd(delta[k]) for k in ("micro", *LABELS)) + f" | {'yes' if ok else '**no**'} |")
            details.append("")
            summary.append(f"| {recipe} | {len(runs)} | {set_name} | {_mean_sd([s['clean']['micro'] for s in sets]).lstrip('+')} "
                           f"| {within} of {len(names)} | {worst[1] or 'none loses'} |")
    lines += summary + [""] + details
    text = "\n".join(lines)
    with atomic_write(OUT / "report.md") as f:
        f.write(text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    go = sub.add_parser("run")
    go.add_argument("model", type=Path)
    go.add_argument("--normalize", choices=["none", "arabert", "surface"], help="override the model's tagging normalisation")
    go.add_argument("--name", help="run name (default: the model folder's name)")
    go.add_argument("--only", nargs="+", choices=[*PERTURBATIONS, *CONTEXT], help="a subset of perturbations")
    sub.add_parser("report")
    args = parser.parse_args()
    if args.command == "run":
        try:
            run(args.model, args.normalize, args.name, args.only or [*CONTEXT, *PERTURBATIONS])
        except SuiteError as exc:
            raise SystemExit(f"error: {exc}")
    print(report())


if __name__ == "__main__":
    main()
