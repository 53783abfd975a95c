"""Inline markup (``[surface](LABEL)``) to documents with character offsets.

Format (documented in ``annotations/README.md``): ``## <id>`` starts a document, an
optional ``meta: {...}`` line follows, then one sentence per line; a blank line ends it.
Each sentence is checked on its own, so problems are reported with their exact line.

    python -m arner.markup annotations/markup/*.txt            # check only
    python -m arner.markup annotations/markup/*.txt --write annotations/gold
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

from arner.documents import Document, Entity, Located, Problem, span_problems, validate_documents, write_documents
from arner.schema import LabelSchema, load_schema

_MARK_RE = re.compile(r"\\([\[\]])|\[((?:\\[\[\]]|[^\[\]\\])+)\]\(([A-Za-z_]+)\)|([\[\]])")
_UNESCAPE_RE = re.compile(r"\\([\[\]])")


def parse_line(line: str) -> tuple[str, list[Entity], list[str]]:
    """One marked-up sentence -> (plain text, entities with offsets into it, problems)."""
    out, entities, problems, pos = [], [], [], 0
    length = 0
    for m in _MARK_RE.finditer(line):
        plain = line[pos : m.start()]
        out.append(plain)
        length += len(plain)
        pos = m.end()
        if m.group(1):
            out.append(m.group(1))
            length += 1
        elif m.group(2):
            surface = _UNESCAPE_RE.sub(r"\1", m.group(2))
            entities.append(Entity(start=length, end=length + len(surface), label=m.group(3)))
            out.append(surface)
            length += len(surface)
        else:
            problems.append(f"stray {m.group(4)!r} at column {m.start() + 1} (write \\{m.group(4)} for a literal bracket)")
            out.append(m.group(4))
            length += 1
    out.append(line[pos:])
    return "".join(out), entities, problems


def parse_markup(path: str | Path, schema: LabelSchema) -> tuple[list[Located], list[Problem]]:
    """Parse a markup file into documents; every problem names its file line."""
    path = Path(path)
    name = str(path)
    docs: list[Located] = []
    problems: list[Problem] = []
    current: dict | None = None

    def finish() -> None:
        if current is None:
            return
        if not current["sentences"]:
            problems.append(Problem(name, current["line"], current["id"], "document has no sentences"))
            return
        text, entities = "", []
        for sentence, ents in current["sentences"]:
            if text:
                text += "\n"
            entities += [Entity(start=e.start + len(text), end=e.end + len(text), label=e.label) for e in ents]
            text += sentence
        doc = Document(id=current["id"], text=text, entities=entities, meta=current["meta"])
        docs.append(Located(doc, name, current["line"]))

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (FileNotFoundError, UnicodeDecodeError) as exc:
        return [], [Problem(name, 0, None, f"cannot read: {exc}")]
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if line.startswith("## "):
            finish()
            current = {"id": line[3:].strip(), "line": number, "meta": {}, "sentences": []}
        elif not line:
            finish()
            current = None
        elif line.startswith("# "):
            continue
        elif current is None:
            problems.append(Problem(name, number, None, "text outside a document (start one with '## <id>')"))
        elif line.startswith("meta:") and not current["sentences"]:
            try:
                current["meta"] = json.loads(line[5:])
                assert isinstance(current["meta"], dict)
            except (json.JSONDecodeError, AssertionError):
                problems.append(Problem(name, number, current["id"], "meta line is not a JSON object"))
        else:
            text, entities, line_problems = parse_line(line)
            sentence = Document(id=current["id"], text=text, entities=entities)
            line_problems += span_problems(sentence, schema) if text.strip() else []
            problems += [Problem(name, number, current["id"], p) for p in line_problems]
            current["sentences"].append((text, entities))
    finish()
    return docs, problems


def convert(paths: list[Path], schema: LabelSchema, out_dir: Path | None) -> int:
    located, problems = [], []
    for path in paths:
        docs, file_problems = parse_markup(path, schema)
        located += docs
        problems += file_problems
    problems += [p for p in validate_documents(located, schema) if "duplicate" in p.message]
    for problem in problems:
        print(problem)
    labels = Counter(e.label for item in located for e in item.doc.entities)
    sentences = sum(item.doc.text.count("\n") + 1 for item in located)
    print(f"{len(paths)} file(s), {len(located)} documents, {sentences} sentences, "
          f"entities: {dict(sorted(labels.items()))}, problems: {len(problems)}")
    if problems:
        return 1
    if out_dir is not None:
        for path in paths:
            write_documents(out_dir / f"{path.stem}.jsonl", (i.doc for i in located if i.path == str(path)))
        print(f"wrote {len(paths)} file(s) to {out_dir}")
    return 0


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--write", type=Path, metavar="DIR", help="write <DIR>/<file stem>.jsonl when clean")
    parser.add_argument("--labels", type=Path, default=None)
    args = parser.parse_args(argv)
    schema = load_schema(args.labels) if args.labels else load_schema()
    return convert(args.files, schema, args.write)


if __name__ == "__main__":
    sys.exit(main())
