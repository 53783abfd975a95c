"""The model server as the project's ML backend (``make label [MODEL=...]``): start it in the
background beside Label Studio when a model is named, and connect it to the project so that a task
opened by an annotator gets the model's spans (scores, model version) with no batch step.

Label Studio blocks ML backends on local addresses unless started with ``ML_BLOCK_LOCAL_IP=false``
(``start_server`` sets it: both servers listen on 127.0.0.1 only).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

from arner.errors import InputError

DEFAULT_BACKEND_URL = "http://127.0.0.1:9090"
PID_FILE, LOG_FILE = "backend.pid", "backend.log"


def backend_health(url: str, timeout: float = 2.0) -> dict | None:
    """The ``/health`` answer of an arner model server at ``url``, or None."""
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as response:
            answer = json.loads(response.read())
    except (OSError, ValueError):
        return None
    return answer if isinstance(answer, dict) and answer.get("model_class") == "arner.Tagger" else None


def start_backend(model: Path, url: str, data_dir: Path, wait: float = 300.0) -> dict:
    """Serve ``model`` at ``url`` (127.0.0.1) in the background unless it is served there already;
    the process id goes to ``data_dir/backend.pid`` (``make label-stop`` stops it), its log beside it."""
    from arner.snapshot import read_snapshot

    version = read_snapshot(model).version
    running = backend_health(url)
    if running:
        if running["model_version"] != version:
            raise InputError(f"{url} already serves {running['model_version']}, not {model} ({version}); "
                             "stop it first (make label-stop, or end your `make serve`)")
        return running
    parsed = urlparse(url)
    if parsed.hostname not in ("127.0.0.1", "localhost"):
        raise InputError(f"{url}: only a local model server (127.0.0.1) can be started here")
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    log = (data_dir / LOG_FILE).open("ab")
    process = subprocess.Popen([sys.executable, "-m", "arner.cli", "serve", str(model), "--host", "127.0.0.1",
                                "--port", str(parsed.port or 80)], stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    (data_dir / PID_FILE).write_text(f"{process.pid}\n")
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        answer = backend_health(url)
        if answer:
            return answer
        if process.poll() is not None:
            (data_dir / PID_FILE).unlink(missing_ok=True)
            raise InputError(f"the model server for {model} exited with code {process.returncode}; see {data_dir / LOG_FILE}")
        time.sleep(0.5)
    os.killpg(process.pid, 15)
    raise InputError(f"the model server for {model} did not answer {url}/health within {wait:.0f} s; see {data_dir / LOG_FILE}")


def connect_backend(client, project: int, url: str) -> tuple[str, str]:
    """Make the model server at ``url`` the project's ML backend and its model version the one shown;
    returns ``(model version, "connected" | "updated")``."""
    from label_studio_sdk.core.api_error import ApiError

    answer = backend_health(url)
    if answer is None:
        raise InputError(f"no arner model server answers at {url}; start one with `make serve MODEL=models/<name>` "
                         "or `make label MODEL=models/<name>`")
    version = answer["model_version"]
    existing = list(client.ml.list(project=project))
    # Titled by the model version: Label Studio accepts a project model version only when a backend has it as title,
    # and shows annotators the predictions of the project's model version.
    try:
        if existing:
            client.ml.update(id=existing[0].id, project=project, url=url, title=version, is_interactive=False,
                             auto_update=True)  # project too: Label Studio 1.23 fails a PATCH without it
            done = "updated"
        else:
            client.ml.create(project=project, url=url, title=version, is_interactive=False, auto_update=True)
            done = "connected"
    except ApiError as exc:
        reason = " ".join(str(exc.body).split())[:300]
        hint = ("; a Label Studio started by an earlier version of `make label` blocks local addresses: "
                "`make label-stop && make label`") if exc.status_code == 403 else ""
        raise InputError(f"Label Studio refused the ML backend {url} (HTTP {exc.status_code}): {reason}{hint}") from None
    if client.projects.get(id=project).model_version != version:
        client.projects.update(id=project, model_version=version, show_collab_predictions=True)
    return version, done
