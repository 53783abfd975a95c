"""Raw text -> Label Studio tasks: long documents split into paragraphs and sentences with their
offsets, content-hashed so nothing is imported twice, optionally with a model's predictions."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
import hashlib

from arner.documents import iter_records
from arner.labelstudio.server import FROM_NAME, TO_NAME
from arner.text import split_sentences

MAX_TASK_CHARS = 1000  # longer documents are split into paragraphs, then sentences

def read_raw(path: Path) -> list[dict]:
    """Raw documents ``{"id", "text", "meta"}`` by the project's one reader (``iter_records``): .txt one per
    line, or JSONL; without an id, ``<file stem>-<line>-<hash>`` (two files with the same name stay apart)."""
    return [{"id": str(r["id"]) if "id" in r else f"{path.stem}-{number}-{content_hash(r['text'])[:8]}",
             "text": r["text"], "meta": r.get("meta") or {}} for number, r in iter_records(path)]


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def split_document(text: str, max_chars: int = MAX_TASK_CHARS) -> list[tuple[int, int]]:
    """``(start, end)`` pieces of a document: whole if short, else paragraphs, then sentences."""
    if len(text) <= max_chars:
        return [(0, len(text))]
    pieces: list[tuple[int, int]] = []
    for start, end in split_sentences(text):  # lines, then sentence-final punctuation
        if pieces and end - pieces[-1][0] <= max_chars and "\n" not in text[pieces[-1][1]:start]:
            pieces[-1] = (pieces[-1][0], end)  # same paragraph, still short: join
        else:
            pieces.append((start, end))
    return pieces


def make_tasks(records: Iterable[dict], max_chars: int = MAX_TASK_CHARS) -> list[dict]:
    """Task data per piece: text, document id, offsets into the original, content hash."""
    tasks = []
    for record in records:
        pieces = split_document(record["text"], max_chars)
        for start, end in pieces:
            text = record["text"][start:end]
            doc_id = record["id"] if len(pieces) == 1 else f"{record['id']}@{start}"
            tasks.append({"text": text, "id": doc_id, "source_id": record["id"], "source_start": start,
                          "source_end": end, "hash": content_hash(text), "meta": record.get("meta") or {}})
    return tasks


def span_results(entities: Iterable[dict], from_name: str = FROM_NAME, to_name: str = TO_NAME) -> list[dict]:
    """Label Studio ``labels`` results for spans with ``start``, ``end``, ``label`` (``text``, ``score``)."""
    return [{"from_name": from_name, "to_name": to_name, "type": "labels",
             "value": {"start": e["start"], "end": e["end"], "text": e["text"], "labels": [e["label"]]},
             **({"score": e["score"]} if "score" in e else {})} for e in entities]


def prediction(entities: list[dict], model_version: str, from_name: str = FROM_NAME, to_name: str = TO_NAME) -> dict:
    """One prediction: the spans, the model version and the mean span score (1.0 with no span)."""
    scores = [e["score"] for e in entities if "score" in e]
    return {"model_version": model_version, "score": round(sum(scores) / len(scores), 4) if scores else 1.0,
            "result": span_results(entities, from_name, to_name)}


def existing_hashes(client, project: int) -> set[str]:
    return {t.data.get("hash") for t in client.tasks.list(project=project, fields="task_only") if t.data}


def import_tasks(client, project: int, tasks: list[dict], tagger=None, model_version: str = "",
                 batch: int = 500) -> tuple[int, int]:
    """Import tasks not already there (by content hash), with predictions if a tagger is given.

    Returns ``(imported, duplicates)``.
    """
    seen = existing_hashes(client, project)
    fresh = []
    for task in tasks:
        if task["hash"] not in seen:
            seen.add(task["hash"])
            fresh.append(task)
    for b in range(0, len(fresh), batch):
        chunk = fresh[b : b + batch]
        items = [{"data": task} for task in chunk]
        if tagger is not None:
            for item, entities in zip(items, tagger.tag([t["text"] for t in chunk])):
                item["predictions"] = [prediction(entities, model_version)]
        client.projects.import_tasks(id=project, request=items, return_task_ids=True)
    return len(fresh), len(tasks) - len(fresh)


def tasks_without_predictions(client, project: int) -> list[tuple[int, str]]:
    return [(t.id, t.data["text"]) for t in client.tasks.list(project=project, fields="task_only")
            if not t.total_predictions and t.data and isinstance(t.data.get("text"), str)]


def push_predictions(client, project: int, tasks: list[tuple[int, str]], tag, model_version: str,
                     batch: int = 500, progress=None) -> int:
    """Tag ``tasks`` (``(task id, text)``) with ``tag(texts)`` and import the predictions in batches."""
    for b in range(0, len(tasks), batch):
        chunk = tasks[b : b + batch]
        entities = tag([text for _, text in chunk])
        client.projects.import_predictions(id=project, request=[
            {"task": task_id, **prediction(ents, model_version)} for (task_id, _), ents in zip(chunk, entities)])
        if progress:
            progress(len(chunk))
    return len(tasks)


