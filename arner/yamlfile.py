"""YAML files (label schema, training configs, alias table) read into pydantic models,
with one-line errors that name the file and the offending key."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from arner.errors import InputError


def load_yaml(path: str | Path, model: type[BaseModel], what: str, empty=None):
    """Parse ``path`` and validate it as ``model``; ``what`` names the file's role in errors."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: {what} not found") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: invalid YAML: {' '.join(str(exc).split())}") from None
    try:
        return model.model_validate(empty if raw is None and empty is not None else raw)
    except ValidationError as exc:
        errors = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'top level'}: {e['msg']}" for e in exc.errors())
        raise InputError(f"{path}: invalid {what}: {errors}") from None
