"""The document record, JSONL corpus I/O and the validator.

A document is ``{"id", "text", "entities": [{"start", "end", "label"}], "meta"}`` with
code-point offsets into ``text`` (as Label Studio stores them). Everything in the project
converts to and from it. ``validate_documents`` reports every problem with file, line,
document id and the offending span; writes go through a temporary file and a rename.

Every file of documents or texts is read with the same rules (``parse_jsonl`` for documents,
``iter_records`` for texts to tag or import): UTF-8, a leading BOM dropped, lines split on
``\n`` only, blank lines skipped, each problem ``<file>:<line>: <what>``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError

from arner.errors import InputError
from arner.schema import LabelSchema
from arner.text import is_word_char, split_words


class Entity(BaseModel):
    model_config = ConfigDict(extra="allow")  # predictions add text, score, ...
    start: StrictInt  # 30.0, "30" and true are not offsets
    end: StrictInt
    label: str


class Document(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    text: str
    entities: list[Entity] = Field(default_factory=list)
    meta: dict[str, Any] = Field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(self.model_dump(), ensure_ascii=False)


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    doc_id: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        doc = f" document {self.doc_id!r}:" if self.doc_id is not None else ""
        return f"{where}:{doc} {self.message}"


@dataclass(frozen=True)
class Located:
    """A document with the file and line it came from."""

    doc: Document
    path: str
    line: int


# ---------------------------------------------------------------- reading

def _read_text(path: Path) -> tuple[str, Problem | None]:
    """The file's text, or a Problem saying why it cannot be read (missing, a folder, not UTF-8)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return "", Problem(str(path), 0, None, "file not found")
    except IsADirectoryError:
        return "", Problem(str(path), 0, None, "is a directory, expected a file")
    try:
        return data.decode("utf-8").removeprefix("\ufeff"), None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return "", Problem(str(path), line, None, f"not valid UTF-8 (byte {exc.start})")


def read_text(path: str | Path) -> str:
    """A whole text file by the same rules (UTF-8, BOM dropped); InputError naming the file otherwise."""
    content, unreadable = _read_text(Path(path))
    if unreadable:
        raise InputError(str(unreadable))
    return content


def _json_line(path: Path, number: int, line: str) -> tuple[object, Problem | None]:
    try:
        return json.loads(line), None
    except json.JSONDecodeError as exc:
        return None, Problem(str(path), number, None, f"invalid JSON: {exc.msg} (column {exc.colno})")


def parse_jsonl(path: str | Path) -> tuple[list[Located], list[Problem]]:
    """Parse a JSONL file of documents; every bad line becomes a Problem, good ones are kept."""
    path = Path(path)
    content, unreadable = _read_text(path)
    if unreadable:
        return [], [unreadable]
    docs, problems = [], []
    if not content.strip():
        problems.append(Problem(str(path), 0, None, "file is empty"))
    for number, line in enumerate(content.split("\n"), start=1):
        if not line.strip():
            continue
        raw, bad = _json_line(path, number, line)
        if bad:
            problems.append(bad)
            continue
        doc_id = raw.get("id") if isinstance(raw, dict) else None
        try:
            docs.append(Located(Document.model_validate(raw), str(path), number))
        except ValidationError as exc:
            errors = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['msg']}" for e in exc.errors())
            problems.append(Problem(str(path), number, doc_id, f"invalid document: {errors}"))
    return docs, problems


def read_documents(path: str | Path) -> list[Document]:
    """Read a JSONL file of documents, raising InputError on the first problem."""
    located, problems = parse_jsonl(path)
    if problems:
        raise InputError(str(problems[0]))
    return [item.doc for item in located]


def iter_records(path: str | Path) -> Iterator[tuple[int, dict]]:
    """``(line number, record)`` for each text to tag or import, streamed: a ``.txt`` file holds one
    text per line (``{"text": line}``), a JSONL file one object per line with a non-empty ``text``
    string, an optional ``id`` (string or integer, unique in the file) and ``meta`` (an object);
    other fields are kept. The rules of ``parse_jsonl``; the first problem raises InputError."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a directory, expected a file")
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    ids: dict[str, int] = {}
    offset = texts = 0
    with path.open("rb") as f:
        for number, data in enumerate(f, start=1):
            try:
                line = data.decode("utf-8").rstrip("\n").rstrip("\r")
            except UnicodeDecodeError as exc:
                raise InputError(f"{path}:{number}: not valid UTF-8 (byte {offset + exc.start})") from None
            offset += len(data)
            line = line.removeprefix("\ufeff") if number == 1 else line
            if not line.strip():
                continue
            texts += 1
            if path.suffix == ".txt":
                yield number, {"text": line}
                continue
            record, bad = _json_line(path, number, line)
            if bad:
                raise InputError(str(bad))
            yield number, _check_record(record, path, number, ids)
    if not texts:
        raise InputError(f"{path}: file is empty")


def _check_record(record: object, path: Path, number: int, ids: dict) -> dict:
    where = f"{path}:{number}"
    if not isinstance(record, dict) or not isinstance(record.get("text"), str) or not record["text"].strip():
        raise InputError(f"{where}: expected an object with a non-empty 'text' string")
    if "id" in record:
        key = record["id"]
        if isinstance(key, bool) or not isinstance(key, (str, int)):
            raise InputError(f"{where}: 'id' must be a string or an integer, got {json.dumps(key, ensure_ascii=False)}")
        if str(key) in ids:
            raise InputError(f"{where}: duplicate id {str(key)!r} (first at line {ids[str(key)]})")
        ids[str(key)] = number
    if not isinstance(record.get("meta", {}), dict):
        raise InputError(f"{where}: 'meta' must be an object")
    return record


def corpus_files(path: str | Path) -> list[Path]:
    """A JSONL file, or every ``*.jsonl`` in a folder (sorted)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.jsonl"))
        if not files:
            raise InputError(f"{path}: no .jsonl files in this folder")
        return files
    if not path.exists():
        raise InputError(f"{path}: file not found")
    return [path]


# ---------------------------------------------------------------- validation

def span_problems(doc: Document, schema: LabelSchema) -> list[str]:
    """Every rule a document's spans break, as messages naming the span."""
    text, messages = doc.text, []
    if not text.strip():
        return ["text is empty"]
    words = split_words(text)
    starts, ends = {w.start for w in words}, {w.end for w in words}
    ordered = sorted(doc.entities, key=lambda e: (e.start, e.end))
    for ent in ordered:
        where = f"span [{ent.start}:{ent.end}] {text[max(ent.start, 0):max(ent.end, 0)]!r} ({ent.label})"
        if ent.label not in schema.names:
            messages.append(f"{where}: unknown label {ent.label!r} (known: {', '.join(schema.names)})")
        if not 0 <= ent.start < ent.end <= len(text):
            messages.append(f"{where}: offsets out of range for text of length {len(text)}")
            continue
        surface = text[ent.start : ent.end]
        given = (ent.model_extra or {}).get("text")
        if given is not None and given != surface:
            messages.append(f"{where}: its text {given!r} does not match the document's text there")
        if not is_word_char(surface[0]) or not is_word_char(surface[-1]):
            kind = "whitespace" if (surface[0].isspace() or surface[-1].isspace()) else "punctuation"
            messages.append(f"{where}: {kind} at the edge of the span")
        elif ent.start not in starts or ent.end not in ends:
            messages.append(f"{where}: not on word boundaries (context {text[max(0, ent.start - 10):ent.end + 10]!r})")
    for prev, cur in zip(ordered, ordered[1:]):
        if cur.start < prev.end:
            messages.append(
                f"spans [{prev.start}:{prev.end}] {text[prev.start:prev.end]!r} and "
                f"[{cur.start}:{cur.end}] {text[cur.start:cur.end]!r} overlap"
            )
    return messages


def validate_documents(located: Iterable[Located], schema: LabelSchema) -> list[Problem]:
    problems, seen = [], {}
    for item in located:
        doc = item.doc
        if doc.id in seen:
            problems.append(Problem(item.path, item.line, doc.id, f"duplicate document id (first at {seen[doc.id]})"))
        else:
            seen[doc.id] = f"{item.path}:{item.line}"
        problems.extend(Problem(item.path, item.line, doc.id, m) for m in span_problems(doc, schema))
    return problems


def load_corpus(path: str | Path | list, schema: LabelSchema) -> list[Document]:
    """Read and validate a corpus (a file or folder, or a list of them); raise InputError listing every problem."""
    located, problems = [], []
    for file in [f for p in (path if isinstance(path, list) else [path]) for f in corpus_files(p)]:
        docs, file_problems = parse_jsonl(file)
        located += docs
        problems += file_problems
    problems += validate_documents(located, schema)
    if len(problems) == 1:
        raise InputError(str(problems[0]))
    if problems:
        raise InputError(f"{len(problems)} problems in {path}, the first: {problems[0]} (all: arner validate {path})")
    return [item.doc for item in located]


# ---------------------------------------------------------------- writing

@contextmanager
def atomic_write(path: str | Path, mode: str = "w") -> Iterator[Any]:
    """Write to a temporary file beside ``path`` and rename it into place on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private (0600); the result is an ordinary file
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as handle:
            yield handle
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_documents(path: str | Path, docs: Iterable[Document]) -> None:
    with atomic_write(path) as out:
        for doc in docs:
            out.write(doc.to_json() + "\n")
