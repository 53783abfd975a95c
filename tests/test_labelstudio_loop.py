"""The annotation loop against the REAL local Label Studio server (the `server` fixture of
conftest.py): pre-annotations from a model, adding annotators who can log in, documents with
clashing file names, `suggest` importing N new tasks, and pulled documents filed per round.
"""

import json

import pytest

from arner import labelstudio as ls
from arner.documents import read_documents
from arner.text import split_words

from ls_helpers import (LABELS, LS_SETTINGS, T1, T2, T3, T4, T5, T6, T7, T8, client_for, env_for, results, run_cli, run_ls,
                        span, write_jsonl)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, schema):
    """A randomly initialised tiny token classifier (no training): predictions are arbitrary but fixed."""
    import torch
    from transformers import AutoModelForTokenClassification

    from arner.config import TinyEncoder
    from arner.encoders import build_tiny

    out = tmp_path_factory.mktemp("models") / "tiny-ls"
    words = [w.text for t in (T1, T2, T3, T4, T5, T6) for w in split_words(t)]
    build_tiny(words, TinyEncoder(vocab_size=200), 64, out)
    torch.manual_seed(0)
    model = AutoModelForTokenClassification.from_pretrained(out, num_labels=len(schema.bio_tags),
                                                            id2label=schema.id2label, label2id=schema.label2id)
    model.save_pretrained(out)
    return out


def predictions_by_text(client, project: int) -> dict:
    return {t.data["text"]: [(p.model_version, p.score, p.result) for p in t.predictions]
            for t in client.tasks.list(project=project, fields="all")}


def test_import_with_model_and_predict_push_predictions(tmp_path, server, tiny_model):
    from arner.tagger import Tagger

    env = env_for(server, "predictions")
    assert run_ls("label", "--labels", LABELS, "--project-settings", LS_SETTINGS, cwd=tmp_path, env=env).returncode == 0
    (tmp_path / "a.txt").write_text(f"{T1}\n{T2}\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text(f"{T3}\n{T6}\n", encoding="utf-8")
    done = run_ls("import", "a.txt", "--model", tiny_model, cwd=tmp_path, env=env)
    assert done.stdout == "a.txt: 2 task(s), 2 imported, 0 already there, with predictions of tiny-ls\n", done.stderr
    assert run_ls("import", "b.txt", cwd=tmp_path, env=env).returncode == 0
    client = client_for(server)
    project = ls.project_id(client, "predictions")
    texts = [T1, T2, T3, T6]
    expected = {t: [ls.prediction(e, "tiny-ls")] for t, e in zip(texts, Tagger.load(tiny_model).tag(texts))}
    got = predictions_by_text(client, project)
    assert {t: [(p["model_version"], p["score"], p["result"]) for p in expected[t]] for t in (T1, T2)} == \
        {t: got[t] for t in (T1, T2)}
    assert got[T3] == [] and got[T6] == []
    done = run_ls("predict", tiny_model, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "2 prediction(s) of tiny-ls pushed\n" and "predict-ls" in done.stderr  # tqdm bar
    got = predictions_by_text(client, project)
    assert got == {t: [(p["model_version"], p["score"], p["result"]) for p in expected[t]] for t in texts}
    assert any(got[t][0][2] for t in texts)  # the model did predict spans somewhere
    assert run_ls("predict", tiny_model, cwd=tmp_path, env=env).stdout == "0 prediction(s) of tiny-ls pushed\n"


def test_added_annotator_logs_in_with_the_saved_password_and_has_a_token(tmp_path, server):
    import http.cookiejar
    import urllib.parse
    import urllib.request

    env = env_for(server, "people")
    done = run_ls("annotator", "ann@arner.test", cwd=tmp_path, env=env)
    saved = tmp_path / "labelstudio-data" / "annotators" / "ann@arner.test.env"
    assert (done.returncode, done.stdout) == (0, f"annotator ann@arner.test added: log in at {server.url}/user/login/ "
                                                 f"with the password in labelstudio-data/annotators/ann@arner.test.env\n")
    assert oct(saved.stat().st_mode & 0o777) == "0o600"
    creds = ls.read_env_file(saved)
    assert creds["LABEL_STUDIO_PASSWORD"] not in done.stdout + done.stderr
    assert creds["LABEL_STUDIO_API_KEY"] not in done.stdout + done.stderr
    assert client_for(ls.Settings(url=server.url, token=creds["LABEL_STUDIO_API_KEY"])).users.whoami().email == "ann@arner.test"
    # The browser route: the login form with the saved password opens a session.
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login = f"{server.url}/user/login/"
    opener.open(login).read()
    csrf = next(c.value for c in jar if c.name == "csrftoken")
    form = urllib.parse.urlencode({"csrfmiddlewaretoken": csrf, "email": "ann@arner.test",
                                   "password": creds["LABEL_STUDIO_PASSWORD"]}).encode()
    opener.open(urllib.request.Request(login, data=form, headers={"Referer": login})).read()
    with opener.open(f"{server.url}/api/current-user/whoami") as response:
        assert json.loads(response.read())["email"] == "ann@arner.test"
    again = run_ls("annotator", "ann@arner.test", cwd=tmp_path, env=env)
    assert (again.returncode, again.stderr) == (
        2, "error: annotator ann@arner.test: already added (labelstudio-data/annotators/ann@arner.test.env)\n")
    saved.unlink()  # the server still knows the address: a clear refusal, no file written
    third = run_ls("annotator", "ann@arner.test", cwd=tmp_path, env=env)
    assert (third.returncode, third.stderr) == (2, "error: annotator ann@arner.test: already exists\n")
    assert not saved.exists()


def test_txt_files_with_the_same_name_give_distinct_ids_and_pull(tmp_path, server):
    env = env_for(server, "same-names")
    assert run_ls("label", "--labels", LABELS, "--project-settings", LS_SETTINGS, cwd=tmp_path, env=env).returncode == 0
    for folder, text in (("one", T1), ("two", T2)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "news.txt").write_text(text + "\n", encoding="utf-8")
        assert run_ls("import", f"{folder}/news.txt", cwd=tmp_path, env=env).returncode == 0
    client = client_for(server)
    tasks = client.tasks.list(project=ls.project_id(client, "same-names"), fields="task_only")
    for t in tasks:
        client.annotations.create(id=t.id, result=[])
    done = run_ls("pull", "--labels", LABELS, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    ids = [d.id for d in read_documents(tmp_path / "annotations" / "realnews" / "labelstudio.jsonl")]
    assert sorted(ids) == sorted([f"news-1-{ls.content_hash(T1)[:8]}", f"news-1-{ls.content_hash(T2)[:8]}"])


@pytest.mark.parametrize("strategy", ["uncertainty", "random"])
def test_suggest_imports_n_new_tasks_never_ones_already_there(tmp_path, server, tiny_model, strategy):
    env = env_for(server, f"suggest-{strategy}")
    assert run_ls("label", "--labels", LABELS, "--project-settings", LS_SETTINGS, cwd=tmp_path, env=env).returncode == 0
    write_jsonl(tmp_path / "pool.jsonl", [{"id": f"p{i}", "text": t, "meta": {"url": f"http://x/{i}"}}
                                          for i, t in enumerate([T1, T2, T3, T6, T7, T8])])
    write_jsonl(tmp_path / "there.jsonl", [{"id": "p0", "text": T1}, {"id": "p4", "text": T7}])
    assert run_ls("import", "there.jsonl", cwd=tmp_path, env=env).returncode == 0
    done = run_cli("suggest", "pool.jsonl", tiny_model, "--n", "3", "--strategy", strategy, "--round", "r1", "--agreement", "1",
                   cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    out = f"annotations/suggested/pool-{strategy}-top3.jsonl"
    assert done.stdout.splitlines() == [f"pool.jsonl: 4 new document(s) considered; 3 picked ({strategy}) -> {out}",
                                        "imported 2 task(s) with pre-annotations of tiny-ls (0 already there)",
                                        "imported 1 task(s) without pre-annotations, for agreement (0 already there)"]
    client = client_for(server)
    tasks = list(client.tasks.list(project=ls.project_id(client, f"suggest-{strategy}"), fields="all"))
    new = [t for t in tasks if t.data["id"] not in ("p0", "p4")]
    assert len(tasks) == 5 and len(new) == 3 and {t.data["text"] for t in new} < {T2, T3, T6, T8}
    assert sorted(t.data["meta"]["round"] for t in new) == ["r1", "r1", "r1-agree"]  # the first pick goes to agreement
    assert {(t.data["meta"]["round"], len(t.predictions)) for t in new} == {("r1", 1), ("r1-agree", 0)}
    assert all(t.data["meta"] == {"url": f"http://x/{t.data['id'][1:]}", "picked": strategy, "picked_by": "tiny-ls",
                                  "round": t.data["meta"]["round"]} for t in new)


def test_pulled_documents_go_to_a_file_per_round_and_task_block_and_a_re_pull_replaces_them(tmp_path, schema):
    def task(i, text, round_name=None):
        meta = {"url": f"http://x/{i}", **({"round": round_name} if round_name else {})}
        return {"id": i, "data": {"text": text, "id": f"d{i}", "meta": meta},
                "annotations": [{"id": 100 + i, "completed_by": 1, "updated_at": "2026-01-01T00:00:00Z",
                                 "result": results(text, [span(text, "عدن", "LOCATION")] if "عدن" in text else [])}]}

    export = tmp_path / "export.json"
    export.write_text(json.dumps([task(1, T8, "r1"), task(2, T7, "r1-random"), task(3, T4), task(1499, T1, "r1"),
                                  task(1500, T2, "r1")], ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "realnews" / "labelstudio.jsonl"
    conversion, kept, problems = ls.convert_export_file(export, out, schema)
    assert (conversion.errors, kept, problems, conversion.counts["converted"]) == ([], 0, [], 5)
    assert sorted(p.name for p in out.parent.iterdir()) == [
        "labelstudio-r1-random-t0000.jsonl", "labelstudio-r1-t0000.jsonl", "labelstudio-r1-t1000.jsonl",
        "labelstudio-r1-t1500.jsonl", "labelstudio.jsonl"]
    assert [d.id for d in read_documents(out.parent / "labelstudio-r1-t0000.jsonl")] == ["d1"]
    assert [d.id for d in read_documents(out.parent / "labelstudio-r1-t1000.jsonl")] == ["d1499"]
    # Pulled again with task 1 only: its round file is rewritten, the other files keep their documents.
    export.write_text(json.dumps([task(1, T8, "r1")], ensure_ascii=False), encoding="utf-8")
    conversion, kept, problems = ls.convert_export_file(export, out, schema)
    assert (kept, conversion.counts["converted"]) == (0, 1)
    assert [d.id for f in sorted(out.parent.iterdir()) for d in read_documents(f)] == ["d2", "d1", "d1499", "d1500", "d3"]
