"""Label Studio, the server side: credentials (``.env``), a local server on 127.0.0.1 with its data
in a git-ignored folder, the SDK client, and the one project (labeling config generated from
``configs/labels.yaml``, overlap from ``configs/labelstudio.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse
from xml.sax.saxutils import quoteattr
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request

from pydantic import BaseModel, ConfigDict, Field

from arner.documents import atomic_write
from arner.errors import InputError
from arner.labelstudio.guards import checked_url
from arner.schema import LabelSchema
from arner.yamlfile import load_yaml

DEFAULT_URL = "http://127.0.0.1:8080"
DEFAULT_USERNAME = "admin@arner.local"
DEFAULT_PROJECT = "Arabic conflict NER"
FROM_NAME, TO_NAME = "label", "text"

@dataclass
class Settings:
    url: str = DEFAULT_URL
    username: str = DEFAULT_USERNAME
    password: str = ""
    token: str = field(default="", repr=False)
    project: str = DEFAULT_PROJECT


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines of a ``.env`` file (comments and blank lines skipped)."""
    if not path.exists():
        return {}
    pairs = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            pairs[key.strip()] = value.strip().strip("'\"")
    return pairs


def load_settings(env_file: Path = Path(".env")) -> Settings:
    """Settings from ``LABEL_STUDIO_*`` environment variables, else ``.env``, else defaults."""
    values = {**read_env_file(env_file), **os.environ}
    return Settings(url=checked_url(values.get("LABEL_STUDIO_URL", DEFAULT_URL).rstrip("/")),
                    username=values.get("LABEL_STUDIO_USERNAME", DEFAULT_USERNAME),
                    password=values.get("LABEL_STUDIO_PASSWORD", ""),
                    token=values.get("LABEL_STUDIO_API_KEY", ""),
                    project=values.get("LABEL_STUDIO_PROJECT", DEFAULT_PROJECT))


def ensure_credentials(settings: Settings, env_file: Path = Path(".env")) -> bool:
    """Fill a missing password/token with random ones and save them to ``.env`` (mode 600).

    Returns True when credentials were created (the caller prints them, once).
    """
    if settings.password and settings.token:
        return False
    settings.password = settings.password or secrets.token_urlsafe(16)
    settings.token = settings.token or secrets.token_hex(20)
    kept = [line for line in (env_file.read_text(encoding="utf-8").splitlines() if env_file.exists() else [])
            if line.split("=", 1)[0].strip() not in {"LABEL_STUDIO_USERNAME", "LABEL_STUDIO_PASSWORD", "LABEL_STUDIO_API_KEY"}]
    lines = kept + [f"LABEL_STUDIO_USERNAME={settings.username}", f"LABEL_STUDIO_PASSWORD={settings.password}",
                    f"LABEL_STUDIO_API_KEY={settings.token}"]
    with atomic_write(env_file) as out:
        out.write("\n".join(lines) + "\n")
    env_file.chmod(0o600)
    return True


# ---------------------------------------------------------------- server

def health(url: str, timeout: float = 2.0) -> bool:
    """True when ``GET /health`` answers ``{"status": "UP"}``."""
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as response:
            return json.loads(response.read()).get("status") == "UP"
    except (OSError, ValueError):
        return False


def _local_port(url: str) -> int:
    parsed = urlparse(url)
    if parsed.hostname not in {"127.0.0.1", "localhost"}:
        raise InputError(f"{url}: only a local Label Studio (127.0.0.1) can be started here")
    return parsed.port or 80


def server_executable() -> str:
    beside = Path(sys.executable).parent / "label-studio"
    found = str(beside) if beside.exists() else shutil.which("label-studio")
    if not found:
        raise InputError("the label-studio executable is not installed; run `make setup`")
    return found


def start_server(settings: Settings, data_dir: Path, wait: float = 180.0) -> subprocess.Popen | None:
    """Start Label Studio on 127.0.0.1 with its data in ``data_dir``; reuse one already up.

    Returns the process (None when a server was already answering). Its log goes to
    ``data_dir/server.log``; the token is passed in the environment, never on the command line.
    """
    if health(settings.url):
        return None
    port = _local_port(settings.url)
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in {"HOST", "PORT", "USERNAME", "PASSWORD"}}
    env.update(LABEL_STUDIO_BASE_DATA_DIR=str(data_dir), LABEL_STUDIO_USERNAME=settings.username,
               LABEL_STUDIO_PASSWORD=settings.password, LABEL_STUDIO_USER_TOKEN=settings.token,
               LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN="true", LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK="true",
               LATEST_VERSION_CHECK="false", COLLECT_ANALYTICS="false", SENTRY_DSN="", FRONTEND_SENTRY_DSN="",
               # The model server (ML backend, labelstudio/backend.py) listens on 127.0.0.1 too: Label Studio must
               # reach it (ML_BLOCK_LOCAL_IP) and its /webhook, which it adds with the backend (SSRF_PROTECTION_ENABLED
               # also guards URL imports and storages; this server only listens on 127.0.0.1 itself).
               ML_BLOCK_LOCAL_IP="false", SSRF_PROTECTION_ENABLED="false")
    log = (data_dir / "server.log").open("ab")
    process = subprocess.Popen([server_executable(), "start", "--no-browser", "--internal-host", "127.0.0.1",
                                "--port", str(port)],
                               env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               start_new_session=True)
    (data_dir / "server.pid").write_text(f"{process.pid}\n")
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if health(settings.url):
            return process
        if process.poll() is not None:
            raise InputError(f"Label Studio exited with code {process.returncode}; see {data_dir / 'server.log'}")
        time.sleep(1)
    stop_server(data_dir)
    raise InputError(f"Label Studio did not answer {settings.url}/health within {wait:.0f} s; see {data_dir / 'server.log'}")


def stop_server(data_dir: Path, pid_name: str = "server.pid") -> bool:
    """Stop the server started with ``data_dir`` (its process group; ``pid_name="backend.pid"``: the model
    server that `make label MODEL=...` started); False if none was running."""
    pid_file = Path(data_dir) / pid_name
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text())
    pid_file.unlink()
    try:
        os.killpg(pid, 15)
    except ProcessLookupError:
        return False
    for _ in range(100):
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    os.killpg(pid, 9)
    return True


# ---------------------------------------------------------------- client and project

def connect(settings: Settings):
    """An SDK client, after checking that the server answers and accepts the token."""
    from label_studio_sdk import LabelStudio
    from label_studio_sdk.core.api_error import ApiError

    if not health(settings.url):
        raise InputError(f"Label Studio is not reachable at {settings.url}; start it with `make label`")
    if not settings.token:
        raise InputError("no API token: set LABEL_STUDIO_API_KEY or run `make label` to create one in .env")
    client = LabelStudio(base_url=settings.url, api_key=settings.token, timeout=120)
    try:
        client.users.whoami()
    except ApiError as exc:
        if exc.status_code in (401, 403):
            raise InputError(f"Label Studio at {settings.url} rejected the API token (HTTP {exc.status_code}); "
                             "check LABEL_STUDIO_API_KEY in the environment or .env") from None
        raise
    return client


def label_config(schema: LabelSchema) -> str:
    """The labeling config generated from the schema: word-granular spans, right-to-left text."""
    labels = "\n".join(
        f"    <Label value={quoteattr(spec.name)} background={quoteattr(spec.colour)}"
        + (f" hotkey={quoteattr(spec.hotkey)}" if spec.hotkey else "")
        + f" hint={quoteattr(spec.description)}/>"
        for spec in schema.labels)
    return (f'<View>\n  <Labels name="{FROM_NAME}" toName="{TO_NAME}">\n{labels}\n  </Labels>\n'
            f'  <View style="direction: rtl; text-align: right">\n'
            f'    <Text name="{TO_NAME}" value="$text" granularity="word"/>\n  </View>\n</View>')


def find_project(client, title: str):
    matches = [p for p in client.projects.list() if p.title == title]
    if len(matches) > 1:
        raise InputError(f"{len(matches)} Label Studio projects are titled {title!r}; rename all but one")
    return matches[0] if matches else None


class ProjectSettings(BaseModel):
    """``configs/labelstudio.yaml``: how many annotators label the overlapping share of tasks."""

    model_config = ConfigDict(extra="forbid")
    annotators_per_task: int = Field(1, ge=1, le=10)
    overlap_percent: int = Field(0, ge=0, le=100)
    overlap_first: bool = False

    def fields(self) -> dict:
        """The Label Studio project fields these settings set."""
        return {"maximum_annotations": self.annotators_per_task, "overlap_cohort_percentage": self.overlap_percent,
                "show_overlap_first": self.overlap_first}


def load_project_settings(path: Path) -> ProjectSettings:
    return load_yaml(path, ProjectSettings, "Label Studio settings", empty={})


def ensure_project(client, title: str, schema: LabelSchema,
                   settings: ProjectSettings | None = None) -> tuple[int, str]:
    """The project's id and what was done: ``created``, ``updated`` (config or overlap changed) or ``unchanged``."""
    config, fields = label_config(schema), (settings or ProjectSettings()).fields()
    project = find_project(client, title)
    if project is None:
        return client.projects.create(title=title, label_config=config, **fields).id, "created"
    if project.label_config == config and all(getattr(project, k) == v for k, v in fields.items()):
        return project.id, "unchanged"
    client.projects.update(id=project.id, label_config=config, **fields)
    return project.id, "updated"


def project_id(client, title: str) -> int:
    project = find_project(client, title)
    if project is None:
        raise InputError(f"no Label Studio project titled {title!r}; create it with `make label`")
    return project.id


