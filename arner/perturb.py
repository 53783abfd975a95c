"""Meaning-preserving changes of form, each with an exact map of old offsets to new ones.

A perturbation rewrites a text character by character: ``pieces[i]`` is what original
character ``i`` becomes (itself, nothing, or itself plus inserted marks), with an optional
``prefix`` and ``suffix``. ``Perturbed.span(start, end)`` maps an entity of the original into
the new text, so gold and clean predictions can be compared with what the model tags there.
Used by the invariance suite (``eval/robustness.py``); every change is deterministic given
the text and the seed.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from arner.text import TATWEEL, split_words, strip_marks

FINAL_PUNCTUATION = ".!?؟"
QUOTES = "«»\"“”„‟'‘’"
QUOTE_STYLES = {"«»": ("«", "»"), '""': ('"', '"'), "“”": ("“", "”"), "''": ("'", "'")}
# Letters that join the next one, so a tatweel can follow them.
_JOINING = set("بتثجحخسشصضطظعغفقكلمنهيئ")
_MARKS = "\u064e\u064f\u0650\u0651"  # fatha, damma, kasra, shadda
_LIGATURES = {"لا": "ﻻ", "لأ": "ﻷ", "لإ": "ﻹ", "لآ": "ﻵ"}
_EASTERN = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
_WESTERN = str.maketrans("٠١٢٣٤٥٦٧٨٩", "0123456789")
_ARABIC_WORD_RE = re.compile(r"[\u0621-\u064a\u0640\u064b-\u0652\u0670]+")


@dataclass
class Perturbed:
    text: str
    starts: list[int] = field(repr=False)  # new offset of each original offset 0..len(original)

    def span(self, start: int, end: int) -> tuple[int, int]:
        return self.starts[start], self.starts[end]


def rewrite(text: str, pieces: list[str] | None = None, prefix: str = "", suffix: str = "") -> Perturbed:
    pieces = list(text) if pieces is None else pieces
    starts, at = [], len(prefix)
    for piece in pieces:
        starts.append(at)
        at += len(piece)
    starts.append(at)
    return Perturbed(prefix + "".join(pieces) + suffix, starts)


def _final_punctuation(text: str) -> int | None:
    """Index of the sentence-final punctuation mark (before trailing spaces and closing quotes), if any."""
    i = len(text.rstrip()) - 1
    while i >= 0 and text[i] in QUOTES + ")":
        i -= 1
    return i if i >= 0 and text[i] in FINAL_PUNCTUATION else None


def _pieces_without_final_punctuation(text: str) -> list[str]:
    pieces = list(text)
    i = _final_punctuation(text)
    if i is not None:
        pieces[i] = ""
    return pieces


def punctuation_removed(text: str, rng: random.Random) -> Perturbed:
    return rewrite(text, _pieces_without_final_punctuation(text))


def punctuation_added(text: str, rng: random.Random) -> Perturbed:
    if _final_punctuation(text) is not None:
        return rewrite(text)
    return rewrite(text, suffix=".")


def tashkeel_added(text: str, rng: random.Random) -> Perturbed:
    """Tanween fath after a final alef (``قتيلا`` -> ``قتيلاً``) and a vowel or shadda inside a third of long words."""
    pieces = list(text)
    for m in _ARABIC_WORD_RE.finditer(text):
        word, start = m.group(), m.start()
        if len(word) >= 4 and word.endswith("ا"):
            pieces[m.end() - 1] += "\u064b"
        if len(word) >= 4 and rng.random() < 1 / 3:
            k = rng.randrange(1, len(word) - 1)
            if word[k] not in "اوىءأإآة" + TATWEEL:
                pieces[start + k] += rng.choice(_MARKS)
    return rewrite(text, pieces)


def tashkeel_removed(text: str, rng: random.Random) -> Perturbed:
    return rewrite(text, [strip_marks(c) if c != TATWEEL else c for c in text])


def tatweel(text: str, rng: random.Random) -> Perturbed:
    """A tatweel inside half of the words of five letters or more (never right after a proclitic)."""
    pieces = list(text)
    for m in _ARABIC_WORD_RE.finditer(text):
        word = m.group()
        spots = [k for k in range(2, len(word) - 1) if word[k] in _JOINING and word[k + 1] not in _MARKS]
        if len(word) >= 5 and spots and rng.random() < 0.5:
            pieces[m.start() + rng.choice(spots)] += TATWEEL
    return rewrite(text, pieces)


def _letters(mapping: dict[str, str], where: str):
    def change(text: str, rng: random.Random) -> Perturbed:
        pieces = list(text)
        for m in _ARABIC_WORD_RE.finditer(text):
            for k in range(m.start(), m.end()):
                last = k == m.end() - 1
                if text[k] in mapping and (where == "anywhere" or last):
                    pieces[k] = mapping[text[k]]
        return rewrite(text, pieces)
    return change


def _chars(table: dict):
    def change(text: str, rng: random.Random) -> Perturbed:
        return rewrite(text, [c.translate(table) for c in text])
    return change


def quote_style(style: str):
    opening, closing = QUOTE_STYLES[style]

    def change(text: str, rng: random.Random) -> Perturbed:
        pieces, is_open = list(text), True
        for i, c in enumerate(text):
            if c in QUOTES and not (c in "'’" and 0 < i < len(text) - 1 and text[i - 1].isalpha() and text[i + 1].isalpha()):
                pieces[i] = opening if is_open else closing
                is_open = not is_open
        return rewrite(text, pieces)
    return change


def extra_space(text: str, rng: random.Random) -> Perturbed:
    """Every third space doubled, and one space (after the middle of the text) a line break."""
    pieces = list(text)
    spaces = [i for i, c in enumerate(text) if c == " "]
    for n, i in enumerate(spaces):
        if n % 3 == 1:
            pieces[i] = "  "
    if spaces:
        pieces[spaces[len(spaces) // 2]] = "\n"
    return rewrite(text, pieces)


def ligatures(text: str, rng: random.Random) -> Perturbed:
    pieces = list(text)
    for i in range(len(text) - 1):
        pair = text[i : i + 2]
        if pair in _LIGATURES and pieces[i] == text[i] and pieces[i + 1] == text[i + 1]:
            pieces[i], pieces[i + 1] = _LIGATURES[pair], ""
    return rewrite(text, pieces)


_HEADLINE_VERBS = {"قال", "قالت", "أعلن", "أعلنت", "أكد", "أكدت", "أضاف", "أضافت", "كان", "كانت", "في", "من", "على",
                   "أشار", "أشارت", "ذكر", "ذكرت", "أفاد", "أفادت", "تابع", "أوضح", "أوضحت", "شن", "شنت"}


def headline(text: str, rng: random.Random) -> Perturbed:
    """No final punctuation and no leading conjunction ``و`` (``وقال`` -> ``قال``, ``والجيش`` -> ``الجيش``)."""
    pieces = _pieces_without_final_punctuation(text)
    lead = len(text) - len(text.lstrip())
    m = _ARABIC_WORD_RE.match(text, lead)
    if m and m.group().startswith("و"):
        rest = m.group()[1:]
        if rest in _HEADLINE_VERBS or (rest.startswith("ال") and len(rest) >= 4):
            pieces[lead] = ""
    return rewrite(text, pieces)


PERTURBATIONS = {
    "final punctuation removed": punctuation_removed,
    "final punctuation added": punctuation_added,
    "tashkeel added": tashkeel_added,
    "tashkeel removed": tashkeel_removed,
    "tatweel": tatweel,
    "alef without hamza (أ إ آ -> ا)": _letters({"أ": "ا", "إ": "ا", "آ": "ا"}, "anywhere"),
    "final yaa / alef maqsura swapped": _letters({"ى": "ي", "ي": "ى"}, "final"),
    "final taa marbuta as haa (ة -> ه)": _letters({"ة": "ه"}, "final"),
    "Eastern digits": _chars(_EASTERN),
    "Western digits": _chars(_WESTERN),
    "Latin comma": _chars({ord("،"): ","}),
    "Arabic comma": _chars({ord(","): "،"}),
    **{f"quotes {style}": quote_style(style) for style in QUOTE_STYLES},
    "extra spaces and a line break": extra_space,
    "presentation-form ligatures": ligatures,
    "headline form": headline,
}


# Changes that the ``surface`` normalisation (arner.text.normalize_surface) undoes word by word,
# or that never reach the encoder (spaces): an encoder behind that normalisation sees no change.
UNDONE_BY_SURFACE = frozenset({"tashkeel added", "tashkeel removed", "tatweel", "Eastern digits", "Western digits",
                               "Latin comma", "Arabic comma", *[f"quotes {s}" for s in QUOTE_STYLES],
                               "extra spaces and a line break", "presentation-form ligatures"})


def perturb(name: str, text: str, seed: int = 0) -> Perturbed:
    """Apply the perturbation ``name`` to ``text``; random choices depend only on ``seed`` and the text."""
    return PERTURBATIONS[name](text, random.Random(f"{seed}:{name}:{text}"))


def off_word_boundaries(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans that do not start at a word start and end at a word end of ``text`` (``split_words``)."""
    words = split_words(text)
    starts, ends = {w.start for w in words}, {w.end for w in words}
    return [(s, e) for s, e in spans if s not in starts or e not in ends]


def augment(docs: list, share: float, seed: int, normalize: str = "none") -> list:
    """Training documents with ``share`` of them (chosen with ``seed``) rewritten by one random
    perturbation each, entities and masked spans (``meta.unlabelled``) mapped through the change.
    Same number of documents, so training costs the same. Under the ``surface`` normalisation
    only the changes it does not undo are drawn."""
    if share <= 0:
        return docs
    rng = random.Random(seed)
    names = sorted(n for n in PERTURBATIONS if normalize != "surface" or n not in UNDONE_BY_SURFACE)
    out = []
    for doc in docs:
        if rng.random() >= share:
            out.append(doc)
            continue
        p = perturb(rng.choice(names), doc.text, seed)
        entities = [e.model_copy(update=dict(zip(("start", "end"), p.span(e.start, e.end)))) for e in doc.entities]
        meta = dict(doc.meta)
        if "unlabelled" in meta:
            meta["unlabelled"] = [list(p.span(s, e)) for s, e in meta["unlabelled"]]
        out.append(doc.model_copy(update={"text": p.text, "entities": entities, "meta": meta}))
    return out
