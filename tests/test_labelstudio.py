"""Label Studio integration against a REAL local server: project from the schema, import,
annotations through the API, pull to gold documents (exact characters: tashkeel, tatweel, emoji,
Eastern-Arabic digits, Latin), errors per task, agreement. The annotation loop on top of it
(predictions, annotators, suggest, pulled files) is tested in test_labelstudio_loop.py.

The server is started once per session on a free 127.0.0.1 port with a fresh data folder
and stopped at the end. Skipped only when the ``label-studio`` executable is missing.
"""

import json

import pytest

from arner import labelstudio as ls
from arner.documents import read_documents
from arner.text import split_words

from conftest import free_port  # the session's Label Studio server is the `server` fixture of conftest.py
from ls_helpers import (LABELS, LS_SETTINGS, T1, T2, T3, T4, T5, T6, T7, T8, client_for, env_for, results, run_ls, span,
                        write_jsonl)


# ---------------------------------------------------------------- no server needed

def test_label_config_is_generated_from_the_schema(schema):
    assert ls.label_config(schema) == (
        '<View>\n  <Labels name="label" toName="text">\n'
        f'    <Label value="ARMED_GROUP" background="#d62728" hotkey="a" hint="{schema.labels[0].description}"/>\n'
        f'    <Label value="LOCATION" background="#1f77b4" hotkey="l" hint="{schema.labels[1].description}"/>\n'
        f'    <Label value="COUNT" background="#2ca02c" hotkey="c" hint="{schema.labels[2].description}"/>\n'
        '  </Labels>\n  <View style="direction: rtl; text-align: right">\n'
        '    <Text name="text" value="$text" granularity="word"/>\n  </View>\n</View>')


def test_long_documents_split_with_offsets_kept():
    para1 = "شن الطيران الروسي غارات على البادية. " * 3 + "وقتل 5 عناصر."
    text = para1 + "\n" + "سيطرت قسد على الباغوز."
    tasks = ls.make_tasks([{"id": "d1", "text": text, "meta": {"split": "train"}}], max_chars=80)
    assert [(t["id"], t["source_start"], t["source_end"]) for t in tasks] == [
        ("d1@0", 0, 73), ("d1@74", 74, 124), ("d1@125", 125, 147)]
    for t in tasks:
        assert text[t["source_start"]:t["source_end"]] == t["text"] and t["source_id"] == "d1"
        assert t["hash"] == ls.content_hash(t["text"]) and t["meta"] == {"split": "train"}
    assert ls.make_tasks([{"id": "s", "text": T1}])[0]["id"] == "s"  # short: one task, the document's own id


def test_credentials_are_created_once_in_a_private_env_file(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("OTHER=1\n", encoding="utf-8")
    settings = ls.Settings()
    assert ls.ensure_credentials(settings, env_file) is True
    assert len(settings.token) == 40 and settings.password
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"
    assert ls.read_env_file(env_file) == {"OTHER": "1", "LABEL_STUDIO_USERNAME": "admin@arner.local",
                                          "LABEL_STUDIO_PASSWORD": settings.password,
                                          "LABEL_STUDIO_API_KEY": settings.token}
    again = ls.Settings(password=settings.password, token=settings.token)
    assert ls.ensure_credentials(again, env_file) is False


def test_choice_of_annotation_adjudicated_then_accepted_then_agreed_or_single():
    def ann(i, who, day, spans=(), **extra):
        result = [{"type": "labels", "value": {"start": a, "end": b, "labels": ["LOCATION"]}} for a, b in spans]
        return {"id": i, "completed_by": who, "updated_at": f"2026-01-0{day}T00:00:00Z", "result": result, **extra}

    gt = ann(1, 7, 1, [(0, 3)], ground_truth=True)
    newer, other_same, other_differs = ann(2, 7, 2, [(0, 3)]), ann(3, 8, 3, [(0, 3)]), ann(4, 8, 4, [(4, 6)])
    cancelled = ann(5, 9, 5, was_cancelled=True)
    accepted = ann(6, 8, 1, [(4, 6)], last_action="accepted")
    first_draft = ann(7, 7, 1)
    choose = ls.choose_annotation
    assert choose([gt, newer, other_differs, cancelled]) == (gt, "adjudicated")
    assert choose([newer, other_differs, accepted]) == (accepted, "accepted")
    assert choose([newer, other_same, cancelled]) == (other_same, "agreed")
    assert choose([newer, other_differs]) == (None, "needs adjudication")
    assert choose([first_draft, newer, cancelled]) == (newer, "single")
    assert choose([cancelled]) == (None, "skipped") and choose([]) == (None, "unannotated")


# ---------------------------------------------------------------- against the real server

def test_server_down_is_a_clear_error_and_writes_nothing(tmp_path, server):
    url = f"http://127.0.0.1:{free_port()}"
    done = run_ls("pull", "--labels", LABELS, cwd=tmp_path, env=env_for(server, "x", LABEL_STUDIO_URL=url))
    assert (done.returncode, done.stderr.strip()) == (
        2, f"error: Label Studio is not reachable at {url}; start it with `make label`")
    assert list(tmp_path.iterdir()) == []


def test_wrong_token_is_a_clear_error_and_writes_nothing(tmp_path, server):
    done = run_ls("pull", "--labels", LABELS, cwd=tmp_path, env=env_for(server, "x", LABEL_STUDIO_API_KEY="f" * 40))
    assert (done.returncode, done.stderr.strip()) == (
        2, f"error: Label Studio at {server.url} rejected the API token (HTTP 401); "
           "check LABEL_STUDIO_API_KEY in the environment or .env")
    assert server.token not in done.stdout + done.stderr
    assert list(tmp_path.iterdir()) == []


def test_label_creates_the_project_once_and_reuses_it(tmp_path, server, schema):
    env = env_for(server, "reuse")
    first = run_ls("label", "--labels", LABELS, "--project-settings", LS_SETTINGS, cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    [project] = [p for p in client_for(server).projects.list() if p.title == "reuse"]
    overlap = " (20% of tasks for 2 annotators)\n"
    assert first.stdout == f"Project 'reuse' created: {server.url}/projects/{project.id}/data" + overlap
    assert (project.maximum_annotations, project.overlap_cohort_percentage, project.show_overlap_first) == (2, 20, True)
    assert project.label_config == ls.label_config(schema)
    second = run_ls("label", "--labels", LABELS, "--project-settings", LS_SETTINGS, cwd=tmp_path, env=env)
    assert second.stdout == f"Project 'reuse' unchanged: {server.url}/projects/{project.id}/data" + overlap
    bigger = tmp_path / "labels.yaml"
    bigger.write_text(LABELS.read_text(encoding="utf-8") + '  - name: WEAPON\n    description: A weapon.\n'
                      '    colour: "#9467bd"\n', encoding="utf-8")
    third = run_ls("label", "--labels", bigger, "--project-settings", LS_SETTINGS, cwd=tmp_path, env=env)
    assert third.stdout == f"Project 'reuse' updated: {server.url}/projects/{project.id}/data" + overlap
    [project] = [p for p in client_for(server).projects.list() if p.title == "reuse"]
    assert '<Label value="WEAPON" background="#9467bd" hint="A weapon."/>' in project.label_config
    assert server.token not in first.stdout + second.stdout + third.stdout


def test_import_skips_duplicates_by_content(tmp_path, server):
    env = env_for(server, "dedup")
    assert run_ls("label", "--labels", LABELS, "--project-settings", LS_SETTINGS, cwd=tmp_path, env=env).returncode == 0
    (tmp_path / "a.txt").write_text(f"{T1}\n\n{T2}\n", encoding="utf-8")
    write_jsonl(tmp_path / "b.jsonl", [{"id": "x1", "text": T2}, {"id": "x2", "text": T3}])
    done = run_ls("import", "a.txt", cwd=tmp_path, env=env)
    assert done.stdout == "a.txt: 2 task(s), 2 imported, 0 already there\n", done.stderr
    assert run_ls("import", "a.txt", cwd=tmp_path, env=env).stdout == "a.txt: 2 task(s), 0 imported, 2 already there\n"
    assert run_ls("import", "b.jsonl", cwd=tmp_path, env=env).stdout == "b.jsonl: 2 task(s), 1 imported, 1 already there\n"
    client = client_for(server)
    project = ls.project_id(client, "dedup")
    data = sorted((t.data for t in client.tasks.list(project=project, fields="task_only")), key=lambda d: d["id"])
    assert [(d["id"], d["text"]) for d in data] == [
        (f"a-1-{ls.content_hash(T1)[:8]}", T1), (f"a-3-{ls.content_hash(T2)[:8]}", T2), ("x2", T3)]


@pytest.fixture(scope="module")
def annotated(tmp_path_factory, server):
    """A project with tasks annotated through the API, pulled once."""
    folder = tmp_path_factory.mktemp("pull")
    env = env_for(server, "round-trip")
    assert run_ls("label", "--labels", LABELS, "--project-settings", LS_SETTINGS, cwd=folder, env=env).returncode == 0
    write_jsonl(folder / "in.jsonl", [{"id": f"t{i}", "text": t, "meta": {"split": "train"} if i == 1 else {}}
                                      for i, t in enumerate([T1, T2, T3, T4, T5, T6, T7, T8], start=1)])
    assert run_ls("import", "in.jsonl", cwd=folder, env=env).returncode == 0
    client = client_for(server)
    project = ls.project_id(client, "round-trip")
    task = {t.data["id"]: t.id for t in client.tasks.list(project=project, fields="task_only")}
    admin = client.users.whoami().id
    second = annotator_client(server, folder, "second@arner.test")
    other = second.users.whoami().id
    gold = {
        "t1": [span(T1, "٤٩ عنصراً", "COUNT"), span(T1, "داعـش", "ARMED_GROUP"), span(T1, "حمص", "LOCATION")],
        "t2": [span(T2, "الطيران الروسي", "ARMED_GROUP"), span(T2, "أكثر من 40 غارة", "COUNT"),
               span(T2, "جبل البشري", "LOCATION")],
        "t3": [span(T3, "قوات سوريا الديمقراطية", "ARMED_GROUP"), span(T3, "SDF", "ARMED_GROUP"),
               span(T3, "الباغوز", "LOCATION")],
        "t6": [span(T6, "مطار كويرس", "LOCATION")],
    }
    ids = {}
    # t1: an older draft, then the latest (gold) one: the latest wins.
    client.annotations.create(id=task["t1"], result=results(T1, gold["t1"][:1]))
    ids["t1"] = client.annotations.create(id=task["t1"], result=results(T1, gold["t1"][:2])).id
    # t2: a ground-truth annotation, then a later wrong one: the ground truth wins.
    ids["t2"] = client.annotations.create(id=task["t2"], result=results(T2, gold["t2"]), ground_truth=True).id
    client.annotations.create(id=task["t2"], result=results(T2, gold["t2"][:1]))
    # t3: two annotators who disagree, then adjudicated (ground truth), plus a relation that is ignored.
    second.annotations.create(id=task["t3"], result=results(T3, [gold["t3"][0], gold["t3"][2]]))
    with_relation = results(T3, gold["t3"])
    with_relation[0]["id"], with_relation[2]["id"] = "r1", "r3"
    with_relation.append({"from_id": "r1", "to_id": "r3", "type": "relation", "direction": "right"})
    client.annotations.create(id=task["t3"], result=with_relation)
    ids["t3"] = client.annotations.create(id=task["t3"], result=with_relation, ground_truth=True).id
    # t7: two annotators who disagree, not adjudicated: left out and listed; t8: two who agree.
    client.annotations.create(id=task["t7"], result=results(T7, [span(T7, "قوات التحالف", "ARMED_GROUP")]))
    second.annotations.create(id=task["t7"], result=results(T7, [span(T7, "صعدة", "LOCATION")]))
    gold["t8"] = [span(T8, "3 جنود", "COUNT"), span(T8, "عدن", "LOCATION")]
    client.annotations.create(id=task["t8"], result=results(T8, gold["t8"]))
    ids["t8"] = second.annotations.create(id=task["t8"], result=results(T8, gold["t8"])).id
    # t4: nothing; t5: skipped; t6: one span.
    client.annotations.create(id=task["t5"], result=[], was_cancelled=True)
    ids["t6"] = client.annotations.create(id=task["t6"], result=results(T6, gold["t6"])).id
    done = run_ls("pull", "--labels", LABELS, cwd=folder, env=env)
    return {"folder": folder, "env": env, "client": client, "task": task, "ids": ids, "gold": gold, "done": done,
            "admin": admin, "other": other, "project": project}


def annotator_client(server, folder, email):
    """A second annotator added through the project's own command (invite sign-up), as an SDK client."""
    from arner.labelstudio.annotators import add_annotator

    env = ls.read_env_file(add_annotator(server, email, folder / "labelstudio-data"))
    return client_for(ls.Settings(url=server.url, token=env["LABEL_STUDIO_API_KEY"]))


def expected_doc(a, key: str, text: str, entities: list[dict], meta: dict | None = None, choice: str = "single",
                 by: str = "admin", annotators: tuple = ("admin",)) -> dict:
    return {"id": key, "text": text, "entities": entities,
            "meta": {**(meta or {}), "labelstudio": {"task": a["task"][key], "annotation": a["ids"][key],
                                                     "annotator": a[by], "choice": choice,
                                                     "annotators": sorted((a[w] for w in annotators), key=str)},
                     "piece_of": {"id": key, "start": 0}}}


def test_pull_converts_annotations_character_for_character(annotated):
    a = annotated
    assert a["done"].returncode == 0, a["done"].stdout + a["done"].stderr
    lines = a["done"].stdout.splitlines()
    [export] = (a["folder"] / "annotations" / "exports").iterdir()
    assert lines[0] == f"saved export annotations/exports/{export.name}"
    assert lines[1] == (f"task {a['task']['t7']}: annotators disagree; adjudicate it (mark the final annotation "
                        "as ground truth) and pull again")
    assert lines[2] == ("8 task(s): 5 converted (2 single annotator, 1 agreed, 2 adjudicated, 0 accepted by review), "
                        "0 error(s), 1 awaiting adjudication, 1 without annotation, 1 skipped/cancelled, "
                        "1 non-span result(s) ignored; 0 earlier document(s) kept -> annotations/realnews/labelstudio.jsonl")
    docs = [d.model_dump() for d in read_documents(a["folder"] / "annotations" / "realnews" / "labelstudio.jsonl")]
    assert docs == [
        expected_doc(a, "t1", T1, a["gold"]["t1"][:2], {"split": "train"}),
        expected_doc(a, "t2", T2, a["gold"]["t2"], choice="adjudicated"),
        expected_doc(a, "t3", T3, a["gold"]["t3"], choice="adjudicated", annotators=("admin", "other")),
        expected_doc(a, "t6", T6, a["gold"]["t6"]),
        expected_doc(a, "t8", T8, a["gold"]["t8"], choice="agreed", by="other", annotators=("admin", "other")),
    ]
    # Code-point offsets, exactly as Label Studio stores them, also after the emoji.
    assert docs[0]["entities"][:2] == [{"start": 7, "end": 16, "label": "COUNT"},
                                       {"start": 21, "end": 26, "label": "ARMED_GROUP"}]
    assert [d["text"][e["start"]:e["end"]] for d in docs for e in d["entities"]] == [
        "٤٩ عنصراً", "داعـش", "الطيران الروسي", "أكثر من 40 غارة", "جبل البشري", "قوات سوريا الديمقراطية",
        "SDF", "الباغوز", "مطار كويرس", "3 جنود", "عدن"]
    assert docs[1]["entities"][1] == {"start": 20, "end": 35, "label": "COUNT"}  # after 😀 (one code point)


def test_edited_task_replaces_its_old_version_and_nothing_is_lost(annotated):
    a = annotated
    gold = a["folder"] / "annotations" / "realnews" / "labelstudio.jsonl"
    before = [d.model_dump() for d in read_documents(gold)]
    a["client"].annotations.update(id=a["ids"]["t1"], result=results(T1, a["gold"]["t1"]))
    done = run_ls("pull", "--labels", LABELS, cwd=a["folder"], env=a["env"])
    assert done.returncode == 0, done.stdout + done.stderr
    after = [d.model_dump() for d in read_documents(gold)]
    assert after[0]["entities"] == a["gold"]["t1"] and after[1:] == before[1:]
    assert len(list((a["folder"] / "annotations" / "exports").iterdir())) == 2  # the first export is kept
    # A document no longer in the export (e.g. its task was deleted) stays in the corpus.
    a["client"].tasks.delete(id=a["task"]["t6"])
    done = run_ls("pull", "--labels", LABELS, cwd=a["folder"], env=a["env"])
    assert done.stdout.splitlines()[-1].endswith("1 earlier document(s) kept -> annotations/realnews/labelstudio.jsonl")
    assert sorted(d.id for d in read_documents(gold)) == ["t1", "t2", "t3", "t6", "t8"]


def test_malformed_tasks_are_reported_and_the_rest_converted(annotated, tmp_path):
    a = annotated
    export = sorted((a["folder"] / "annotations" / "exports").iterdir())[0]
    tasks = json.loads(export.read_text(encoding="utf-8"))
    t6 = next(t for t in tasks if t["data"]["id"] == "t6")

    def broken(new_id: int, change) -> dict:
        task = json.loads(json.dumps(t6))
        task["id"], task["data"]["id"] = new_id, f"broken-{new_id}"
        change(task, task["annotations"][0]["result"][0]["value"])
        return task

    tasks += [
        broken(9001, lambda t, v: v.update(text="كويرس")),
        broken(9002, lambda t, v: t["data"].pop("text")),
        broken(9003, lambda t, v: v.update(start=v["start"] + 1, text=T6[v["start"] + 1:v["end"]])),
        broken(9004, lambda t, v: v.update(labels=["WEAPON"])),
    ]
    bad = tmp_path / "export.json"
    bad.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "gold" / "labelstudio.jsonl"
    done = run_ls("pull", "--export", bad, "--out", out, "--labels", LABELS, cwd=tmp_path, env=a["env"])
    s = T6.index("مطار كويرس")
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        f"task 9001: span [{s}:{s + 10}] (LOCATION): its text 'كويرس' does not match the task text there 'مطار كويرس'",
        "task 9002: malformed task (expected data.text and an annotations list)",
        f"task 9003: span [{s + 1}:{s + 10}] 'طار كويرس' (LOCATION): not on word boundaries "
        f"(context {T6[s - 9:s + 20]!r})",
        f"task 9004: span [{s}:{s + 10}] 'مطار كويرس' (WEAPON): unknown label 'WEAPON' "
        "(known: ARMED_GROUP, LOCATION, COUNT)",
        f"task {a['task']['t7']}: annotators disagree; adjudicate it (mark the final annotation as ground truth) "
        "and pull again",
        "12 task(s): 5 converted (2 single annotator, 1 agreed, 2 adjudicated, 0 accepted by review), 4 error(s), "
        "1 awaiting adjudication, 1 without annotation, 1 skipped/cancelled, "
        f"1 non-span result(s) ignored; 0 earlier document(s) kept -> {out}",
    ]
    assert [d.id for d in read_documents(out)] == ["t1", "t2", "t3", "t6", "t8"]
    assert [p.name for p in out.parent.iterdir()] == ["labelstudio.jsonl"]  # no temporary file left behind


def test_agreement_between_two_annotators(annotated):
    a = annotated
    report = a["folder"] / "AGREEMENT.md"
    export = sorted((a["folder"] / "annotations" / "exports").iterdir())[0]
    done = run_ls("agreement", "--export", export, "--out", report, "--labels", LABELS, cwd=a["folder"], env=a["env"])
    assert done.returncode == 0, done.stderr
    text = report.read_text(encoding="utf-8")
    # Three tasks have two annotators (the adjudication of t3, marked ground truth, is left out):
    # t3 (12 words) differs on SDF only; t7 (7 words) on قوات التحالف and صعدة; t8 (5 words) agrees.
    # Words: observed 20/24; admin's tags O 14, B-AG 3, I-AG 3, B-LOC 2, B-COUNT 1, I-COUNT 1, the
    # other's O 16, 1, 2, 3, 1, 1: expected (14*16 + 3*1 + 3*2 + 2*3 + 1 + 1)/576 = 241/576,
    # kappa = (20/24 - 241/576) / (1 - 241/576) = 0.713. Spans: 4 agreed, 3 not: micro-F1 8/11.
    assert [len(split_words(t)) for t in (T3, T7, T8)] == [12, 7, 5]
    assert "3 task(s) annotated by more than one person" in text
    assert "Cohen's kappa on word tags (IOB2, 24 words): **0.713**" in text
    assert "Span micro-F1: **0.727**" in text
    assert "| ARMED_GROUP | 0.500 | 1 | 2 |\n| LOCATION | 0.800 | 2 | 1 |\n| COUNT | 1.000 | 1 | 0 |" in text
    s = T3.index("SDF")
    assert f"| {a['task']['t3']} | [{s}:{s + 3}] | SDF | ARMED_GROUP | {a['admin']} | {a['other']} |" in text
