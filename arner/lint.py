"""The data-consistency checker (`make lint-data`): annotation inconsistencies across the corpus.

The validator (`arner.documents`) checks that each span is well formed; this module checks
that the corpus is *consistent* with itself and with the mechanical guideline rules:

- ``label-conflict``: a surface form annotated with different labels (each occurrence).
- ``unannotated-occurrence``: a whole-word occurrence of an annotated form (of at least 2
  characters) that is not annotated and overlaps no entity, where the form is annotated at
  least as often as not across the corpus (the majority says it is an entity; a word that is
  mostly not one, like أحد or قاعدة, is left to the annotators). Words are those of
  ``arner.text.split_words`` and forms are compared as exact word sequences (``والرقة`` is
  not ``الرقة``).
- ``edge-punctuation``: a span that starts or ends with a non-word character.
- ``type-word``: a span starting with a generic type word (``TYPE_WORDS``, proclitics
  allowed) whose remainder is annotated alone somewhere (``[تنظيم داعش]`` and ``[داعش]``).
- ``direction-word``: a LOCATION span with a direction or countryside word in it
  (``DIRECTION_WORDS``, proclitics and the article allowed: ``الشرقي``).
- ``count-without-number``: a COUNT span from which ``arner.counts.parse_count`` reads no
  value or range (no digit in any script, no number word, no dual).

Context-dependent cases (a place inside a media name, a number that is a date, a compound
place name such as جنوب السودان) are not decided here: they are listed in an exceptions file,
one finding key per line (``kind<TAB>label<TAB>form<TAB>document id``, ``*`` as the id
matches every document), ``#`` starting a comment.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from arner.documents import Located, corpus_files, parse_jsonl, read_text
from arner.counts import parse_count
from arner.errors import InputError
from arner.text import is_word_char, normalize_arabert, split_words

TYPE_WORDS = "تنظيم ميليشيا ميليشيات مليشيا جماعة حركة مدينة بلدة قرية محافظة منطقة ولاية".split()
DIRECTION_WORDS = "شمال جنوب شرق غرب شمالي جنوبي شرقي غربي ريف ضواحي أطراف".split()
_PROCLITICS = "(?:[وفبلك]{0,2})"  # a word may carry up to two proclitics (وب، ول ...)
_TYPE_RE = re.compile(rf"{_PROCLITICS}(?:{'|'.join(TYPE_WORDS)})")
_DIRECTION_RE = re.compile(rf"{_PROCLITICS}(?:ال)?(?:{'|'.join(DIRECTION_WORDS)})")
def _no_number(surface: str) -> bool:
    """True when the COUNT parser reads no value or range in the span (no digit, number word or dual)."""
    parsed = parse_count(surface)
    return parsed.value is None and parsed.range is None


CONTEXT = 20  # characters of context on each side of a finding


@dataclass(frozen=True)
class Finding:
    kind: str
    label: str
    form: str
    doc_id: str
    path: str
    line: int
    start: int
    end: int
    message: str
    context: str

    @property
    def key(self) -> str:
        """What the exceptions file lists: ``kind<TAB>label<TAB>form<TAB>document id``."""
        return "\t".join((self.kind, self.label, self.form, self.doc_id))

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.doc_id}: {self.message}: {self.context}"


def read_corpus(path: str | Path) -> list[Located]:
    """The documents of a JSONL file or folder with their file and line (not validated)."""
    located = []
    for file in corpus_files(path):
        docs, problems = parse_jsonl(file)
        if problems:
            raise InputError(str(problems[0]))
        located += docs
    for item in located:
        for ent in item.doc.entities:
            if not 0 <= ent.start < ent.end <= len(item.doc.text):
                raise InputError(f"{item.path}:{item.line}: document {item.doc.id!r}: span [{ent.start}:{ent.end}] "
                                 "out of range (run `arner validate`)")
    return located


def _context(text: str, start: int, end: int) -> str:
    left = ("…" if start > CONTEXT else "") + text[max(0, start - CONTEXT) : start]
    right = text[end : end + CONTEXT] + ("…" if end + CONTEXT < len(text) else "")
    return f"{left}[{text[start:end]}]{right}".replace("\n", " ")


def _words(text: str) -> tuple[str, ...]:
    return tuple(w.text for w in split_words(text))


def lint_corpus(located: list[Located]) -> list[Finding]:
    """Every finding in the corpus, ordered by file, line and position."""
    labels_of: dict[tuple[str, ...], Counter] = defaultdict(Counter)  # annotated word sequences
    for item in located:
        for ent in item.doc.entities:
            labels_of[_words(item.doc.text[ent.start : ent.end])][ent.label] += 1
    forms_by_first: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for form in labels_of:
        if len(" ".join(form)) >= 2:
            forms_by_first[form[0]].append(form)

    findings, unannotated = [], defaultdict(list)
    for item in located:
        text = item.doc.text

        def add(kind: str, label: str, start: int, end: int, message: str) -> None:
            findings.append(Finding(kind, label, text[start:end], item.doc.id, item.path, item.line, start, end,
                                    message, _context(text, start, end)))

        for ent in item.doc.entities:
            surface = text[ent.start : ent.end]
            words = split_words(surface)
            norm = [normalize_arabert(w.text) for w in words]
            others = {label: n for label, n in labels_of[_words(surface)].items() if label != ent.label}
            if others:
                elsewhere = ", ".join(f"{label} ({n}x)" for label, n in sorted(others.items()))
                add("label-conflict", ent.label, ent.start, ent.end, f"{surface!r} is {ent.label} here, also {elsewhere}")
            if not is_word_char(surface[0]) or not is_word_char(surface[-1]):
                add("edge-punctuation", ent.label, ent.start, ent.end, f"{surface!r} has punctuation at its edge")
            if len(words) > 1 and _TYPE_RE.fullmatch(norm[0]) and _words(surface)[1:] in labels_of:
                add("type-word", ent.label, ent.start, ent.end,
                    f"{surface!r} starts with the type word {words[0].text!r}; {surface[words[1].start:]!r} is annotated alone")
            if ent.label == "LOCATION" and any(_DIRECTION_RE.fullmatch(w) for w in norm):
                add("direction-word", ent.label, ent.start, ent.end, f"{surface!r} (LOCATION) contains a direction word")
            if ent.label == "COUNT" and _no_number(surface):
                add("count-without-number", ent.label, ent.start, ent.end, f"{surface!r} (COUNT) has no digit and no number word")

        words = split_words(text)
        for i, word in enumerate(words):
            for form in forms_by_first.get(word.text, ()):
                if tuple(w.text for w in words[i : i + len(form)]) != form:
                    continue
                start, end = word.start, words[i + len(form) - 1].end
                if not any(e.start < end and start < e.end for e in item.doc.entities):
                    label = "/".join(sorted(labels_of[form]))
                    unannotated[form].append(Finding("unannotated-occurrence", label, text[start:end], item.doc.id, item.path,
                                                     item.line, start, end, f"{text[start:end]!r} is not annotated here "
                                                     f"({label} elsewhere)", _context(text, start, end)))
    for form, missed in unannotated.items():
        if sum(labels_of[form].values()) >= len(missed):
            findings += missed
    return sorted(findings, key=lambda f: (f.path, f.line, f.start, f.kind))


def load_exceptions(path: str | Path) -> dict[str, int]:
    """Exception keys with their line in the file; ``#`` starts a comment (whole line or after a tab)."""
    keys = {}
    for number, raw in enumerate(read_text(path).splitlines(), start=1):  # missing, a folder, not UTF-8: InputError
        line = raw.split("\t#", 1)[0].strip(" ")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if len(line.split("\t")) != 4:
            raise InputError(f"{path}:{number}: expected kind<TAB>label<TAB>form<TAB>document id, got {raw!r}")
        keys[line] = number
    return keys


def apply_exceptions(findings: list[Finding], exceptions: dict[str, int]) -> tuple[list[Finding], list[str]]:
    """(findings not listed as exceptions, exception keys that matched nothing)."""
    used, remaining = set(), []
    for finding in findings:
        kind, label, form, doc = finding.key.split("\t")
        # A form annotated under two labels (ARMED_GROUP/LOCATION) keeps the exceptions written for either.
        labels = [label, *label.split("/")] if "/" in label else [label]
        candidates = [f"{kind}\t{lab}\t{form}\t{d}" for lab in labels for d in (doc, "*")]
        matched = [k for k in candidates if k in exceptions]
        used.update(matched)
        if not matched:
            remaining.append(finding)
    return remaining, [k for k in exceptions if k not in used]
