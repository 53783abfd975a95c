"""The model server over real HTTP (a `arner serve` process started here, on the session's tiny model):
`/tag` equals the in-process Tagger, concurrent clients are batched together and each gets exactly its
own entities, bad requests get one-line 4xx answers; and Label Studio (a real server) gets the
model's predictions through the ML backend protocol when a task is opened."""

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

from arner import labelstudio as ls
from arner.documents import load_corpus
from arner.schema import load_schema
from arner.snapshot import read_snapshot

from conftest import ROOT, free_port

LABELS = ROOT / "configs" / "labels.yaml"
LS_SETTINGS = ROOT / "configs" / "labelstudio.yaml"
LIMITS = ["--max-texts", "8", "--max-chars", "400", "--max-body", "20000", "--max-tasks", "5", "--max-wait-ms", "30"]


def request(url: str, body=None, method: str | None = None) -> tuple[int, dict]:
    data = body if isinstance(body, bytes) or body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(url, data=data, method=method or ("POST" if data is not None else "GET"))
    try:
        with urllib.request.urlopen(req, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


# fp32 on both sides: in bf16 (CPUs with AVX512-BF16 or AMX) a span's score moves in the third decimal with the
# other texts of its batch (decisions do not: the Tagger's GUARDS), and batches here differ by design.
FP32 = {**os.environ, "ARNER_NO_BF16": "1"}


def start_server(model, port: int, *extra) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "arner.cli", "serve", str(model), "--port", str(port), *extra],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=FP32)
    for _ in range(240):
        try:
            if request(f"http://127.0.0.1:{port}/health")[0] == 200:
                return process
        except OSError:
            pass
        assert process.poll() is None, process.stdout.read()
        time.sleep(0.5)
    process.kill()
    raise AssertionError("the model server did not start")


@pytest.fixture(scope="module")
def served(trained):
    _, model, _ = trained
    port = free_port()
    process = start_server(model, port, *LIMITS)
    yield f"http://127.0.0.1:{port}", model
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def texts():
    """Short gold texts (under the test server's 400-character limit), in a fixed order."""
    docs = load_corpus(str(ROOT / "annotations" / "gold"), load_schema(LABELS))
    return [d.text for d in docs if 20 <= len(d.text) <= 400][:40]


@pytest.fixture(scope="module")
def expected(served, texts):
    from arner.tagger import Tagger

    return dict(zip(texts, Tagger.load(served[1], bf16=False).tag(texts)))


def test_tag_equals_the_in_process_tagger_with_the_model_identity(served, texts, expected):
    url, model = served
    status, answer = request(f"{url}/tag", {"texts": texts[:6]})
    identity = read_snapshot(model).identity
    assert status == 200
    assert answer == {"model": {k: identity[k] for k in ("name", "version", "run", "weights_sha256")},
                      "entities": [expected[t] for t in texts[:6]]}
    assert any(answer["entities"]) and all(t[e["start"]:e["end"]] == e["text"] for t, ents in zip(texts, answer["entities"])
                                           for e in ents)
    assert request(f"{url}/tag", {"texts": []}) == (200, {"model": answer["model"], "entities": []})


def test_concurrent_clients_are_batched_and_each_gets_its_own_entities(served, texts, expected):
    url, _ = served
    before = request(f"{url}/health")[1]["batching"]
    jobs = [[texts[(c * 7 + r * 3 + k) % len(texts)] for k in range(1 + (c + r) % 3)] for c in range(16) for r in range(4)]
    answers: dict[int, tuple] = {}

    def client(c: int) -> None:
        for r in range(4):
            answers[c * 4 + r] = request(f"{url}/tag", {"texts": jobs[c * 4 + r]})

    threads = [threading.Thread(target=client, args=(c,)) for c in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answers) == 64
    for i, job in enumerate(jobs):
        assert answers[i][0] == 200 and answers[i][1]["entities"] == [expected[t] for t in job], f"request {i}"
    after = request(f"{url}/health")[1]["batching"]
    requests = after["requests"] - before["requests"]
    assert requests == 64 and after["texts"] - before["texts"] == sum(map(len, jobs))
    assert after["batches"] - before["batches"] < requests and after["largest_batch"] > 3  # requests were tagged together


LS_CONFIG = ls.label_config(load_schema(LABELS))


@pytest.mark.parametrize("path,body,status,error", [
    ("/tag", b"{\"texts\": [", 400, "/tag: request body is not valid JSON (Expecting value: line 1 column 12 (char 11))"),
    ("/tag", b"", 400, "/tag: empty request body; expected JSON"),
    ("/tag", b"\xff\xfe", 400, "/tag: request body is not valid JSON (Expecting value: line 1 column 1 (char 0))"),
    ("/tag", ["a"], 400, '/tag: expected a JSON object {"texts": [...]}'),
    ("/tag", {"texts": "a"}, 400, "/tag: texts must be a list of strings, got str"),
    ("/tag", {"texts": ["a", 3]}, 400, "/tag: texts[1] is int, expected a string"),
    ("/tag", {"texts": ["a"], "lang": "ar"}, 400, "/tag: unknown field 'lang' (the body has one field, texts)"),
    ("/tag", {"texts": ["a"] * 9}, 413, "/tag: 9 texts, over the limit of 8 per request"),
    ("/tag", {"texts": ["a", "ب" * 401]}, 413, "/tag: texts[1] has 401 characters, over the limit of 400"),
    ("/tag", b"[" + b"1," * 12000 + b"1]", 413, "/tag: request body of 24003 bytes, over the limit of 20000"),
    ("/nowhere", {"texts": []}, 404, "POST /nowhere: Not Found"),
    ("/setup", {"schema": LS_CONFIG}, 400, "/setup: project is missing or not a string"),
    ("/setup", {"project": "1.5", "schema": "<View"}, 400,
     "/setup project 1.5: the labeling config is not valid XML (unclosed token: line 1, column 0)"),
    ("/setup", {"project": "1.5", "schema": LS_CONFIG.replace('value="COUNT"', 'value="NUMBER"')}, 422,
     "/setup project 1.5: the labeling config has no <Labels> with all of the model's labels "
     "(ARMED_GROUP, LOCATION, COUNT) on a <Text value=\"$...\">"),
    ("/predict", {"tasks": [{"id": 1, "data": {"text": "x"}}], "project": "404.1"}, 404,
     "/predict: unknown project '404.1': it was never set up on this backend "
     "(connect the backend to the project in Label Studio, which calls /setup)"),
    ("/webhook", {"event": "x"}, 400, "/webhook: expected a JSON object with an action (a Label Studio webhook event)"),
])
def test_bad_requests_get_a_one_line_4xx(served, path, body, status, error):
    assert request(f"{served[0]}{path}", body) == (status, {"error": error})


def test_predict_checks_tasks_of_a_set_up_project(served):
    url, _ = served
    assert request(f"{url}/setup", {"project": "7.1", "schema": LS_CONFIG})[0] == 200
    assert request(f"{url}/predict", {"project": "7.1", "tasks": [{"id": 3, "data": {"txt": "a"}}]}) == (
        400, {"error": "/predict: task 3 has no text in data.text"})
    assert request(f"{url}/predict", {"project": "7.1", "tasks": [{"id": 1, "data": {"text": "a"}}] * 6}) == (
        413, {"error": "/predict: 6 tasks, over the limit of 5 per request"})
    assert request(f"{url}/health", method="POST")[0] == 405
    assert request(f"{url}/webhook", {"action": "ANNOTATION_CREATED"}) == (200, {
        "status": "ok", "action": "ANNOTATION_CREATED", "events": {"ANNOTATION_CREATED": 1}, "retraining": "not implemented"})


def run_ls(*args, cwd, env):
    return subprocess.run([sys.executable, "-m", "arner.cli", "ls", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=600, env=env)


def test_label_studio_shows_the_backends_predictions_when_a_task_is_opened(tmp_path, server, trained, texts, expected):
    from label_studio_sdk import LabelStudio

    _, model, _ = trained
    backend = f"http://127.0.0.1:{free_port()}"
    env = {**FP32, "LABEL_STUDIO_URL": server.url, "LABEL_STUDIO_API_KEY": server.token,
           "LABEL_STUDIO_USERNAME": server.username, "LABEL_STUDIO_PASSWORD": server.password,
           "LABEL_STUDIO_PROJECT": "backend"}
    label = ("label", "--labels", LABELS, "--project-settings", LS_SETTINGS, "--data-dir", tmp_path / "ls",
             "--backend-url", backend)
    done = run_ls(*label, "--model", model, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    client = LabelStudio(base_url=server.url, api_key=server.token)
    [project] = [p for p in client.projects.list() if p.title == "backend"]
    version = read_snapshot(model).version
    assert done.stdout == (f"Project 'backend' created: {server.url}/projects/{project.id}/data (20% of tasks for 2 annotators)\n"
                           f"ML backend {backend} ({version}) connected: a task opened in Label Studio gets its predictions\n")
    again = run_ls(*label, cwd=tmp_path, env=env)  # the server is running: connected again without --model
    assert again.stdout.splitlines()[1:] == [f"ML backend {backend} ({version}) updated: a task opened in Label Studio gets its predictions"], again.stderr
    picked = texts[:5]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps({"id": f"d{i}", "text": t}, ensure_ascii=False) + "\n"
                                              for i, t in enumerate(picked)), encoding="utf-8")
    assert run_ls("import", "a.jsonl", cwd=tmp_path, env=env).returncode == 0  # no predictions imported
    tasks = {t.data["text"]: t.id for t in client.tasks.list(project=project.id, fields="task_only")}
    assert sorted(tasks) == sorted(picked)
    assert client.projects.get(id=project.id).model_version == version
    got = {}
    for text, task_id in tasks.items():  # opening a task: Label Studio asks the backend (/setup, /predict)
        got[text] = [(p["model_version"], p["score"], p["result"]) for p in
                     json.loads(urllib.request.urlopen(urllib.request.Request(
                         f"{server.url}/api/tasks/{task_id}/", headers={"Authorization": f"Token {server.token}"}),
                         timeout=120).read())["predictions"]]
    want = {t: [(p["model_version"], p["score"], p["result"]) for p in [ls.prediction(expected[t], version)]] for t in picked}
    assert got == want
    assert any(g[0][2] for g in got.values())  # spans somewhere, each at its exact offsets
    for text, [(_, _, result)] in got.items():
        assert all(text[r["value"]["start"]:r["value"]["end"]] == r["value"]["text"] for r in result)
    stopped = run_ls("stop", "--data-dir", tmp_path / "ls", cwd=tmp_path, env=env)
    assert stopped.stdout == "stopped the model server\nno Label Studio server was started from here\n"


def readme_examples() -> dict[str, str]:
    """The README's Python examples, by the name in their ``<!-- example: NAME -->`` marker."""
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return dict(re.findall(r"<!-- example: (\w+) -->\n```python\n(.*?)```", readme, re.S))


def test_the_readme_examples_run_as_written(tmp_path, served):
    from transformers import pipeline

    from arner.tagger import Tagger

    url, model = served
    examples = readme_examples()
    assert sorted(examples) == ["http", "pipeline", "tagger"]
    text = "وشن الطيران الروسي أكثر من 40 غارة قرب جبل البشري"
    version = read_snapshot(model).version

    def run(name: str, env=None) -> str:
        code = examples[name].replace("models/offline", str(model)).replace("http://127.0.0.1:9090", url)
        done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr
        return done.stdout

    spans = lambda entities: [(e["start"], e["end"], e["label"], e["text"]) for e in entities]  # noqa: E731
    assert run("tagger") == f"{version} {spans(Tagger.load(model).tag([text])[0])}\n"
    assert run("http") == f"{version} {spans(Tagger.load(model, bf16=False).tag([text])[0])}\n"
    ner = pipeline("token-classification", model=str(model), aggregation_strategy="simple")
    assert run("pipeline") == f"{[(e['start'], e['end'], e['entity_group']) for e in ner(text)]}\n"
