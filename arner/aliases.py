"""Canonical armed-group names from the alias table ``configs/aliases.yaml``.

The table maps a canonical name to the surface forms that mean the same group
(``داعش: [تنظيم الدولة, الدولة الإسلامية, ISIS, ...]``), written as ``normalized_form``
gives them (no proclitic, no tashkeel or tatweel). Lookups also fold alef forms, alef
maqsura and final ta marbuta/ha (``انصار الله`` = ``أنصار الله``, ``البيشمركه`` = ``البيشمركة``)
and ignore case for Latin names. ``canonical_name`` returns the canonical name, or the
normalized form itself when the table does not know it (``arner.stats.unmapped_forms`` lists
the frequent unknown forms for analysts to add: ``make aliases``).
"""

from __future__ import annotations

import re
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


def lookup_of(table: dict[str, list[str]]) -> dict[str, str]:
    """Lookup key -> canonical name for a table (as ``load_aliases`` returns it, or a model snapshot's)."""
    return {alias_key(name): canonical for canonical, aliases in table.items() for name in [canonical, *aliases]}


@lru_cache(maxsize=8)
def _lookup(path: str) -> dict[str, str]:
    return lookup_of(load_aliases(path))


def canonical_name(normalized: str, path: str | Path = DEFAULT_ALIASES_PATH, lookup: dict[str, str] | None = None) -> str:
    """The canonical name of a normalized ARMED_GROUP form; unknown forms are returned as they are.
    ``lookup`` (``lookup_of(table)``, e.g. from a model snapshot) replaces the table file."""
    return (_lookup(str(path)) if lookup is None else lookup).get(alias_key(normalized), normalized)
