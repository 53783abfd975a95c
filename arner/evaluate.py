"""Scoring: seqeval strict IOB2 on words, exact character-span scores, error analysis, reports.

The two scores agree whenever spans sit on word boundaries (a test checks it): seqeval is
the standard figure, span scores are what other pipelines consume.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from pathlib import Path

from arner.align import word_tags
from arner.documents import Document, atomic_write
from arner.text import split_sentences, split_words

MODE = "seqeval strict mode, IOB2 scheme"


def _prf(tp: int, fp: int, fn: int) -> dict:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "support": tp + fn}


def seqeval_scores(gold: list[Document], pred: list[Document], labels: list[str]) -> dict:
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB2

    y_true, y_pred = [], []
    for g, p in zip(gold, pred):
        words = split_words(g.text)
        y_true.append(word_tags(words, g.entities))
        y_pred.append(word_tags(words, p.entities))
    report = classification_report(y_true, y_pred, mode="strict", scheme=IOB2, output_dict=True, zero_division=0)
    per_label = {
        label: {k: round(float(report[label][k]), 4) for k in ("precision", "recall", "f1-score")} | {"support": int(report[label]["support"])}
        for label in labels if label in report
    }
    for scores in per_label.values():
        scores["f1"] = scores.pop("f1-score")
    micro = report.get("micro avg", {"precision": 0, "recall": 0, "f1-score": 0})
    return {"per_label": per_label, "micro_f1": round(float(micro["f1-score"]), 4)}


def span_scores(gold: list[Document], pred: list[Document], labels: list[str]) -> dict:
    """Exact-match span scores per label, micro and macro, plus typed error analysis."""
    counts = {label: Counter() for label in labels}
    errors = {"type": 0, "boundary": 0}
    false_pos, false_neg = [], []
    for g, p in zip(gold, pred):
        gs = {(e.start, e.end, e.label) for e in g.entities}
        ps = {(e.start, e.end, e.label) for e in p.entities}
        for span in gs & ps:
            counts[span[2]]["tp"] += 1
        for span in ps - gs:
            counts.setdefault(span[2], Counter())["fp"] += 1
            false_pos.append(_error_row(g, span))
        for span in gs - ps:
            counts[span[2]]["fn"] += 1
            false_neg.append(_error_row(g, span))
            if any(s[:2] == span[:2] for s in ps):
                errors["type"] += 1
            elif any(s[2] == span[2] and s[0] < span[1] and span[0] < s[1] for s in ps):
                errors["boundary"] += 1
    per_label = {label: _prf(c["tp"], c["fp"], c["fn"]) for label, c in counts.items() if label in labels}
    total = sum(counts.values(), Counter())
    micro = _prf(total["tp"], total["fp"], total["fn"])
    macro = {k: round(sum(s[k] for s in per_label.values()) / len(per_label), 4) for k in ("precision", "recall", "f1")}
    return {"per_label": per_label, "micro": micro, "macro": macro, "errors": errors,
            "false_positives": false_pos, "false_negatives": false_neg}


def _error_row(doc: Document, span: tuple[int, int, str]) -> dict:
    start, end, label = span
    sentence = next(((a, b) for a, b in split_sentences(doc.text) if a <= start < b), (0, len(doc.text)))
    return {"id": doc.id, "start": start, "end": end, "label": label, "text": doc.text[start:end],
            "sentence": doc.text[sentence[0] : sentence[1]]}


def seen_unseen_scores(gold: list[Document], pred: list[Document], known: set[tuple[str, str]]) -> dict:
    """Span scores split by whether an entity's (surface form, label) occurs in ``known`` (the training data)."""
    counts = {"seen": Counter(), "unseen": Counter()}
    for g, p in zip(gold, pred):
        gs = {(e.start, e.end, e.label) for e in g.entities}
        ps = {(e.start, e.end, e.label) for e in p.entities}
        group = lambda span: "seen" if (g.text[span[0]:span[1]], span[2]) in known else "unseen"  # noqa: E731
        for span in gs & ps:
            counts[group(span)]["tp"] += 1
        for span in ps - gs:
            counts[group(span)]["fp"] += 1
        for span in gs - ps:
            counts[group(span)]["fn"] += 1
    return {name: _prf(c["tp"], c["fp"], c["fn"]) for name, c in counts.items()}


def known_forms(docs: list[Document]) -> set[tuple[str, str]]:
    return {(d.text[e.start:e.end], e.label) for d in docs for e in d.entities}


def score(gold: list[Document], pred: list[Document], labels: list[str], known: set[tuple[str, str]] | None = None) -> dict:
    """All scores of predicted vs gold documents; with ``known``, also seen vs unseen entity names."""
    if [d.id for d in gold] != [d.id for d in pred]:
        raise ValueError("gold and predicted documents must be in the same order")
    spans = span_scores(gold, pred, labels)
    metrics = {"mode": MODE, "documents": len(gold), "seqeval": seqeval_scores(gold, pred, labels), **spans}
    if known is not None:
        metrics["names"] = seen_unseen_scores(gold, pred, known)
    return metrics


def label_table(metrics: dict) -> str:
    """The per-label Markdown table (span scores; seqeval micro-F1 beside the span micro-F1)."""
    rows = ["| label | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
    for label, s in metrics["per_label"].items():
        rows.append(f"| {label} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | {s['support']} |")
    for name in ("micro", "macro"):
        s = metrics[name]
        rows.append(f"| *{name} avg* | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | {metrics['micro']['support'] if name == 'micro' else ''} |")
    rows.append(f"\nseqeval micro-F1 ({metrics['mode']}): {metrics['seqeval']['micro_f1']:.3f}")
    if "names" in metrics:
        rows += ["", "| entity names | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
        rows += [f"| {k} in training data | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | {s['support']} |"
                 for k, s in metrics["names"].items()]
    return "\n".join(rows)


def _error_html(rows: list[dict], limit: int = 200) -> str:
    cells = []
    for r in rows[:limit]:
        sent = r["sentence"]
        i = sent.find(r["text"])
        marked = html.escape(sent) if i < 0 else (
            html.escape(sent[:i]) + f"<mark>{html.escape(r['text'])}</mark>" + html.escape(sent[i + len(r["text"]):]))
        cells.append(f'<tr><td>{html.escape(r["id"])}</td><td>{r["label"]}</td><td dir="rtl">{html.escape(r["text"])}</td><td dir="rtl">{marked}</td></tr>')
    more = f"<p>… {len(rows) - limit} more in metrics.json</p>" if len(rows) > limit else ""
    return ('<table dir="ltr"><tr><th>document</th><th>label</th><th>span</th><th>sentence</th></tr>\n'
            + "\n".join(cells) + "</table>" + more)


def write_report(metrics: dict, out_dir: Path, title: str) -> None:
    """``report.md`` (tables, errors in right-to-left HTML tables) and ``metrics.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    e = metrics["errors"]
    body = [
        f"# {title}", "",
        f"{metrics['documents']} documents. Span scores are exact character-span matches; "
        f"the seqeval figure uses {metrics['mode']}.", "",
        label_table(metrics), "",
        "## Error types", "",
        f"- type errors (right span, wrong label): {e['type']}",
        f"- boundary errors (overlapping span, same label): {e['boundary']}",
        f"- false positives: {len(metrics['false_positives'])}, false negatives: {len(metrics['false_negatives'])}", "",
        "## False positives", "", _error_html(metrics["false_positives"]), "",
        "## False negatives", "", _error_html(metrics["false_negatives"]), "",
    ]
    with atomic_write(out_dir / "report.md") as f:
        f.write("\n".join(body))
    with atomic_write(out_dir / "metrics.json") as f:
        json.dump(metrics, f, ensure_ascii=False, indent=1)


def predict_documents(tagger, docs: list[Document]) -> list[Document]:
    """Run the tagger over gold documents and return predicted documents (same ids and text)."""
    from arner.documents import Entity

    results = tagger.tag([d.text for d in docs])
    return [Document(id=d.id, text=d.text, entities=[Entity(**e) for e in ents]) for d, ents in zip(docs, results)]
