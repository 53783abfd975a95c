"""Clean entity forms: ``normalized_form("بالرقة") == "الرقة"``, and ``enrich`` for tagger output.

Gold spans keep attached proclitics (guidelines, span rule 1); analysts want the name alone.
``normalized_form`` removes tashkeel and tatweel (``arner.text.strip_marks``) and then a
proclitic cluster (و ف ب ل ك, وب ول فب فل وك, with ``لل`` + word -> ``ال`` + word) from the
first word, but only when the strip is justified:

1. the remainder is a known form: a gold entity form, the first word of a multi-word gold
   form (``لواء`` from ``لواء القدس``), an alias in ``configs/aliases.yaml``, or a head noun of
   group names (``قوات``, ``جيش``, ``حركة`` ...); or
2. the remainder starts with the article ``ال`` followed by at least two letters and the
   word is not a protected name (``بالما``, ``بالاكليا``, ``فالادييه``: foreign names whose
   ``با``/``فا`` is not a proclitic plus article).

Candidates are tried longest cluster first, so ``وبالرقة`` -> ``الرقة``, ``وبغداد`` -> ``بغداد``
(``غداد`` is unknown), ``للبنان`` -> ``لبنان`` (known before ``البنان``), and a name that only
starts with a proclitic letter (بلدة, لبنان, كركوك, وادي, واشنطن) stays whole. Known forms
are read once from ``annotations/gold`` when that folder is there; pass ``known=`` to use
another set (a ``Tagger`` passes the set saved in its model directory, ``arner.snapshot``).
COUNT spans use ``arner.counts.count_normalized`` instead.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from arner.aliases import canonical_name, load_aliases
from arner.counts import count_normalized, parse_count
from arner.text import strip_marks

REPO = Path(__file__).resolve().parent.parent
GOLD_DIR = REPO / "annotations" / "gold"
CLUSTERS = ("وب", "ول", "وك", "فب", "فل", "فك", "و", "ف", "ب", "ل", "ك")
# Words that start group and place names after a proclitic (لقوات النظام, ولواء المظليين).
HEAD_NOUNS = frozenset(
    "قوات قوة جيش لواء ألوية حركة جماعة تنظيم حزب جبهة هيئة مجلس فيلق فرقة كتيبة كتائب سرايا وحدات "
    "وحدة ميليشيات ميليشيا مليشيات مليشيا طيران سلاح حرس مقاتلات طائرات متطوعي متطوعو شرطة "
    "شبكة مطار ميناء معسكر قاعدة جبل وادي نهر بحيرة مخيم سد حقل جزيرة مدينة ريف".split()
)
PROTECTED = frozenset({"بالما", "بالاكليا", "فالادييه"})


def clean(text: str) -> str:
    """No tashkeel, no tatweel, single spaces."""
    return " ".join(strip_marks(text).split())


def gold_forms(folder: Path = GOLD_DIR) -> list[tuple[str, str]]:
    """``(label, surface)`` of every entity in the gold JSONL files (empty if the folder is absent)."""
    forms = []
    for file in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
        for line in file.read_text(encoding="utf-8").splitlines():
            if line.strip():
                doc = json.loads(line)
                forms += [(e["label"], doc["text"][e["start"]:e["end"]]) for e in doc.get("entities", [])]
    return forms


def _whole_and_first_words(forms) -> frozenset[str]:
    out = set(HEAD_NOUNS)
    for form in forms:
        out.add(form)
        if " " in form:
            out.add(form.split()[0])
    return frozenset(out)


def known_set(forms) -> frozenset[str]:
    """Whole forms and first words of multi-word forms plus the head nouns, themselves normalized.

    Gold forms keep their proclitics (``لقوات التحالف``), so a first pass on the raw forms
    normalizes them; the known set is built from the result and never holds ``لقوات``.
    """
    raw = [clean(form) for form in forms]
    first_pass = _whole_and_first_words(raw)
    return _whole_and_first_words(normalized_form(form, first_pass) for form in raw)


@lru_cache(maxsize=1)
def default_known() -> frozenset[str]:
    try:
        aliases = [a for names in load_aliases().values() for a in names] + list(load_aliases())
    except Exception:  # a broken alias table is reported by `arner aliases`, not here
        aliases = []
    return known_set([surface for label, surface in gold_forms() if label != "COUNT"] + aliases)


def _article_ok(rest: str, word: str) -> bool:
    return rest.startswith("ال") and len(rest) >= 4 and word not in PROTECTED


def normalized_form(text: str, known: frozenset[str] | None = None) -> str:
    """``text`` without tashkeel, tatweel and a justified leading proclitic (see the module doc)."""
    text = clean(text)
    if not text:
        return text
    known = default_known() if known is None else known
    first, _, tail = text.partition(" ")
    for p in CLUSTERS:  # longest cluster first
        rest = first[len(p):]
        if not first.startswith(p) or len(rest) < 2:
            continue
        candidate = f"{rest} {tail}".strip()
        if candidate in known:  # the whole remainder is a known form (للبنان -> لبنان)
            return candidate
        if p.endswith("ل") and rest.startswith("ل"):  # للفرقة -> الفرقة
            if _article_ok("ا" + rest, first):
                return f"ا{candidate}"
        elif _article_ok(rest, first):
            return candidate
        if rest in known:  # a known first word (ولواء المظليين -> لواء المظليين)
            return candidate
    return text


def strip_is_justified(original: str, normalized: str, known: frozenset[str]) -> bool:
    """For tests and audits: unchanged (beyond marks), or what remains is a known form or has the article."""
    if clean(original) == normalized:
        return True
    first = normalized.split()[0]
    return normalized in known or first in known or (first.startswith("ال") and len(first) >= 5)


def enrich(entity: dict, known: frozenset[str] | None = None, aliases: dict[str, str] | None = None) -> dict:
    """A copy of a tagger entity (``text``, ``label`` ...) with analyst fields added.

    Every entity gets ``normalized``; ARMED_GROUP gets ``canonical`` (alias table, else the
    normalized form); COUNT gets ``value``, ``range``, ``qualifier``, ``unit``, ``unit_singular``.
    ``known`` and ``aliases`` (an ``arner.aliases.lookup_of`` table) come from the model's snapshot
    when a ``Tagger`` calls this; left out, they are read from this checkout.
    """
    out = dict(entity)
    text = entity.get("text", "")
    if entity.get("label") == "COUNT":
        out["normalized"] = count_normalized(text)
        out.update(parse_count(text).as_dict())
    else:
        out["normalized"] = normalized_form(text, known)
    if entity.get("label") == "ARMED_GROUP":
        out["canonical"] = canonical_name(out["normalized"], lookup=aliases)
    return out
