"""Corpus statistics: per-split counts and the coverage figures the corpus is built to meet.

Per split: documents, sentences, words, sentences without entities, entities and distinct
surface forms per label. Coverage: conflict theatres (``meta.theatre``), distinct armed
groups and locations, each written form of COUNT, spelling variation. ``make stats`` prints
it and writes ``annotations/STATS.md``. ``unmapped_forms``: the frequent ARMED_GROUP names the
alias table does not map yet (``make aliases``).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from arner.aliases import DEFAULT_ALIASES_PATH, alias_key, load_aliases, lookup_of
from arner.normalize import normalized_form
from arner.splits import SPLITS, split_documents
from arner.text import split_sentences, split_words

# Targets of the corpus (issue "The gold corpus"): figure -> minimum.
TARGETS = {"documents": 300, "sentences": 2000, "theatres": 12, "ARMED_GROUP forms": 150, "LOCATION forms": 400,
           "no-entity sentence share": 0.15, "each COUNT form": 30}

_NUMBER_WORDS = re.compile(
    r"(واحد|اثن|ثلاث|أربع|اربع|خمس|ست|سبع|ثمان|تسع|عشر|مئ|مائ|ألف|آلاف|الاف|مليون|ملايين|بضع)")
COUNT_FORMS = {
    "Western digits": lambda s: bool(re.search(r"[0-9]", s)),
    "Eastern-Arabic digits": lambda s: bool(re.search(r"[٠-٩۰-۹]", s)),
    "number words": lambda s: not re.search(r"[0-9٠-٩۰-۹]", s) and bool(_NUMBER_WORDS.search(s))
    and not re.match(r"^(ال)?(عشرات|مئات|آلاف|مئات)", s.lstrip("و")),
    "duals": lambda s: len(split_words(s)) <= 2 and not re.search(r"[0-9٠-٩]", s)
    and bool(re.search(r"(ين|ان|تين|تان)$", split_words(s)[0].text)) and not _NUMBER_WORDS.search(split_words(s)[0].text),
    "approximators": lambda s: bool(re.match(
        r"^[وفب]?(أكثر من|اكثر من|نحو|قرابة|حوالي|حوالى|ما لا يقل عن|أقل من|اقل من|ما يزيد على|ما يزيد عن|زهاء|ما يقارب|ما بين|بين|أزيد من)", s)),
    "vague quantities": lambda s: bool(re.match(r"^[وفب]?(ال)?(عشرات|مئات|مئآت|آلاف|الاف|ملايين)", s)),
}
SPELLING = {
    "tatweel": lambda t: "\u0640" in t,
    "tashkeel": lambda t: bool(re.search("[\u064b-\u0652]", t)),
    "Latin script": lambda t: bool(re.search("[A-Za-z]", t)),
    "quotes “ ”": lambda t: "“" in t or "”" in t,
    "quotes « »": lambda t: "«" in t,
    'quotes "': lambda t: '"' in t,
    "quotes '": lambda t: "'" in t,
}


def _split_stats(part, labels: list[str]) -> dict:
    sentences = [(d, a, b) for d in part for a, b in split_sentences(d.text)]
    entities = Counter(e.label for d in part for e in d.entities)
    forms = {label: {d.text[e.start:e.end] for d in part for e in d.entities if e.label == label} for label in labels}
    empty = sum(1 for d, a, b in sentences if not any(a <= e.start < b for e in d.entities))
    return {
        "documents": len(part), "sentences": len(sentences),
        "words": sum(len(split_words(d.text)) for d in part),
        "sentences_without_entities": empty,
        "entities": {label: entities[label] for label in labels},
        "distinct_forms": {label: len(forms[label]) for label in labels},
    }


def corpus_stats(docs, labels: list[str], dev_percent: int = 10, test_percent: int = 10) -> dict:
    splits = split_documents(docs, dev_percent, test_percent)
    per_split = {name: _split_stats(splits[name], labels) for name in SPLITS}
    per_split["all"] = _split_stats(docs, labels)
    counts = [d.text[e.start:e.end] for d in docs for e in d.entities if e.label == "COUNT"]
    return {
        "splits": per_split,
        "theatres": dict(Counter(d.meta.get("theatre", "(none)") for d in docs).most_common()),
        "per_theatre": theatre_stats(docs),
        "count_forms": {name: sum(map(test, counts)) for name, test in COUNT_FORMS.items()},
        "spelling_documents": {name: sum(1 for d in docs if test(d.text)) for name, test in SPELLING.items()},
    }


def theatre_stats(docs) -> dict[str, dict]:
    """Per theatre (``meta.theatre``): documents, sentences, entities per label, and its distinct
    ARMED_GROUP and LOCATION names with how many of them no document of another theatre has
    (names a model trained on the rest of the corpus would meet unseen)."""
    names: dict[str, set] = {}
    for d in docs:
        theatre = d.meta.get("theatre", "(none)")
        names.setdefault(theatre, set()).update(
            (e.label, d.text[e.start:e.end]) for e in d.entities if e.label in ("ARMED_GROUP", "LOCATION"))
    out = {}
    for theatre in sorted(names, key=lambda t: (t == "(none)", t)):
        part = [d for d in docs if d.meta.get("theatre", "(none)") == theatre]
        elsewhere = set().union(*(v for k, v in names.items() if k != theatre))
        row = {"documents": len(part), "sentences": sum(len(split_sentences(d.text)) for d in part),
               "entities": dict(Counter(e.label for d in part for e in d.entities))}
        for label in ("ARMED_GROUP", "LOCATION"):
            mine = {n for n in names[theatre] if n[0] == label}
            row[f"{label} names"] = len(mine)
            row[f"{label} unseen elsewhere"] = len(mine - elsewhere)
        out[theatre] = row
    return out


def coverage_checks(stats: dict) -> list[tuple[str, str, str, bool]]:
    """(figure, value, target, met) for each coverage target."""
    s = stats["splits"]["all"]
    share = s["sentences_without_entities"] / max(s["sentences"], 1)
    rows = [
        ("documents", str(s["documents"]), f"≥ {TARGETS['documents']}", s["documents"] >= TARGETS["documents"]),
        ("sentences", str(s["sentences"]), f"≥ {TARGETS['sentences']}", s["sentences"] >= TARGETS["sentences"]),
        ("conflict theatres", str(len(stats["theatres"])), f"≥ {TARGETS['theatres']}", len(stats["theatres"]) >= TARGETS["theatres"]),
    ]
    for label in ("ARMED_GROUP", "LOCATION"):
        n = s["distinct_forms"].get(label, 0)
        rows.append((f"distinct {label} forms", str(n), f"≥ {TARGETS[label + ' forms']}", n >= TARGETS[label + " forms"]))
    rows.append(("sentences without entities", f"{share:.1%}", f"≥ {TARGETS['no-entity sentence share']:.0%}",
                 share >= TARGETS["no-entity sentence share"]))
    for name, n in stats["count_forms"].items():
        rows.append((f"COUNT: {name}", str(n), f"≥ {TARGETS['each COUNT form']}", n >= TARGETS["each COUNT form"]))
    return rows


def stats_markdown(stats: dict, labels: list[str]) -> str:
    head = "| split | documents | sentences | words | no-entity sentences | " + " | ".join(
        f"{label} (distinct forms)" for label in labels) + " |"
    rows = ["## Per split", "", head, "|" + "---|" * (5 + len(labels))]
    for name, s in stats["splits"].items():
        cells = [f"{s['entities'][label]} ({s['distinct_forms'][label]})" for label in labels]
        share = s["sentences_without_entities"] / s["sentences"] if s["sentences"] else 0
        rows.append(f"| {name} | {s['documents']} | {s['sentences']} | {s['words']} | "
                    f"{s['sentences_without_entities']} ({share:.0%}) | " + " | ".join(cells) + " |")
    rows += ["", "## Coverage", "", "| figure | value | target | met |", "|---|---:|---:|:---:|"]
    rows += [f"| {f} | {v} | {t} | {'yes' if ok else '**no**'} |" for f, v, t, ok in coverage_checks(stats)]
    rows += ["", "## Theatres", "",
             "*unseen elsewhere*: distinct names of the theatre that no document of another theatre has.", "",
             "| theatre | documents | sentences | ARMED_GROUP | LOCATION | COUNT | group names (unseen elsewhere) | place names (unseen elsewhere) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for theatre, t in stats["per_theatre"].items():
        e = t["entities"]
        rows.append(f"| {theatre} | {t['documents']} | {t['sentences']} | {e.get('ARMED_GROUP', 0)} | {e.get('LOCATION', 0)} | "
                    f"{e.get('COUNT', 0)} | {t['ARMED_GROUP names']} ({t['ARMED_GROUP unseen elsewhere']}) | "
                    f"{t['LOCATION names']} ({t['LOCATION unseen elsewhere']}) |")
    rows += ["", "## Spelling variation (documents containing)", "",
             ", ".join(f"{k} {v}" for k, v in stats["spelling_documents"].items())]
    return "\n".join(rows)


def unmapped_forms(docs, top: int | None = 30, path: str | Path = DEFAULT_ALIASES_PATH) -> list[tuple[str, int]]:
    """The most frequent normalized ARMED_GROUP forms of ``docs`` that the alias table does not know (`make aliases`)."""
    lookup = lookup_of(load_aliases(path))
    counts = Counter()
    for doc in docs:
        for ent in doc.entities:
            if ent.label == "ARMED_GROUP":
                form = normalized_form(doc.text[ent.start:ent.end])
                if alias_key(form) not in lookup:
                    counts[form] += 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ranked[:top] if top else ranked
