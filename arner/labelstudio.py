"""The Label Studio client: server, project, import, export to gold documents, agreement.

Label Studio is where people annotate; this module is the only place that talks to it.
``start_server`` runs a local server (127.0.0.1 only) with its data in a git-ignored folder
and headless credentials from the environment or ``.env``; ``ensure_project`` creates or
updates the one project, whose labeling config is generated from ``configs/labels.yaml``;
``make_tasks`` turns raw text into tasks (long documents split into paragraphs and
sentences, offsets kept, content-hashed); ``convert_export`` turns an export into documents,
checked by the project's validator, one error per task without stopping the others;
``agreement`` compares annotators on the same tasks. Spans keep Label Studio's code-point
offsets unchanged all the way.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse
from xml.sax.saxutils import quoteattr

from pydantic import BaseModel, ConfigDict, Field

from arner.align import word_tags
from arner.documents import (Document, Entity, atomic_write, corpus_files, iter_records, parse_jsonl, span_problems,
                             validate_documents)
from arner.errors import InputError
from arner.lsguard import checked_url, require_task_list
from arner.schema import LabelSchema
from arner.yamlfile import load_yaml
from arner.text import split_sentences, split_words

DEFAULT_URL = "http://127.0.0.1:8080"
DEFAULT_USERNAME = "admin@arner.local"
DEFAULT_PROJECT = "Arabic conflict NER"
FROM_NAME, TO_NAME = "label", "text"
MAX_TASK_CHARS = 1000  # longer documents are split into paragraphs, then sentences
ACCEPTED = {"accepted", "fixed_and_accepted"}


# ---------------------------------------------------------------- settings and credentials

@dataclass
class Settings:
    url: str = DEFAULT_URL
    username: str = DEFAULT_USERNAME
    password: str = ""
    token: str = field(default="", repr=False)
    project: str = DEFAULT_PROJECT


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines of a ``.env`` file (comments and blank lines skipped)."""
    if not path.exists():
        return {}
    pairs = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            pairs[key.strip()] = value.strip().strip("'\"")
    return pairs


def load_settings(env_file: Path = Path(".env")) -> Settings:
    """Settings from ``LABEL_STUDIO_*`` environment variables, else ``.env``, else defaults."""
    values = {**read_env_file(env_file), **os.environ}
    return Settings(url=checked_url(values.get("LABEL_STUDIO_URL", DEFAULT_URL).rstrip("/")),
                    username=values.get("LABEL_STUDIO_USERNAME", DEFAULT_USERNAME),
                    password=values.get("LABEL_STUDIO_PASSWORD", ""),
                    token=values.get("LABEL_STUDIO_API_KEY", ""),
                    project=values.get("LABEL_STUDIO_PROJECT", DEFAULT_PROJECT))


def ensure_credentials(settings: Settings, env_file: Path = Path(".env")) -> bool:
    """Fill a missing password/token with random ones and save them to ``.env`` (mode 600).

    Returns True when credentials were created (the caller prints them, once).
    """
    if settings.password and settings.token:
        return False
    settings.password = settings.password or secrets.token_urlsafe(16)
    settings.token = settings.token or secrets.token_hex(20)
    kept = [line for line in (env_file.read_text(encoding="utf-8").splitlines() if env_file.exists() else [])
            if line.split("=", 1)[0].strip() not in {"LABEL_STUDIO_USERNAME", "LABEL_STUDIO_PASSWORD", "LABEL_STUDIO_API_KEY"}]
    lines = kept + [f"LABEL_STUDIO_USERNAME={settings.username}", f"LABEL_STUDIO_PASSWORD={settings.password}",
                    f"LABEL_STUDIO_API_KEY={settings.token}"]
    with atomic_write(env_file) as out:
        out.write("\n".join(lines) + "\n")
    env_file.chmod(0o600)
    return True


# ---------------------------------------------------------------- server

def health(url: str, timeout: float = 2.0) -> bool:
    """True when ``GET /health`` answers ``{"status": "UP"}``."""
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as response:
            return json.loads(response.read()).get("status") == "UP"
    except (OSError, ValueError):
        return False


def _local_port(url: str) -> int:
    parsed = urlparse(url)
    if parsed.hostname not in {"127.0.0.1", "localhost"}:
        raise InputError(f"{url}: only a local Label Studio (127.0.0.1) can be started here")
    return parsed.port or 80


def server_executable() -> str:
    beside = Path(sys.executable).parent / "label-studio"
    found = str(beside) if beside.exists() else shutil.which("label-studio")
    if not found:
        raise InputError("the label-studio executable is not installed; run `make setup`")
    return found


def start_server(settings: Settings, data_dir: Path, wait: float = 180.0) -> subprocess.Popen | None:
    """Start Label Studio on 127.0.0.1 with its data in ``data_dir``; reuse one already up.

    Returns the process (None when a server was already answering). Its log goes to
    ``data_dir/server.log``; the token is passed in the environment, never on the command line.
    """
    if health(settings.url):
        return None
    port = _local_port(settings.url)
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in {"HOST", "PORT", "USERNAME", "PASSWORD"}}
    env.update(LABEL_STUDIO_BASE_DATA_DIR=str(data_dir), LABEL_STUDIO_USERNAME=settings.username,
               LABEL_STUDIO_PASSWORD=settings.password, LABEL_STUDIO_USER_TOKEN=settings.token,
               LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN="true", LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK="true",
               LATEST_VERSION_CHECK="false", COLLECT_ANALYTICS="false", SENTRY_DSN="", FRONTEND_SENTRY_DSN="")
    log = (data_dir / "server.log").open("ab")
    process = subprocess.Popen([server_executable(), "start", "--no-browser", "--internal-host", "127.0.0.1",
                                "--port", str(port)],
                               env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               start_new_session=True)
    (data_dir / "server.pid").write_text(f"{process.pid}\n")
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if health(settings.url):
            return process
        if process.poll() is not None:
            raise InputError(f"Label Studio exited with code {process.returncode}; see {data_dir / 'server.log'}")
        time.sleep(1)
    stop_server(data_dir)
    raise InputError(f"Label Studio did not answer {settings.url}/health within {wait:.0f} s; see {data_dir / 'server.log'}")


def stop_server(data_dir: Path) -> bool:
    """Stop the server started with ``data_dir`` (its process group); False if none was running."""
    pid_file = Path(data_dir) / "server.pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text())
    pid_file.unlink()
    try:
        os.killpg(pid, 15)
    except ProcessLookupError:
        return False
    for _ in range(100):
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    os.killpg(pid, 9)
    return True


# ---------------------------------------------------------------- client and project

def connect(settings: Settings):
    """An SDK client, after checking that the server answers and accepts the token."""
    from label_studio_sdk import LabelStudio
    from label_studio_sdk.core.api_error import ApiError

    if not health(settings.url):
        raise InputError(f"Label Studio is not reachable at {settings.url}; start it with `make label`")
    if not settings.token:
        raise InputError("no API token: set LABEL_STUDIO_API_KEY or run `make label` to create one in .env")
    client = LabelStudio(base_url=settings.url, api_key=settings.token, timeout=120)
    try:
        client.users.whoami()
    except ApiError as exc:
        if exc.status_code in (401, 403):
            raise InputError(f"Label Studio at {settings.url} rejected the API token (HTTP {exc.status_code}); "
                             "check LABEL_STUDIO_API_KEY in the environment or .env") from None
        raise
    return client


def label_config(schema: LabelSchema) -> str:
    """The labeling config generated from the schema: word-granular spans, right-to-left text."""
    labels = "\n".join(
        f"    <Label value={quoteattr(spec.name)} background={quoteattr(spec.colour)}"
        + (f" hotkey={quoteattr(spec.hotkey)}" if spec.hotkey else "")
        + f" hint={quoteattr(spec.description)}/>"
        for spec in schema.labels)
    return (f'<View>\n  <Labels name="{FROM_NAME}" toName="{TO_NAME}">\n{labels}\n  </Labels>\n'
            f'  <View style="direction: rtl; text-align: right">\n'
            f'    <Text name="{TO_NAME}" value="$text" granularity="word"/>\n  </View>\n</View>')


def find_project(client, title: str):
    matches = [p for p in client.projects.list() if p.title == title]
    if len(matches) > 1:
        raise InputError(f"{len(matches)} Label Studio projects are titled {title!r}; rename all but one")
    return matches[0] if matches else None


class ProjectSettings(BaseModel):
    """``configs/labelstudio.yaml``: how many annotators label the overlapping share of tasks."""

    model_config = ConfigDict(extra="forbid")
    annotators_per_task: int = Field(1, ge=1, le=10)
    overlap_percent: int = Field(0, ge=0, le=100)
    overlap_first: bool = False

    def fields(self) -> dict:
        """The Label Studio project fields these settings set."""
        return {"maximum_annotations": self.annotators_per_task, "overlap_cohort_percentage": self.overlap_percent,
                "show_overlap_first": self.overlap_first}


def load_project_settings(path: Path) -> ProjectSettings:
    return load_yaml(path, ProjectSettings, "Label Studio settings", empty={})


def ensure_project(client, title: str, schema: LabelSchema,
                   settings: ProjectSettings | None = None) -> tuple[int, str]:
    """The project's id and what was done: ``created``, ``updated`` (config or overlap changed) or ``unchanged``."""
    config, fields = label_config(schema), (settings or ProjectSettings()).fields()
    project = find_project(client, title)
    if project is None:
        return client.projects.create(title=title, label_config=config, **fields).id, "created"
    if project.label_config == config and all(getattr(project, k) == v for k, v in fields.items()):
        return project.id, "unchanged"
    client.projects.update(id=project.id, label_config=config, **fields)
    return project.id, "updated"


def project_id(client, title: str) -> int:
    project = find_project(client, title)
    if project is None:
        raise InputError(f"no Label Studio project titled {title!r}; create it with `make label`")
    return project.id


# ---------------------------------------------------------------- import

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


def span_results(entities: Iterable[dict]) -> list[dict]:
    """Label Studio ``labels`` results for spans with ``start``, ``end``, ``label`` (``text``, ``score``)."""
    return [{"from_name": FROM_NAME, "to_name": TO_NAME, "type": "labels",
             "value": {"start": e["start"], "end": e["end"], "text": e["text"], "labels": [e["label"]]},
             **({"score": e["score"]} if "score" in e else {})} for e in entities]


def prediction(entities: list[dict], model_version: str) -> dict:
    """One prediction: the spans, the model version and the mean span score (1.0 with no span)."""
    scores = [e["score"] for e in entities if "score" in e]
    return {"model_version": model_version, "score": round(sum(scores) / len(scores), 4) if scores else 1.0,
            "result": span_results(entities)}


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


# ---------------------------------------------------------------- export -> documents

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


def _when(annotation: dict) -> tuple:
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
        return max(adjudicated, key=_when), "adjudicated"
    accepted = [a for a in valid if a.get("last_action") in ACCEPTED]
    if accepted:
        return max(accepted, key=_when), "accepted"
    latest: dict[object, dict] = {}
    for a in sorted(valid, key=_when):
        latest[a.get("completed_by")] = a
    if len(latest) == 1:
        return max(valid, key=_when), "single"
    if len({_span_set(a) for a in latest.values()}) == 1:
        return max(latest.values(), key=_when), "agreed"
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


# ---------------------------------------------------------------- agreement

def annotator_spans(task: dict, schema: LabelSchema) -> dict[str, list[Entity]]:
    """Per annotator, the spans of their latest valid annotation of the task, before adjudication
    (annotations marked ground truth are the adjudicator's and are left out)."""
    latest: dict[str, dict] = {}
    for a in task.get("annotations") or []:
        if isinstance(a, dict) and not a.get("was_cancelled") and not a.get("ground_truth"):
            who = str(a.get("completed_by"))
            if who not in latest or _when(a) > _when(latest[who]):
                latest[who] = a
    text, spans = task["data"]["text"], {}
    for who, a in sorted(latest.items()):
        entities, problems, _ = result_entities(a.get("result") or [], text)
        if not problems and not span_problems(Document(id="x", text=text, entities=entities), schema):
            spans[who] = sorted(entities, key=lambda e: (e.start, e.end))
    return spans


def cohen_kappa(first: list[str], second: list[str]) -> float:
    n = len(first)
    if n == 0:
        return float("nan")
    observed = sum(a == b for a, b in zip(first, second)) / n
    ca, cb = Counter(first), Counter(second)
    expected = sum(ca[t] * cb[t] for t in ca) / (n * n)
    return 1.0 if expected == 1 else (observed - expected) / (1 - expected)


def agreement(tasks: Iterable[dict], schema: LabelSchema) -> dict:
    """Span F1 per label and Cohen's kappa on word tags, over every pair of annotators of a task."""
    counts = {name: Counter() for name in schema.names}
    tags_a, tags_b, disagreements, tasks_compared = [], [], [], 0
    for task in tasks:
        if not isinstance(task, dict) or not isinstance((task.get("data") or {}).get("text"), str):
            continue
        spans = annotator_spans(task, schema)
        if len(spans) < 2:
            continue
        tasks_compared += 1
        text, words = task["data"]["text"], split_words(task["data"]["text"])
        people = sorted(spans)
        for i, a in enumerate(people):
            for b in people[i + 1 :]:
                sa = {(e.start, e.end, e.label) for e in spans[a]}
                sb = {(e.start, e.end, e.label) for e in spans[b]}
                for name in schema.names:
                    counts[name]["both"] += sum(1 for s in sa & sb if s[2] == name)
                    counts[name]["only_a"] += sum(1 for s in sa - sb if s[2] == name)
                    counts[name]["only_b"] += sum(1 for s in sb - sa if s[2] == name)
                tags_a += word_tags(words, spans[a])
                tags_b += word_tags(words, spans[b])
                for s in sorted(sa ^ sb):
                    disagreements.append({"task": task.get("id"), "span": f"[{s[0]}:{s[1]}]", "text": text[s[0]:s[1]],
                                          "label": s[2], "marked_by": a if s in sa else b, "not_by": b if s in sa else a})
    per_label = {}
    for name, c in counts.items():
        total = 2 * c["both"] + c["only_a"] + c["only_b"]
        per_label[name] = {"f1": 2 * c["both"] / total if total else None, "agreed": c["both"],
                           "disagreed": c["only_a"] + c["only_b"]}
    both = sum(c["both"] for c in counts.values())
    total = sum(2 * c["both"] + c["only_a"] + c["only_b"] for c in counts.values())
    return {"tasks": tasks_compared, "per_label": per_label, "micro_f1": 2 * both / total if total else None,
            "kappa": cohen_kappa(tags_a, tags_b) if tags_a else None, "words": len(tags_a),
            "disagreements": disagreements}


def agreement_markdown(result: dict, source: str) -> str:
    def num(x):
        return "–" if x is None else f"{x:.3f}"

    lines = [f"# Inter-annotator agreement\n\nGenerated by `make agreement` from `{source}`: "
             f"{result['tasks']} task(s) annotated by more than one person, every pair of annotators compared "
             "(each annotator's latest annotation; exact span match).\n",
             f"Cohen's kappa on word tags (IOB2, {result['words']} words): **{num(result['kappa'])}**  ",
             f"Span micro-F1: **{num(result['micro_f1'])}**\n", "| label | span F1 | agreed | disagreed |",
             "|---|---:|---:|---:|"]
    lines += [f"| {name} | {num(v['f1'])} | {v['agreed']} | {v['disagreed']} |" for name, v in result["per_label"].items()]
    lines += ["", f"## Disagreements ({len(result['disagreements'])})", ""]
    if result["disagreements"]:
        lines += ["| task | span | text | label | marked by | not by |", "|---:|---|---|---|---|---|"]
        lines += [f"| {d['task']} | {d['span']} | {d['text']} | {d['label']} | {d['marked_by']} | {d['not_by']} |"
                  for d in result["disagreements"]]
    else:
        lines.append("None.")
    return "\n".join(lines) + "\n"


def latest_export(folder: Path) -> Path:
    exports = sorted(folder.glob("labelstudio-*.json"), key=lambda p: p.stat().st_mtime)
    if not exports:
        raise InputError(f"{folder}: no Label Studio export; run `make pull` first")
    return exports[-1]
