"""Runs keyed by their inputs (arner/runs.py): the identity rules, and `make eval` (eval/evaluate.py) on a model's own test split."""

import json
import shutil

import yaml

from arner.config import load_config
from arner.documents import load_corpus, write_documents
from arner.runs import choose_run_dir, run_identity
from arner.splits import split_documents
from eval.evaluate import evaluation_set

from conftest import ROOT, write_config


def test_the_same_inputs_resume_and_any_change_starts_a_new_run_saying_why(tmp_path, schema):
    corpus = tmp_path / "corpus.jsonl"
    shutil.copy(ROOT / "annotations" / "gold" / "syria.jsonl", corpus)
    path = write_config(tmp_path)
    config = load_config(path).model_copy(deep=True)
    config.data.corpus = str(corpus)
    runs = tmp_path / "runs"

    first, identity, said = choose_run_dir(config, runs)
    assert first == runs / f"tiny-{identity['identity']}" and said == f"[train] new run {first}: no earlier run of tiny"
    assert json.loads((first / "identity.json").read_text()) == identity
    again, _, said = choose_run_dir(config, runs)
    assert (again, said) == (first, f"[train] {first}: same config, corpus and encoder: resuming it where it has a checkpoint")

    config.training.learning_rate = 1e-3
    faster, _, said = choose_run_dir(config, runs)
    assert faster != first and said == f"[train] new run {faster}: differs from {first} in training.learning_rate 0.002 -> 0.001"
    assert (first / "identity.json").exists()  # the old run is kept, never overwritten

    with corpus.open("a", encoding="utf-8") as f:
        f.write(json.dumps({"id": "new-1", "text": "قصفت قوات النظام حلب", "entities": []}, ensure_ascii=False) + "\n")
    more, _, said = choose_run_dir(config, runs)
    assert more != faster and said == f"[train] new run {more}: differs from {faster} in corpus file {corpus}"
    assert run_identity(config)["identity"] == more.name.split("-")[1]


def test_an_encoder_folder_is_known_by_its_files(tmp_path):
    config = load_config(write_config(tmp_path))
    encoder = tmp_path / "encoder"
    encoder.mkdir()
    (encoder / "config.json").write_text("{}", encoding="utf-8")
    (encoder / "model.safetensors").write_bytes(b"weights")
    config = config.model_copy(update={"encoder": str(encoder)})
    before = run_identity(config)
    (encoder / "model.safetensors").write_bytes(b"other weights")
    after = run_identity(config)
    assert before["identity"] != after["identity"] and before["config"] == after["config"]
    assert sorted(after["encoder"]) == ["config.json", "model.safetensors"]


def test_eval_scores_the_models_own_test_split_after_the_corpus_changed(trained, tmp_path, schema):
    _, model_dir, _ = trained
    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    record = json.loads((model / "run.json").read_text())
    own = list(record["splits"]["test"])
    corpus = load_corpus(ROOT / "annotations" / "gold", schema)
    assert sorted(own) == sorted(d.id for d in split_documents(corpus)["test"])

    # The corpus moves on: one test document edited, one removed, new ones added.
    changed = [d.model_copy(deep=True) for d in corpus if d.id != own[1]]
    edited = next(d for d in changed if d.id == own[0])
    edited.text = edited.text + " "
    added = [d.model_copy(update={"id": f"added-{i}"}) for i, d in enumerate(changed[:300])]
    write_documents(tmp_path / "corpus.jsonl", changed + added)
    config = yaml.safe_load((model / "training_config.yaml").read_text(encoding="utf-8"))
    config["data"]["corpus"] = str(tmp_path / "corpus.jsonl")
    (model / "training_config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")

    found = evaluation_set(model, None)
    assert sorted(d.id for d in found.docs) == sorted(own[:1] + own[2:])
    assert found.note == (f"the corpus changed since {model} was trained: scoring its own test split, "
                          f"{len(own) - 1} of {len(own)} documents (1 edited since, 1 gone)")
    current = evaluation_set(model, None, current_split=True)
    now = split_documents(changed + added)["test"]
    assert [d.id for d in current.docs] == [d.id for d in now] and len(now) > len(own)
    assert current.note == (f"scoring the current corpus's test split ({len(now)} documents), not the "
                            f"{len(own) - 1} that {model} was measured on")
