"""Guards on what reaches the Label Studio client from outside: the server URL (http or https,
never credentials in it, which would be echoed in every message naming the server) and export
files (a JSON list of tasks, not any JSON)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from arner.errors import InputError


def checked_url(url: str) -> str:
    """``url`` if it is an http(s) URL without user or password; else InputError (credentials masked)."""
    parsed = urlparse(url)
    if "@" in parsed.netloc:
        masked = parsed._replace(netloc="***@" + parsed.netloc.rsplit("@", 1)[1]).geturl()
        raise InputError(f"LABEL_STUDIO_URL {masked}: holds credentials; remove them from the URL "
                         "(the API token goes in LABEL_STUDIO_API_KEY, in the environment or .env)")
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise InputError(f"LABEL_STUDIO_URL {url}: expected an http:// or https:// URL")
    return url


def require_task_list(path: Path) -> None:
    """InputError unless the export file holds a JSON list (its first token), read without loading it."""
    import ijson

    with path.open("rb") as f:
        first = next(ijson.parse(f), (None, None, None))[1]
    if first != "start_array":
        kind = {"start_map": "an object", None: "nothing"}.get(first, "a single value")
        raise InputError(f"{path}: not a Label Studio JSON export: expected a list of tasks, got {kind}")
