"""A Label Studio export -> gold documents: one annotation chosen per task (adjudicated, accepted,
agreed or single), spans checked by the project's validator (one error per task, the others go on),
merged into one file per round and block of task numbers, written atomically."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
import json
import re
import time

from arner.documents import Document, Entity, atomic_write, corpus_files, parse_jsonl, span_problems, validate_documents
from arner.errors import InputError
from arner.labelstudio.guards import require_task_list
from arner.schema import LabelSchema

ACCEPTED = {"accepted", "fixed_and_accepted"}

def download_export(client, project: int, folder: Path) -> Path:
    """Save the full JSON export under ``folder`` as ``<timestamp>.json`` (never overwriting)."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = folder / f"labelstudio-{project}-{stamp}.json"
    n = 1
    while path.exists():
        n += 1
        path = folder / f"labelstudio-{project}-{stamp}-{n}.json"
    with atomic_write(path, "wb") as out:
        for chunk in client.projects.exports.download_sync(project, export_type="JSON", download_all_tasks=True):
            out.write(chunk)
    return path


def iter_export(path: Path) -> Iterator[object]:
    """The tasks of a JSON export, one at a time (constant memory)."""
    import ijson

    try:
        require_task_list(path)
        with path.open("rb") as f:
            yield from ijson.items(f, "item", use_float=True)
    except ijson.JSONError as exc:
        raise InputError(f"{path}: not a Label Studio JSON export: {exc}") from None


def annotation_time(annotation: dict) -> tuple:
    return annotation.get("updated_at") or annotation.get("created_at") or "", annotation.get("id") or 0


def _span_set(annotation: dict) -> frozenset:
    """The (start, end, labels) of an annotation's span results, to compare annotators."""
    values = [r.get("value") or {} for r in annotation.get("result") or [] if isinstance(r, dict) and r.get("type") == "labels"]
    return frozenset((v.get("start"), v.get("end"), tuple(v.get("labels") or ())) for v in values)


def choose_annotation(annotations: list[dict]) -> tuple[dict | None, str]:
    """The annotation that becomes gold and how it was chosen.

    - ``adjudicated``: the latest one marked ground truth (the adjudicator's final word);
    - ``accepted``: else the latest one a reviewer accepted;
    - ``agreed``: else, with several annotators, the latest one when all their latest spans agree;
    - ``single``: else, with one annotator, their latest one.
    Annotators who disagree with nothing adjudicated give ``(None, "needs adjudication")``;
    cancelled (skipped) annotations never count (``(None, "skipped")`` or ``(None, "unannotated")``).
    """
    valid = [a for a in annotations if isinstance(a, dict) and not a.get("was_cancelled")]
    if not valid:
        return None, "skipped" if annotations else "unannotated"
    adjudicated = [a for a in valid if a.get("ground_truth")]
    if adjudicated:
        return max(adjudicated, key=annotation_time), "adjudicated"
    accepted = [a for a in valid if a.get("last_action") in ACCEPTED]
    if accepted:
        return max(accepted, key=annotation_time), "accepted"
    latest: dict[object, dict] = {}
    for a in sorted(valid, key=annotation_time):
        latest[a.get("completed_by")] = a
    if len(latest) == 1:
        return max(valid, key=annotation_time), "single"
    if len({_span_set(a) for a in latest.values()}) == 1:
        return max(latest.values(), key=annotation_time), "agreed"
    return None, "needs adjudication"


def result_entities(result: list, text: str) -> tuple[list[Entity], list[str], int]:
    """Spans of the ``labels`` results, problems with them, and how many other results were ignored."""
    entities, problems, ignored = [], [], 0
    for item in result:
        if not isinstance(item, dict) or item.get("type") != "labels":
            ignored += 1
            continue
        value = item.get("value") or {}
        start, end, labels = value.get("start"), value.get("end"), value.get("labels")
        if type(start) is not int or type(end) is not int or not isinstance(labels, list) or len(labels) != 1:
            problems.append(f"result {item.get('id', '?')}: expected integer start/end and one label, got {value}")
            continue
        if "text" in value and value["text"] != text[start:end]:
            problems.append(f"span [{start}:{end}] ({labels[0]}): its text {value['text']!r} does not match "
                            f"the task text there {text[start:end]!r}")
            continue
        entities.append(Entity(start=start, end=end, label=labels[0]))
    return entities, problems, ignored


@dataclass
class Conversion:
    """What a conversion did: per-task errors and counts."""

    errors: list[str] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    pending: list = field(default_factory=list)   # tasks whose annotators disagree, not yet adjudicated


def convert_task(task: object, schema: LabelSchema, conversion: Conversion) -> Document | None:
    """One exported task's document, or None (its error or why it has none noted in ``conversion``)."""
    counts = conversion.counts
    counts["tasks"] += 1
    task_id = task.get("id", "?") if isinstance(task, dict) else "?"
    data = task.get("data") if isinstance(task, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("text"), str) or not isinstance(task.get("annotations", []), list):
        conversion.errors.append(f"task {task_id}: malformed task (expected data.text and an annotations list)")
        return None
    annotations = task.get("annotations") or []
    chosen, choice = choose_annotation(annotations)
    if chosen is None:
        counts[choice] += 1
        if choice == "needs adjudication":
            conversion.pending.append(task_id)
        return None
    text = data["text"]
    entities, problems, ignored = result_entities(chosen.get("result") or [], text)
    counts["ignored results"] += ignored
    meta = {**(data.get("meta") if isinstance(data.get("meta"), dict) else {}),
            "labelstudio": {"task": task_id, "annotation": chosen.get("id"), "annotator": chosen.get("completed_by"),
                            "choice": choice, "annotators": sorted({a.get("completed_by") for a in annotations
                                                                     if isinstance(a, dict) and not a.get("was_cancelled")},
                                                                    key=str)}}
    if "source_id" in data:
        meta["piece_of"] = {"id": data["source_id"], "start": data.get("source_start", 0)}
    doc = Document(id=str(data.get("id", f"labelstudio-{task_id}")), text=text,
                   entities=sorted(entities, key=lambda e: (e.start, e.end)), meta=meta)
    problems += span_problems(doc, schema)
    if problems:
        conversion.errors += [f"task {task_id}: {p}" for p in problems]
        return None
    counts[choice] += 1
    return doc


def convert_export(tasks: Iterable[object], schema: LabelSchema, conversion: Conversion) -> Iterator[Document]:
    """Documents from exported tasks; a task with a problem is noted in ``conversion`` and left out."""
    for task in tasks:
        doc = convert_task(task, schema, conversion)
        if doc is not None:
            yield doc


def _line_id(line: str) -> object:
    try:
        return json.loads(line).get("id")
    except (ValueError, AttributeError):
        return None  # kept as it is; the validator reports it


def merge_into(path: Path, docs: Iterable[Document], conversion: Conversion) -> int:
    """Write ``docs`` to ``path`` as they come, then the earlier documents of ``path`` not among them.

    A document converted again replaces its old version; a document whose task failed or
    left the export keeps its old version; a second task with the same document id is an
    error of that task. Written atomically (nothing half-written); no file for no document.
    Returns how many earlier documents were kept.
    """
    old = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()] if path.exists() else []
    written: dict[str, object] = {}
    with atomic_write(path) as out:
        for doc in docs:
            task = doc.meta["labelstudio"]["task"]
            if doc.id in written:
                conversion.errors.append(f"task {task}: document id {doc.id!r} is also used by task {written[doc.id]}")
                continue
            written[doc.id] = task
            out.write(doc.to_json() + "\n")
        kept = [line for line in old if _line_id(line) not in written]
        out.writelines(line + "\n" for line in kept)
    conversion.counts["converted"] += len(written)
    if not written and not kept:
        path.unlink()
    return len(kept)


TASKS_PER_FILE = 500  # about 600 KB of news sentences: every pulled file stays well under 1 MB


def shard_of(out: Path, doc: Document) -> Path:
    """The file a pulled document goes to: ``out``, or for a document of an annotation round
    (``meta.round``) ``<out stem>-<round>-t<block>.jsonl`` beside it, where the block is its task
    number rounded down to a multiple of ``TASKS_PER_FILE``. A document's file depends on the
    document alone, so a re-pull always finds it in the same place, and no file grows without bound."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", str(doc.meta.get("round") or ""))
    if not name:
        return out
    task = (doc.meta.get("labelstudio") or {}).get("task")
    block = f"-t{int(task) // TASKS_PER_FILE * TASKS_PER_FILE:04d}" if isinstance(task, int) else ""
    return out.with_name(f"{out.stem}-{name}{block}{out.suffix}")


def convert_export_file(export: Path, out: Path, schema: LabelSchema) -> tuple[Conversion, int, list]:
    """Convert an export file into ``out`` and its round files (merged), then run the validator on
    their folder. Returns the conversion, the number of earlier documents kept and the validator's problems.
    """
    conversion = Conversion()
    by_file: dict[Path, list[Document]] = {}
    for doc in convert_export(iter_export(export), schema, conversion):
        by_file.setdefault(shard_of(out, doc), []).append(doc)
    kept = sum(merge_into(path, docs, conversion) for path, docs in sorted(by_file.items()))
    if not out.parent.exists() or not list(out.parent.glob("*.jsonl")):
        return conversion, kept, []
    located, problems = [], []
    for file in corpus_files(out.parent):
        docs, file_problems = parse_jsonl(file)
        located += docs
        problems += file_problems
    return conversion, kept, problems + validate_documents(located, schema)


