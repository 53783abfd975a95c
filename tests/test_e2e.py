"""End to end on the tiny model: train on the corpus, evaluate, predict, reload with
``pipeline()``, resume an interrupted run, and fail fast on an unreachable encoder."""

import json

import pytest
import torch

from arner.documents import load_corpus
from arner.predict import run_record
from arner.schema import load_schema
from arner.splits import split_documents
from arner.tagger import Tagger
from arner.text import split_words

from conftest import ROOT, external, run_cli, train_in


def test_model_directory_is_plain_hugging_face(trained, schema):
    _, model_dir, results = trained
    names = {p.name for p in model_dir.iterdir()}
    assert {"model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json", "arner.json",
            "training_config.yaml", "README.md"} <= names
    config = json.loads((model_dir / "config.json").read_text())
    assert config["id2label"] == {str(i): tag for i, tag in schema.id2label.items()}
    card = (model_dir / "README.md").read_text(encoding="utf-8")
    assert "## Scores on the test split" in card and f"{results['test']['micro']['f1']:.3f}" in card


def test_eval_prints_table_and_writes_reports(trained, schema):
    folder, model_dir, results = trained
    done = run_cli("eval", model_dir, cwd=folder)
    assert done.returncode == 0, done.stderr
    assert "| label | precision | recall | F1 | support |" in done.stdout
    metrics = json.loads((folder / "eval" / "tiny" / "metrics.json").read_text(encoding="utf-8"))
    assert list(metrics["per_label"]) == schema.names
    assert metrics["micro"]["f1"] == results["test"]["micro"]["f1"]  # same model, same data, same score
    assert metrics["seqeval"]["micro_f1"] == metrics["micro"]["f1"]  # whole-word spans: the two agree
    assert "<table" in (folder / "eval" / "tiny" / "report.md").read_text(encoding="utf-8")


def test_predict_txt_and_jsonl_give_exact_offsets(trained):
    folder, model_dir, _ = trained
    texts = ["وشن الطيران الروسي أكثر من 40 غارة قرب جبل البشري.", "قُتِلَ ٤٩ عنصراً من «داعـش» في ريف حمص الشرقي 😀 SY24"]
    (folder / "in.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    (folder / "in.jsonl").write_text("".join(json.dumps({"id": f"n{i}", "text": t, "src": "x"}, ensure_ascii=False) + "\n"
                                             for i, t in enumerate(texts)), encoding="utf-8")
    expected = Tagger.load(model_dir).tag(texts)
    for name in ("in.txt", "in.jsonl"):
        done = run_cli("predict", model_dir, folder / name, folder / f"{name}.out.jsonl", cwd=folder)
        assert done.returncode == 0, done.stderr
        rows = [json.loads(line) for line in (folder / f"{name}.out.jsonl").read_text(encoding="utf-8").splitlines()]
        assert [r["text"] for r in rows] == texts
        assert [r["entities"] for r in rows] == expected
        for r in rows:
            assert all(r["text"][e["start"]:e["end"]] == e["text"] for e in r["entities"])
    assert rows[0]["id"] == "n0" and rows[0]["src"] == "x"


def test_predict_resumes_after_the_lines_already_written(trained):
    folder, model_dir, _ = trained
    texts = [f"قصف الطيران الروسي بلدة رقم {i} في ريف إدلب" for i in range(6)]
    src = folder / "stream.jsonl"
    src.write_text("".join(json.dumps({"id": str(i), "text": t}, ensure_ascii=False) + "\n" for i, t in enumerate(texts)), encoding="utf-8")
    out = folder / "stream.out.jsonl"
    # an interrupted run left two finished lines (marked, to show they are not redone)
    partial = folder / "stream.out.jsonl.partial"
    partial.write_text("".join(json.dumps({"id": str(i), "text": texts[i], "entities": "done before"}, ensure_ascii=False) + "\n"
                               for i in range(2)) + '{"id": "2", "text": "قصف', encoding="utf-8")  # and half a line
    (folder / "stream.out.jsonl.partial.json").write_text(json.dumps(run_record(src, model_dir)), encoding="utf-8")
    done = run_cli("predict", model_dir, src, out, "--batch", 2, cwd=folder)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == [str(i) for i in range(6)]
    assert [r["entities"] for r in rows[:2]] == ["done before", "done before"]
    assert [r["entities"] for r in rows[2:]] == Tagger.load(model_dir).tag(texts[2:])
    assert not partial.exists()


def test_predict_resumes_a_txt_file_with_blank_lines_by_line_number(trained):
    folder, model_dir, _ = trained
    lines = ["قصف الطيران بلدة في ريف إدلب", "", "قتل 3 مسلحين في درعا", "", "انسحبت القوات من حلب"]
    (folder / "gaps.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    partial = folder / "gaps.out.jsonl.partial"
    partial.write_text("".join(json.dumps({"id": str(n), "text": lines[n - 1], "entities": "done before"}, ensure_ascii=False) + "\n"
                               for n in (1, 3)), encoding="utf-8")
    (folder / "gaps.out.jsonl.partial.json").write_text(json.dumps(run_record(folder / "gaps.txt", model_dir)), encoding="utf-8")
    done = run_cli("predict", model_dir, folder / "gaps.txt", folder / "gaps.out.jsonl", cwd=folder)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in (folder / "gaps.out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["1", "3", "5"]  # blank lines have no row
    assert [r["entities"] for r in rows[:2]] == ["done before", "done before"]  # resumed after line 3

    foreign = folder / "gaps2.out.jsonl.partial"
    foreign.write_text('{"id": "abc", "entities": []}\n', encoding="utf-8")
    (folder / "gaps2.out.jsonl.partial.json").write_text(json.dumps(run_record(folder / "gaps.txt", model_dir)), encoding="utf-8")
    done = run_cli("predict", model_dir, folder / "gaps.txt", folder / "gaps2.out.jsonl", cwd=folder)
    assert done.returncode == 2
    assert done.stderr.strip() == (f"error: {foreign}:1: not a line this command wrote (no line-number id); "
                                   "delete the file to start over")
    assert foreign.read_text(encoding="utf-8") == '{"id": "abc", "entities": []}\n'  # left as it was


@pytest.mark.parametrize("data", ["gold test split", "real-news set"])
def test_optimised_tagging_gives_the_same_entities_as_the_plain_path(trained, data):
    """Length-sorted batches, windows, the vectorised gather, guarded bf16 and background preparation
    change no entity or offset against fp32, one text at a time."""
    _, model_dir, _ = trained
    schema = load_schema(ROOT / "configs" / "labels.yaml")
    if data == "gold test split":
        docs = split_documents(load_corpus(ROOT / "annotations" / "gold", schema))["test"]
    else:
        docs = load_corpus(external("realnews-dev/dev.jsonl"), schema)
    texts = [d.text for d in docs]
    optimised = Tagger.load(model_dir, batch_size=64, bf16=True)
    plain = Tagger.load(model_dir, batch_size=1, bf16=False)

    def spans(entities):
        return [(e["start"], e["end"], e["label"]) for e in entities]

    one_at_a_time = [spans(plain.tag([t])[0]) for t in texts]
    assert [spans(e) for e in optimised.tag(texts)] == one_at_a_time
    assert 0 < optimised.windows_rechecked < optimised.windows_seen  # the guard both fired and was not needed
    # Prepared by a background thread, chunk by chunk, while the model runs (the GPU path): the same entities.
    prefetched = Tagger.load(model_dir, batch_size=8, bf16=True, prefetch=True, chunk_texts=5)
    assert [spans(e) for e in prefetched.tag(texts)] == one_at_a_time
    assert prefetched.windows_seen == optimised.windows_seen


def test_compiled_tagging_over_fixed_buckets_gives_the_same_entities_with_one_graph_per_shape(trained):
    """torch.compile over fixed shapes (the GPU path, here on CPU): the same entities as eager fp32 one text
    at a time, and a second pass over other batch contents compiles nothing new."""
    from torch._dynamo.utils import counters

    _, model_dir, _ = trained
    schema = load_schema(ROOT / "configs" / "labels.yaml")
    texts = [d.text for d in split_documents(load_corpus(ROOT / "annotations" / "gold", schema))["test"]]
    texts += [" ".join(t.split()[:4]) for t in texts[:20]]  # headlines: enough short windows for the small bucket
    compiled = Tagger.load(model_dir, batch_size=16, bf16=True, compile=True, buckets=(24,))
    assert compiled.buckets == (24, 64)  # the window length is always a bucket
    shapes = {tuple(batch[0].shape) for batch in compiled._prepare(0, [split_words(t) for t in texts]).batches}
    assert shapes == {(16, 24), (16, 64)}
    torch._dynamo.reset()
    counters.clear()
    plain = Tagger.load(model_dir, batch_size=1, bf16=False)

    def spans(entities):
        return [(e["start"], e["end"], e["label"]) for e in entities]

    assert [spans(e) for e in compiled.tag(texts)] == [spans(plain.tag([t])[0]) for t in texts]
    graphs = counters["stats"]["unique_graphs"]
    compiled.tag(texts[::-1][:7])  # other batches, the same shapes
    assert graphs == len(shapes) and counters["stats"]["unique_graphs"] == graphs


def test_long_documents_are_windowed_not_truncated(trained):
    _, model_dir, _ = trained
    tagger = Tagger.load(model_dir)
    text = "\n".join(["وشن الطيران الروسي أكثر من 40 غارة قرب جبل البشري بين الرقة ودير الزور"] * 40)
    words = split_words(text)
    [probs] = tagger.word_probabilities([words])
    assert probs.shape == (len(words), len(tagger.id2label))
    assert torch.allclose(probs.sum(-1), torch.ones(len(words)), atol=1e-4)  # every word has a prediction


def test_plain_pipeline_loads_the_model_and_agrees_with_the_tagger(trained):
    from transformers import pipeline

    _, model_dir, _ = trained
    text = "وشن الطيران الروسي أكثر من 40 غارة قرب جبل البشري بين الرقة ودير الزور"
    tagger = Tagger.load(model_dir)
    words = split_words(text)
    [probs] = tagger.word_probabilities([words])
    ours = {w.start: tagger.id2label[int(i)] for w, i in zip(words, probs.argmax(-1))}
    raw = pipeline("token-classification", model=str(model_dir), aggregation_strategy="none", device="cpu")(text)
    theirs = {t["start"]: t["entity"] for t in raw if t["start"] in ours}
    assert theirs == {start: tag for start, tag in ours.items() if tag != "O"}
    grouped = pipeline("token-classification", model=str(model_dir), aggregation_strategy="simple", device="cpu")(text)
    assert all(g["entity_group"] in {"ARMED_GROUP", "LOCATION", "COUNT"} for g in grouped)
    assert all(text[g["start"]:g["end"]].strip() for g in grouped)


def test_interrupted_training_resumes_without_redoing_steps(trained, tmp_path, capsys):
    from transformers import TrainerCallback

    class StopAfterFirstEpoch(TrainerCallback):
        def on_epoch_end(self, args, state, control, **kwargs):
            control.should_training_stop = True

    class CountSteps(TrainerCallback):
        steps = 0

        def on_step_end(self, args, state, control, **kwargs):
            CountSteps.steps += 1

    train_in(tmp_path, callbacks=[StopAfterFirstEpoch()])
    [run_dir] = (tmp_path / "train" / "runs").glob("tiny-*")  # train/runs/<name>-<identity>
    [checkpoint] = run_dir.glob("checkpoint-*")
    interrupted = json.loads((checkpoint / "trainer_state.json").read_text())
    done_steps = interrupted["global_step"]
    total_steps = interrupted["max_steps"]  # its own: each build of the tiny vocabulary cuts a few windows differently
    assert done_steps * 3 == total_steps  # interrupted after one of three epochs

    capsys.readouterr()
    train_in(tmp_path, callbacks=[CountSteps()])  # `make train` again: continues from the checkpoint
    said = capsys.readouterr().out.splitlines()
    assert f"[train] train/runs/{run_dir.name}: same config, corpus and encoder: resuming it where it has a checkpoint" in said
    assert f"[train] resuming from train/runs/{run_dir.name}/{checkpoint.name}" in said
    [cached] = [line for line in said if line.startswith("[train]") and "training windows" in line]
    assert cached.endswith(": not tokenized again")  # the same data and tokenizer: features from the datasets cache
    assert CountSteps.steps == total_steps - done_steps
    final = max(run_dir.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    state = json.loads((final / "trainer_state.json").read_text())
    assert (state["global_step"], state["epoch"]) == (total_steps, 3.0)
    first_eval = [e["eval_f1"] for e in state["log_history"] if "eval_f1" in e][0]
    assert first_eval == interrupted["log_history"][-1]["eval_f1"]  # epoch 1 kept, not redone


def test_default_encoder_fails_fast_and_names_the_offline_config(tmp_path):
    done = run_cli("train", ROOT / "configs" / "default.yaml", cwd=ROOT, env={"HF_HUB_OFFLINE": "1"})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: encoder 'aubmindlab/bert-base-arabertv02' is not in the local Hugging Face cache and the hub is "
        "unreachable (HF_HUB_OFFLINE is set). Without the hub, train the offline encoder instead: "
        "make train CONFIG=configs/offline.yaml"]


def test_bad_input_gets_one_line_errors_and_writes_nothing(trained, tmp_path):
    folder, model_dir, _ = trained
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "1", "text": "في حلب"}\n{"id": 2, "text": \n', encoding="utf-8")
    done = run_cli("predict", model_dir, bad, tmp_path / "out.jsonl", cwd=folder)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == f"error: {bad}:2: invalid JSON: Expecting value (column 19)"
    assert not (tmp_path / "out.jsonl").exists()
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    done = run_cli("predict", model_dir, empty, tmp_path / "out.jsonl", cwd=folder)
    assert (done.returncode, done.stderr.strip()) == (2, f"error: {empty}: file is empty")
    no_text = tmp_path / "no_text.jsonl"
    no_text.write_text('{"id": "1", "text": "في حلب"}\n{"id": "2", "text": ""}\n', encoding="utf-8")
    done = run_cli("predict", model_dir, no_text, tmp_path / "out.jsonl", cwd=folder)
    assert done.stderr.strip().splitlines()[-1] == f"error: {no_text}:2: expected an object with a non-empty 'text' string"
    unknown = tmp_path / "unknown.jsonl"
    unknown.write_text('{"id": "1", "text": "في حلب", "entities": [{"start": 3, "end": 6, "label": "CITY"}]}\n'
                       '{"id": "2", "text": " "}\n', encoding="utf-8")
    done = run_cli("eval", model_dir, "--data", unknown, cwd=folder)
    assert (done.returncode, done.stderr.strip()) == (2, (
        f"error: 2 problems in {unknown}, the first: {unknown}:1: document '1': span [3:6] 'حلب' (CITY): "
        f"unknown label 'CITY' (known: ARMED_GROUP, LOCATION, COUNT) (all: arner validate {unknown})"))
    missing = run_cli("eval", tmp_path / "nope", cwd=folder)
    assert (missing.returncode, missing.stderr.strip()) == (
        2, f"error: {tmp_path / 'nope'}: no training_config.yaml; is this a model trained by `make train`?")
    typo = tmp_path / "typo.yaml"
    typo.write_text("name: x\nencoder: tiny\nmax_lenght: 64\n", encoding="utf-8")
    done = run_cli("train", typo, cwd=tmp_path)
    assert (done.returncode, done.stderr.strip()) == (2, f"error: {typo}: invalid config file: max_lenght: Extra inputs are not permitted")


def test_validate_reports_every_problem(tmp_path):
    bad = tmp_path / "gold.jsonl"
    bad.write_text('{"id": "a", "text": "في حلب", "entities": [{"start": 3, "end": 5, "label": "LOCATION"}]}\n'
                   '{"id": "a", "text": ""}\n', encoding="utf-8")
    done = run_cli("validate", bad, "--labels", ROOT / "configs" / "labels.yaml", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        f"{bad}:1: document 'a': span [3:5] 'حل' (LOCATION): not on word boundaries (context 'في حلب')",
        f"{bad}:2: document 'a': duplicate document id (first at {bad}:1)",
        f"{bad}:2: document 'a': text is empty",
        "1 file(s), 2 documents, 3 problem(s)",
    ]
