"""Public CoNLL corpora (ANERcorp, AQMAR, ...) as documents, with an explicit label map.

Each sentence becomes a document whose text is its tokens joined by spaces. Entity types
in the map become schema labels; types with no counterpart, and (optionally) tokens with
digits together with the word after them (a count's noun), are listed in
``meta["unlabelled"]`` as spans the loss ignores: those corpora did not annotate them by
our guidelines, so they are unknown, not ``O``.
"""

from __future__ import annotations

import re
from pathlib import Path

from arner.documents import Document, Entity
from arner.errors import InputError
from arner.text import is_word_char

_NUMERAL = re.compile(r"[0-9٠-٩]")


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink a span to its first and last word characters (CoNLL tokens may carry punctuation)."""
    while start < end and not is_word_char(text[start]):
        start += 1
    while end > start and not is_word_char(text[end - 1]):
        end -= 1
    return start, end


def read_conll(path: str | Path, label_map: dict[str, str], mask_numbers: bool = True) -> list[Document]:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: CoNLL file not found")
    docs, sentence = [], []

    def flush() -> None:
        if not sentence:
            return
        tokens = [tok for tok, _ in sentence]
        text, starts = "", []
        for tok in tokens:
            starts.append(len(text) + (1 if text else 0))
            text = f"{text} {tok}" if text else tok
        entities, unlabelled, open_ = [], [], None
        for i, (tok, tag) in enumerate(sentence + [("", "O")]):
            kind = tag[2:] if tag[:2] in ("B-", "I-") else None
            if open_ and not (tag.startswith("I-") and kind == open_[1]):
                first, etype = open_
                span = _trim(text, starts[first], starts[i - 1] + len(tokens[i - 1]))
                if span[0] < span[1]:
                    if etype in label_map:
                        entities.append(Entity(start=span[0], end=span[1], label=label_map[etype]))
                    else:
                        unlabelled.append(list(span))
                open_ = None
            if kind and (tag.startswith("B-") or open_ is None):
                open_ = (i, kind)
            if mask_numbers and i < len(tokens) and kind is None and _NUMERAL.search(tok):
                # the numeral and the word after it (the counted noun, unannotated there)
                last = i + 1 if i + 1 < len(tokens) and sentence[i + 1][1] == "O" else i
                unlabelled.append([starts[i], starts[last] + len(tokens[last])])
        docs.append(Document(id=f"{path.parent.name}/{path.stem}-{len(docs) + 1:05d}", text=text,
                             entities=entities, meta={"source": str(path), "unlabelled": unlabelled}))
        sentence.clear()

    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fields = line.split()
        if not fields:
            flush()
        elif fields[0] == "-DOCSTART-":
            continue
        elif len(fields) < 2:
            raise InputError(f"{path}:{number}: expected 'token ... TAG', got {line!r}")
        else:
            sentence.append((fields[0], fields[-1]))
    flush()
    return docs
