"""Annotator accounts in Label Studio: sign-up through the organisation's invite link.

A user made with the SDK's ``users.create`` cannot log in (Label Studio 1.23), so an
annotator is added the way a person would join: the admin asks ``/api/invite`` for the
invite token, the annotator signs up at ``/user/signup/?token=...`` with an e-mail and a
password, and reads their own API token from ``/api/current-user/token``. The password and
token are saved to ``labelstudio-data/annotators/<email>.env`` (mode 600), never printed;
the annotator logs in with them, and scripts use the token.
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import secrets
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from arner.documents import atomic_write
from arner.errors import InputError

EMAIL_RE = re.compile(r"^[^@\s/]+@[^@\s/]+\.[^@\s/]+$")


def _admin_get(settings, path: str) -> dict:
    request = urllib.request.Request(f"{settings.url}{path}", headers={"Authorization": f"Token {settings.token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise InputError(f"Label Studio answered {path} with HTTP {exc.code}; is the admin token right?") from None


def sign_up(settings, email: str, password: str) -> str:
    """Sign ``email`` up through the invite link; returns the new user's API token."""
    if not EMAIL_RE.match(email):
        raise InputError(f"{email!r}: not an e-mail address")
    invite = _admin_get(settings, "/api/invite")["token"]
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    signup = f"{settings.url}/user/signup/?token={urllib.parse.quote(invite)}"
    opener.open(signup, timeout=30).read()
    csrf = next((c.value for c in jar if c.name == "csrftoken"), "")
    form = urllib.parse.urlencode({"csrfmiddlewaretoken": csrf, "email": email, "password": password}).encode()
    with opener.open(urllib.request.Request(signup, data=form, headers={"Referer": signup}), timeout=30) as response:
        page = response.read().decode("utf-8", "replace")
        landed = response.geturl()
    if "/user/signup" in landed:  # the form came back: Label Studio refused the sign-up
        reason = "already exists" if "already exists" in page else "sign-up refused (password under 8 characters?)"
        raise InputError(f"annotator {email}: {reason}")
    with opener.open(f"{settings.url}/api/current-user/token", timeout=30) as response:
        return json.loads(response.read())["token"]


def credentials_file(email: str, data_dir: Path) -> Path:
    return Path(data_dir) / "annotators" / f"{email}.env"


def add_annotator(settings, email: str, data_dir: Path) -> Path:
    """Create an annotator who can log in and has a token; returns the credentials file."""
    path = credentials_file(email, data_dir)
    if path.exists():
        raise InputError(f"annotator {email}: already added ({path})")
    password = secrets.token_urlsafe(12)
    token = sign_up(settings, email, password)
    with atomic_write(path) as out:
        out.write(f"LABEL_STUDIO_USERNAME={email}\nLABEL_STUDIO_PASSWORD={password}\nLABEL_STUDIO_API_KEY={token}\n")
    path.chmod(0o600)
    return path
