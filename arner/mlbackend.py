"""Label Studio's ML backend protocol, without the web layer: what ``/setup``, ``/predict`` and
``/webhook`` accept and answer (as Label Studio 1.23's ``ml/api_connector.py`` sends and reads them).

- ``/setup`` ``{"project": "<id>.<created>", "schema": "<labeling config>", ...}``: the config must
  have a ``<Labels>`` tag with every label of the model, pointing at a ``<Text>`` tag; its names and
  the task data key (``value="$text"``) are remembered for the project. Answers ``{"model_version"}``.
- ``/predict`` ``{"tasks": [{"id", "data": {...}}], "project": ..., ...}``: one prediction per task,
  in order (``arner.labelstudio.tasks.prediction``: spans with scores, mean score, model version).
  A project that was never set up is refused (Label Studio calls ``/setup`` before predicting).
- ``/webhook`` ``{"action": ..., ...}``: events are counted per action; retraining on new
  annotations is not implemented here.

Every problem raises ``ClientError`` with a status and one line naming the request and the field.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass


class ClientError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Target:
    from_name: str
    to_name: str
    data_key: str


def read_target(config: object, labels: list[str], where: str) -> Target:
    """The ``<Labels>``/``<Text>`` pair of a labeling config that can hold every one of ``labels``."""
    if not isinstance(config, str) or not config.strip():
        raise ClientError(400, f"{where}: expected the labeling config as a non-empty string")
    try:
        root = ET.fromstring(config)
    except ET.ParseError as exc:
        raise ClientError(400, f"{where}: the labeling config is not valid XML ({exc})") from None
    texts = {t.get("name"): t.get("value", "") for t in root.iter("Text")}
    for tag in root.iter("Labels"):
        values = {label.get("value") for label in tag.iter("Label")}
        to_name = tag.get("toName")
        if set(labels) <= values and to_name in texts and texts[to_name].startswith("$") and tag.get("name"):
            return Target(tag.get("name"), to_name, texts[to_name][1:])
    raise ClientError(422, f"{where}: the labeling config has no <Labels> with all of the model's labels "
                           f"({', '.join(labels)}) on a <Text value=\"$...\">")


def setup_project(payload: object, labels: list[str], projects: dict[str, Target]) -> str:
    """Remember the project of a ``/setup`` request; returns its id."""
    if not isinstance(payload, dict):
        raise ClientError(400, "/setup: expected a JSON object with project and schema")
    project = payload.get("project")
    if not isinstance(project, (str, int)) or isinstance(project, bool) or not str(project):
        raise ClientError(400, "/setup: project is missing or not a string")
    projects[str(project)] = read_target(payload.get("schema"), labels, f"/setup project {project}")
    return str(project)


def predict_texts(payload: object, projects: dict[str, Target], max_tasks: int, max_chars: int) -> tuple[Target, list[str]]:
    """The project's target and the texts of the tasks of a ``/predict`` request, checked."""
    if not isinstance(payload, dict):
        raise ClientError(400, "/predict: expected a JSON object with tasks and project")
    project = payload.get("project")
    target = projects.get(str(project)) if isinstance(project, (str, int)) else None
    if target is None:
        raise ClientError(404, f"/predict: unknown project {project!r}: it was never set up on this backend "
                               "(connect the backend to the project in Label Studio, which calls /setup)")
    tasks = payload.get("tasks")
    if not isinstance(tasks, list) or not tasks:
        raise ClientError(400, "/predict: tasks must be a non-empty list")
    if len(tasks) > max_tasks:
        raise ClientError(413, f"/predict: {len(tasks)} tasks, over the limit of {max_tasks} per request")
    texts = []
    for i, task in enumerate(tasks):
        data = task.get("data") if isinstance(task, dict) else None
        text = data.get(target.data_key) if isinstance(data, dict) else None
        name = f"task {task.get('id')}" if isinstance(task, dict) and "id" in task else f"tasks[{i}]"
        if not isinstance(text, str):
            raise ClientError(400, f"/predict: {name} has no text in data.{target.data_key}")
        if len(text) > max_chars:
            raise ClientError(413, f"/predict: {name} has {len(text)} characters, over the limit of {max_chars}")
        texts.append(text)
    return target, texts


def predict_response(entities: list[list[dict]], target: Target, version: str) -> dict:
    from arner.labelstudio.tasks import prediction

    return {"results": [prediction(ents, version, target.from_name, target.to_name) for ents in entities]}


def webhook_event(payload: object, seen: dict[str, int]) -> dict:
    if not isinstance(payload, dict) or not isinstance(payload.get("action"), str):
        raise ClientError(400, "/webhook: expected a JSON object with an action (a Label Studio webhook event)")
    seen[payload["action"]] = seen.get(payload["action"], 0) + 1
    return {"status": "ok", "action": payload["action"], "events": dict(seen), "retraining": "not implemented"}
