"""Canonical armed-group names from the alias table ``configs/aliases.yaml``.

The table maps a canonical name to the surface forms that mean the same group
(``داعش: [تنظيم الدولة, الدولة الإسلامية, ISIS, ...]``), written as ``normalized_form``
gives them (no proclitic, no tashkeel or tatweel). Lookups also fold alef forms, alef
maqsura and final ta marbuta/ha (``انصار الله`` = ``أنصار الله``, ``البيشمركه`` = ``البيشمركة``)
and ignore case for Latin names. ``canonical_name`` returns the canonical name, or the
normalized form itself when the table does not know it; ``unmapped_forms`` lists the
frequent unknown forms for analysts to add (``make aliases``).
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

from pydantic import RootModel

from arner.errors import InputError
from arner.yamlfile import load_yaml

DEFAULT_ALIASES_PATH = Path(__file__).resolve().parent.parent / "configs" / "aliases.yaml"


class AliasTable(RootModel[dict[str, list[str]]]):
    pass


def alias_key(name: str) -> str:
    """Lookup key: folded alef/ya/ta marbuta, single spaces, lower-case Latin."""
    name = re.sub("[أإآٱ]", "ا", " ".join(name.split())).replace("ى", "ي")
    return re.sub("ة(?=\\s|$)", "ه", name).lower()


def load_aliases(path: str | Path = DEFAULT_ALIASES_PATH) -> dict[str, list[str]]:
    """Read and check the table: canonical -> aliases; an alias under two names is an error."""
    path = Path(path)
    table = load_yaml(path, AliasTable, "alias table", empty={}).root
    owner: dict[str, str] = {}
    for canonical, aliases in table.items():
        for name in [canonical, *aliases]:
            key = alias_key(name)
            if owner.setdefault(key, canonical) != canonical:
                raise InputError(f"{path}: {name!r} is listed under both {owner[key]!r} and {canonical!r}")
    return table


@lru_cache(maxsize=8)
def _lookup(path: str) -> dict[str, str]:
    table = load_aliases(path)
    return {alias_key(name): canonical for canonical, aliases in table.items() for name in [canonical, *aliases]}


def canonical_name(normalized: str, path: str | Path = DEFAULT_ALIASES_PATH) -> str:
    """The canonical name of a normalized ARMED_GROUP form; unknown forms are returned as they are."""
    return _lookup(str(path)).get(alias_key(normalized), normalized)


def unmapped_forms(docs, top: int | None = 30, path: str | Path = DEFAULT_ALIASES_PATH) -> list[tuple[str, int]]:
    """The most frequent normalized ARMED_GROUP forms of ``docs`` that the alias table does not know."""
    from arner.normalize import normalized_form

    lookup = _lookup(str(path))
    counts = Counter()
    for doc in docs:
        for ent in doc.entities:
            if ent.label == "ARMED_GROUP":
                form = normalized_form(doc.text[ent.start:ent.end])
                if alias_key(form) not in lookup:
                    counts[form] += 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ranked[:top] if top else ranked
