"""Arabic text handling: the word splitter, sentence splitter and per-word normalisation.

The word splitter defines what a "word" is for the whole project: a maximal run of letters,
digits, tatweel and Arabic diacritics, or any other single non-space character
(punctuation, quotes, emoji); a proclitic cut off by tatweel (``بـ`` in ``بـأبوظبي``) is a
word of its own. Entity spans must start and end on these boundaries; BIO tags
are assigned per word. Normalisation (AraBERT's, or ``surface``: the forms of one text that
do not change its meaning) is applied word by word, so every word keeps its offsets into the
original text.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

# Arabic combining marks (tashkeel, Quranic marks, superscript alef): part of words.
_ARABIC_MARKS = "\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed"
# A proclitic cut off by tatweel (بـأبوظبي, وبـالرقة) is a word of its own, as the guidelines say.
_PROCLITIC_TATWEEL = r"[وفبلك]{1,2}\u0640+(?=\w)"
WORD_RE = re.compile(rf"{_PROCLITIC_TATWEEL}|[\w{_ARABIC_MARKS}]+|\S")
_WORD_CHAR_RE = re.compile(rf"[\w{_ARABIC_MARKS}]")
_TASHKEEL_RE = re.compile(f"[{_ARABIC_MARKS}]")
TATWEEL = "\u0640"
_EASTERN_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?؟])\s+|\n+")


class Word(NamedTuple):
    text: str
    start: int
    end: int


def split_words(text: str) -> list[Word]:
    """Split ``text`` into words with their code-point offsets (``text[start:end] == word``)."""
    return [Word(m.group(), m.start(), m.end()) for m in WORD_RE.finditer(text)]


def is_word_char(char: str) -> bool:
    """True for letters, digits, tatweel and diacritics; False for spaces and punctuation."""
    return bool(_WORD_CHAR_RE.fullmatch(char))


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence ``(start, end)`` offsets: lines, and sentence-final punctuation plus space."""
    spans, start = [], 0
    for m in _SENTENCE_END_RE.finditer(text):
        if text[start : m.start()].strip():
            spans.append((start, m.start()))
        start = m.end()
    if text[start:].strip():
        spans.append((start, len(text)))
    return spans


def strip_marks(text: str) -> str:
    """``text`` without tashkeel (and other Arabic combining marks) and without tatweel."""
    return _TASHKEEL_RE.sub("", text).replace(TATWEEL, "")


def western_digits(text: str) -> str:
    """Eastern Arabic and Persian digits replaced by Western ones (``٤٩`` -> ``49``)."""
    return text.translate(_EASTERN_DIGITS)


def normalize_arabert(word: str) -> str:
    """AraBERT v0.2 preprocessing of one word: no tashkeel/tatweel, Western digits, '/' -> '-'.

    (Spaces around punctuation are already given: the word splitter makes punctuation its
    own word.) Returns the word unchanged if normalisation would leave nothing.
    """
    out = western_digits(strip_marks(word))
    out = out.replace("/", "-")
    return out or word


# Arabic presentation forms (ligatures such as ﻻ, and contextual letter shapes from PDFs).
_PRESENTATION_RE = re.compile("[\ufb50-\ufdff\ufe70-\ufeff]")
# Every quote style news uses becomes the plain double quote; the Latin comma the Arabic one.
_QUOTES_AND_COMMA = str.maketrans({"«": '"', "»": '"', "“": '"', "”": '"', "„": '"', "‟": '"', "'": '"',
                                   "‘": '"', "’": '"', "‹": '"', "›": '"', ",": "،"})


def normalize_surface(word: str) -> str:
    """One word with only its surface form made canonical: presentation forms unfolded
    (``ﻻ`` -> ``لا``), no tashkeel or tatweel, Western digits, one quote style, the Arabic comma.

    Letters are left as written (hamza, alef maqsura and taa marbuta variants are not folded:
    that would change words the encoder knows). Returns the word unchanged if nothing would remain.
    """
    out = _PRESENTATION_RE.sub(lambda m: unicodedata.normalize("NFKC", m.group()), word)
    out = western_digits(strip_marks(out)).translate(_QUOTES_AND_COMMA)
    return out or word


NORMALIZERS = {"none": lambda word: word, "arabert": normalize_arabert, "surface": normalize_surface}
