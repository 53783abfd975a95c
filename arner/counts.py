"""COUNT values: ``parse_count("أكثر من 40 غارة")`` -> value 40, at_least, unit ``غارة``.

Conflict analysts want the number, how sure it is and what is counted, not the string.
``parse_count`` reads one COUNT span (as annotated: number expression plus the first counted
noun, or a noun plus a numeral after it, or a dual noun) and returns a ``CountValue``:

``value``
    an integer, or ``None`` when the span gives a range or cannot be read.
``range``
    ``(low, high)`` for ``ما بين 300 و400 مقاتل``, ``بين خمسة وعشرة عناصر``, ``أربعة أو خمسة جنود``,
    ``300-400``; else ``None``.
``qualifier``
    ``exact``; ``at_least`` (``أكثر من``, ``ما لا يقل عن``, ``ما يزيد على``, a trailing
    ``على الأقل``: "more than 40" is recorded as at_least 40, the number the source gives);
    ``at_most`` (``أقل من``, ``ما لا يزيد على``, ``ما يصل إلى``, ``حتى``); ``about`` (``نحو``,
    ``حوالي``, ``قرابة``, ``زهاء``, ``ما يقارب``, ``ما يناهز``, and every range: the true number
    lies between the bounds); ``vague`` (``عشرات``, ``مئات``, ``آلاف``, ``ملايين``, ``بضعة``).
``unit``
    the counted noun as written (tashkeel, tatweel, quotes and the span's leading proclitic
    removed), ``None`` for a number alone (``ثلاثة``, ``أكثر من 100``).
``unit_singular``
    its indefinite singular where a reliable rule or the table below tells, else ``None``.

Conventions
-----------
* Digits: Western and Eastern (``٤٩``); thousands separators ``1,200`` / ``١٬٢٠٠`` (a comma
  followed by exactly three digits); decimals ``1.5`` / ``1,5`` / ``٢٫٩`` are only whole with a
  multiplier (``1,5 مليون`` -> 1500000); a decimal that stays fractional gives ``value None``.
* Number words up to the billions, every gender and case form (ثلاثة/ثلاث/ثلاثين/ثلاثون,
  خمسا), teens (ثلاث عشرة), compounds joined by و (ثلاثة وعشرون, مئتان وخمسون, ألف ومئتان),
  hundreds in one or two words (ستمئة, ثلاث مئة), multipliers after digits or words
  (``3 آلاف``, ``80 ألفا``, ``سبعة آلاف``, ``1.5 مليون``).
* Vague plurals of tens/hundreds/thousands give ``value`` = a lower bound of two of the unit:
  ``عشرات`` 20, ``مئات`` 200, ``آلاف`` 2000, ``ملايين`` 2000000, ``عشرات الآلاف`` 20000,
  ``مئات الآلاف`` 200000 (a plural of tens is at least "some tens"; 11-19 would be written as
  a number or ``بضعة عشر``); ``بضعة``/``بضع`` gives 3. Qualifier ``vague``.
* Duals are 2: ``ثكنتين`` (unit ``ثكنتين``, singular ``ثكنة``), ``الطرفان``, construct duals
  ``محطتي``, ``طرفا``, ``طفليه``. A numeral after its noun is read from the end:
  ``مقاتلين اثنين`` -> 2 (unit ``مقاتلين`` as written, singular ``مقاتل``),
  ``المشتبه بهم الثلاثة`` -> 3, ``متهم واحد`` -> 1.
* Ignored: a leading proclitic (و ف ب ل ك, and وب ول فب: ``بأكثر من``, ``و12``, ``لآلاف``),
  quotes inside the span (``23» غارة``), the article of ``الـ 30`` / ``الـ30``, a partitive
  ``من`` after a vague word.
* ``unit_singular``: a table of plurals from the corpus (``عناصر`` -> ``عنصر``, ``قتلى`` ->
  ``قتيل`` ...), then rules chosen by the number's grammar: duals drop ين/ان (تين/تان -> ة);
  after 11-99 the noun is an accusative singular (``عنصرا`` -> ``عنصر``); after 100, 1000,
  ``ألف``/``مليون`` it is already singular; after 3-10 and vague words it is plural and only
  sound plurals of nisba words and participles (``مدنيين`` -> ``مدني``, ``مسلحين`` -> ``مسلح``)
  and ``-يات`` (``آليات`` -> ``آلية``) are reduced; anything else is ``None``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from arner.count_words import (APPROXIMATORS, DUAL_MULTIPLES, HUNDREDS, MULTIPLIERS, PLURALS, RANGE_SEPARATORS, SINGULAR_OF,
                                TEEN_WORDS, TENS, TRAILING, UNITS, VAGUE, fold)
from arner.text import strip_marks, western_digits

QUALIFIERS = ("exact", "at_least", "at_most", "about", "vague")


@dataclass(frozen=True)
class CountValue:
    value: int | None
    range: tuple[int, int] | None
    qualifier: str
    unit: str | None
    unit_singular: str | None

    def as_dict(self) -> dict:
        """JSON-ready fields (``range`` as a list)."""
        return {"value": self.value, "range": list(self.range) if self.range else None,
                "qualifier": self.qualifier, "unit": self.unit, "unit_singular": self.unit_singular}


# ---------------------------------------------------------------- words (tables in arner.count_words)

_DIGITS_RE = re.compile(r"^\d+(?:[.,]\d+)*$")
_QUOTES_RE = re.compile(r"[«»\"“”„‘’'()\[\]{}:;!?؟]|[،,](?!\d)|(?<!\d)[،,]")  # not 1,200
_PROCLITICS = ("وب", "ول", "فب", "فل", "وك", "و", "ف", "ب", "ل", "ك")
_PRONOUN_RE = re.compile(r"(?<=[اي])(?:ه|ها|هم|هما)$")


def _is_number_word(word: str) -> bool:
    w = fold(word)
    return (w in UNITS or w in TENS or w in HUNDREDS or w in DUAL_MULTIPLES or w in VAGUE
            or bool(_DIGITS_RE.match(w)) or bool(re.match(r"^ال\d", w)) or bool(re.match(r"^\d+-\d+$", w)))


_STARTERS = {phrase[0] for phrase, _ in APPROXIMATORS}


def _recognized_start(word: str) -> bool:
    return _is_number_word(word) or fold(word) in _STARTERS or fold(word) in MULTIPLIERS


# ---------------------------------------------------------------- plurals -> singulars

def _strip_article(word: str) -> str:
    return word[2:] if word.startswith("ال") and len(word) > 4 else word


def _dual_singular(word: str) -> str | None:
    w = _PRONOUN_RE.sub("", word)
    # تين/تان/تي/تا -> ة only when three letters stay (ثكنتين -> ثكنة, but بيتين -> بيت)
    for end, repl in (("تين", "ة"), ("تان", "ة"), ("ين", ""), ("ان", ""), ("تي", "ة"), ("تا", "ة"), ("ي", ""), ("ا", "")):
        if w.endswith(end) and len(w) - len(end) >= (3 if repl else 2):
            return w[: -len(end)] + repl
    return None


def unit_singular(unit: str | None, grammar: str) -> str | None:
    """Indefinite singular of ``unit`` given the number's grammar (dual, plural, accusative, singular)."""
    if not unit:
        return None
    bare = " ".join([_strip_article(unit.split()[0])] + unit.split()[1:])
    if fold(bare) in SINGULAR_OF:
        return SINGULAR_OF[fold(bare)]
    if " " in bare:
        return None
    if grammar == "dual":
        return _dual_singular(bare)
    if grammar == "accusative":
        return bare[:-1] if bare.endswith("ا") and len(bare) > 3 else bare
    if grammar == "singular":
        return bare
    if grammar == "plural":
        if re.search(r"يي[نن]$|يون$", bare) or (bare.startswith("م") and re.search(r"(ين|ون)$", bare) and len(bare) > 4):
            return bare[:-2]
        if bare.endswith("يات") and len(bare) > 4:
            return bare[:-2] + "ة"
    return None


def _grammar(n: int | float | None, ends_with_multiplier: bool) -> str:
    """Which form the counted noun takes after ``n``."""
    if ends_with_multiplier or n is None:
        return "singular"
    n = int(n)
    if n == 2:
        return "dual"
    if 3 <= n % 100 <= 10 and n != 0:
        return "plural"
    if 11 <= n % 100 <= 99:
        return "accusative"
    return "singular"


# ---------------------------------------------------------------- parsing

def _tokens(span: str) -> list[str]:
    text = western_digits(strip_marks(span)).replace("٬", ",").replace("٫", ".")
    text = _QUOTES_RE.sub(" ", text)
    text = re.sub(r"(?<=\d)\s*-\s*(?=\d)", "-", text)
    text = re.sub(r"^(ال)(?=\d)|(?<=\s)(ال)(?=\d)", "", text)  # الـ30 -> 30
    return [t for t in text.split() if t != "ال"]


def _digits_value(token: str) -> float | None:
    if "," in token and all(len(g) == 3 for g in token.split(",")[1:]) and "." not in token:
        return int(token.replace(",", ""))
    if token.count(",") + token.count(".") == 1:
        return float(token.replace(",", "."))
    if token.isdigit():
        return int(token)
    return None


def _parse_number(tokens: list[str], i: int) -> tuple[float | None, int, bool]:
    """One number from ``tokens[i]``: (value, index after it, ends with a multiplier word)."""
    total, current, last_part, started, mult_end = 0, 0.0, None, False, False
    j = i
    while j < len(tokens):
        raw = fold(tokens[j])
        word = raw
        if started and raw.startswith("و") and len(raw) > 1:
            word = raw[1:]
            value = UNITS.get(word) or TENS.get(word) or HUNDREDS.get(word)
            if value is None:
                break
            smallest = 1000 if current == 0 and total else (100 if current and current % 100 == 0 else None)
            additive = (last_part is not None and last_part < 10 and word in TENS) or (smallest and value < smallest)
            if not additive:
                break
        elif started and raw in TEEN_WORDS and last_part is not None and last_part < 10:
            current += 10
            last_part = 10 + last_part
            j += 1
            continue
        if _DIGITS_RE.match(word):
            if started:
                break
            value = _digits_value(word)
            if value is None:
                break
            current, last_part, started = value, value, True
        elif word in UNITS and (not started or raw != word):
            current += UNITS[word]
            last_part, started = UNITS[word], True
        elif word in TENS:
            current += TENS[word]
            last_part, started = TENS[word], True
        elif word == fold("مئة") or word in (fold("مائة"), fold("ماية")):
            current = current * 100 if 0 < current < 10 else current + 100
            last_part, started = 100, True
            mult_end = True
            j += 1
            continue
        elif word in HUNDREDS:
            current += HUNDREDS[word]
            last_part, started = HUNDREDS[word], True
            mult_end = True
            j += 1
            continue
        elif word in MULTIPLIERS and started:
            total += (current or 1) * MULTIPLIERS[word]
            current, last_part, mult_end = 0, None, True
            j += 1
            continue
        elif word in DUAL_MULTIPLES and not started:
            total += DUAL_MULTIPLES[word]
            current, last_part, started, mult_end = 0, None, True, True
            j += 1
            continue
        elif word in MULTIPLIERS and word not in VAGUE:  # ألف جندي, مليون شخص
            total += MULTIPLIERS[word]
            started, mult_end = True, True
            j += 1
            continue
        else:
            break
        mult_end = False
        j += 1
    if not started:
        return None, i, False
    return total + current, j, mult_end


def _whole(value: float | None) -> int | None:
    if value is None or value != int(value):
        return None
    return int(value)


def _strip_span_proclitic(tokens: list[str]) -> list[str]:
    """Drop a proclitic glued to the first word when the rest starts a number (بأكثر, و12, لآلاف)."""
    if len(tokens) > 1 and tokens[0] in _PROCLITICS:  # cut off by tatweel or a space: لـ 220 شخصا
        tokens = tokens[1:]
    if not tokens or _recognized_start(tokens[0]):
        return tokens
    for p in _PROCLITICS:
        rest = tokens[0][len(p):]
        if tokens[0].startswith(p) and rest and _recognized_start(rest):
            return [rest] + tokens[1:]
    return tokens


# nouns that begin with a proclitic letter (kept whole when a count starts with them)
_PROCLITIC_NOUNS = {fold(w) for w in (
    "وزارة", "ولاية", "وحدة", "وكالة", "وثيقة", "واقعة", "وزير", "ولد", "بلدة", "بندقية", "بناية", "باخرة",
    "بارجة", "بئر", "برج", "بيت", "بحار", "برميل", "باص", "بوابة", "لواء", "لغم", "لاجئ", "لجنة", "فرقة",
    "فوج", "فصيل", "فندق", "فرد", "فتاة", "كتيبة", "كمين", "كهف", "كنيسة", "كلية")}
_COUNT_NOUNS = {fold(w) for w in PLURALS.values()} | {fold(w) for w in (
    "زورق", "مدفع", "مصنع", "مضافة", "مرافق", "جندي", "مدني", "عنصر", "طفل", "شاحنة", "عربة", "صاروخ",
    "مخزن", "مقاتل", "مسلح", "متهم", "مختطف", "مشتبه", "انتحاري", "سوداني", "متطوع", "مستشفى", "منزل")}


def _noun_first_tokens(tokens: list[str]) -> list[str]:
    """A noun-first count (``وجنديين اثنين``, ``وعربتين``): drop ``و``/``ب``... only when the noun is known."""
    first = tokens[0]

    def known(word: str) -> bool:
        forms = {word, _PRONOUN_RE.sub("", word), re.sub(r"(ها|هم|هما|ه)$", "", word)}
        return any(c and fold(c) in _COUNT_NOUNS | _PROCLITIC_NOUNS
                   for w in forms for c in (w, _dual_singular(w), unit_singular(w, "plural"), SINGULAR_OF.get(fold(w))))

    if known(first):
        return tokens
    for p in ("وب", "و", "ب", "ل", "ف"):
        if first.startswith(p) and len(first) - len(p) >= 3 and known(first[len(p):]):
            return [first[len(p):]] + tokens[1:]
    return tokens


def _noun_first(tokens: list[str], qualifier: str) -> CountValue:
    tokens = _noun_first_tokens(tokens)
    last = fold(tokens[-1])
    numeral = last[2:] if last.startswith("ال") and last[2:] in UNITS else last
    if len(tokens) >= 2 and numeral in UNITS:
        n = UNITS[numeral]
        unit = " ".join(tokens[:-1])
        grammar = "dual" if n == 2 else "plural" if n > 2 else ("accusative" if unit.endswith("ا") else "singular")
        return CountValue(n, None, qualifier, unit, unit_singular(unit, grammar))
    if len(tokens) == 1 and _dual_singular(_strip_article(tokens[0])):
        return CountValue(2, None, qualifier, tokens[0], unit_singular(tokens[0], "dual"))
    return CountValue(None, None, qualifier, " ".join(tokens) or None, None)


def count_normalized(span_text: str) -> str:
    """The span without tashkeel, tatweel and the leading proclitic ``parse_count`` ignores."""
    text = strip_marks(span_text).strip()
    tokens = _tokens(span_text)
    if not tokens:
        return text
    if len(tokens) > 1 and tokens[0] in _PROCLITICS and text.startswith(tokens[0]):
        text, tokens = text[len(tokens[0]):].lstrip(), tokens[1:]
    first = _strip_span_proclitic(tokens)[0]
    if first == tokens[0] and not _recognized_start(first):
        first = _noun_first_tokens(tokens)[0]
    cut = len(tokens[0]) - len(first)
    return text[cut:] if 0 < cut and text[:cut] == tokens[0][:cut] else text


def parse_count(span_text: str) -> CountValue:
    """Read a COUNT span: value or range, qualifier, unit as written and its singular."""
    tokens = _strip_span_proclitic(_tokens(span_text))
    qualifier, range_mode = "exact", False
    for phrase, q in TRAILING:
        if len(tokens) > len(phrase) and tuple(fold(t) for t in tokens[-len(phrase):]) == phrase:
            tokens, qualifier = tokens[: -len(phrase)], q
    i = 0
    for phrase, q in APPROXIMATORS:
        if tuple(fold(t) for t in tokens[: len(phrase)]) == phrase and len(tokens) > len(phrase):
            if q.startswith("range"):
                if not _is_number_word(tokens[len(phrase)]):
                    continue
                range_mode = True
            else:
                qualifier = q
            i = len(phrase)
            break
    if not tokens[i:]:
        return CountValue(None, None, qualifier, None, None)
    head = fold(tokens[i])
    if head in VAGUE:
        value, j = VAGUE[head], i + 1
        scale = {fold("آلاف"): 1000, fold("الآلاف"): 1000, fold("ملايين"): 10**6, fold("الملايين"): 10**6}
        if j < len(tokens) and fold(tokens[j]) in scale and head not in scale:
            value *= scale[fold(tokens[j])]
            j += 1
        if j < len(tokens) and tokens[j] == "من" and j + 1 < len(tokens):
            j += 1
        unit = " ".join(tokens[j:]) or None
        return CountValue(value, None, "vague", unit, unit_singular(unit, "plural"))
    if re.match(r"^\d+-\d+$", head):
        low, high = (int(x) for x in head.split("-"))
        unit = " ".join(tokens[i + 1:]) or None
        return CountValue(None, (low, high), "about", unit, unit_singular(unit, _grammar(high, False)))
    value, j, mult_end = _parse_number(tokens, i)
    if value is None:
        return _noun_first(tokens, qualifier)
    high = None
    if j < len(tokens):
        sep = fold(tokens[j])
        if sep in RANGE_SEPARATORS and j + 1 < len(tokens) and (range_mode or sep != "و"):
            high, k, high_mult = _parse_number(tokens, j + 1)
        elif range_mode and sep.startswith("و") and _is_number_word(sep[1:]):
            high, k, high_mult = _parse_number([tokens[j][1:]] + tokens[j + 1:], 0)
            k += j
        if high is not None:
            j, mult_end = k, high_mult
    unit = " ".join(tokens[j:]) or None
    if high is not None:
        low_i, high_i = _whole(value), _whole(high)
        if low_i is not None and high_i is not None and low_i <= high_i:
            return CountValue(None, (low_i, high_i), "about" if qualifier == "exact" else qualifier,
                              unit, unit_singular(unit, _grammar(high_i, mult_end)))
    n = _whole(value)
    return CountValue(n, None, qualifier, unit, unit_singular(unit, _grammar(n, mult_end)) if n is not None else None)
