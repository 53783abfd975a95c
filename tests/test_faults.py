"""Bad input and faults (issue 13): each class of the issue, with its exact one-line error and
what is left on disk; and a training killed with SIGKILL mid-epoch resumes to the same dev F1."""

import json
import os
import shutil
import signal
import subprocess
import sys

import pytest

from arner.config import TinyEncoder, load_config
from arner.documents import parse_jsonl
from arner.encoders import build_tiny
from arner.errors import InputError
from arner.predict import run_record
from arner.text import split_words

from conftest import ROOT, run_cli, train_in, write_config

LABELS = ROOT / "configs" / "labels.yaml"
TEXTS = ["قصف الطيران الروسي بلدة في ريف إدلب", "قتل 3 مسلحين في درعا"]


def error_of(done) -> tuple[int, str]:
    """Exit code and the last line of stderr (library progress bars may come before it)."""
    return done.returncode, done.stderr.strip().splitlines()[-1]


def jsonl(path, records, prefix=""):
    path.write_text(prefix + "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def test_predict_never_destroys_its_input_nor_overwrites_unasked(trained, tmp_path):
    folder, model_dir, _ = trained
    gold = jsonl(tmp_path / "gold.jsonl", [{"id": "a", "text": TEXTS[0], "entities": [{"start": 4, "end": 18, "label": "ARMED_GROUP"}]}])
    before = gold.read_bytes()
    assert error_of(run_cli("predict", model_dir, gold, gold, cwd=folder)) == (
        2, f"error: {gold}: is the INPUT file; write the output to another file")
    assert error_of(run_cli("predict", model_dir, gold, gold, "--overwrite", cwd=folder)) == (
        2, f"error: {gold}: is the INPUT file; write the output to another file")
    assert gold.read_bytes() == before
    out = tmp_path / "out.jsonl"
    out.write_text("keep me\n", encoding="utf-8")
    assert error_of(run_cli("predict", model_dir, gold, out, cwd=folder)) == (
        2, f"error: {out}: already exists; pass --overwrite (make predict ... OVERWRITE=1) to replace it")
    assert out.read_text(encoding="utf-8") == "keep me\n"
    assert run_cli("predict", model_dir, gold, out, "--overwrite", cwd=folder).returncode == 0
    assert json.loads(out.read_text(encoding="utf-8"))["id"] == "a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gold.jsonl", "out.jsonl"]  # no .partial, no record left


def test_a_partial_output_of_another_input_is_refused_not_merged(trained, tmp_path):
    folder, model_dir, _ = trained
    first = jsonl(tmp_path / "first.jsonl", [{"id": "f1", "text": TEXTS[0]}, {"id": "f2", "text": TEXTS[1]}])
    second = jsonl(tmp_path / "second.jsonl", [{"id": "s1", "text": TEXTS[1]}, {"id": "s2", "text": TEXTS[0]}])
    out = tmp_path / "out.jsonl"
    partial, record = tmp_path / "out.jsonl.partial", tmp_path / "out.jsonl.partial.json"
    partial.write_text(json.dumps({"id": "f1", "text": TEXTS[0], "entities": []}, ensure_ascii=False) + "\n", encoding="utf-8")
    record.write_text(json.dumps(run_record(first, model_dir)), encoding="utf-8")  # what an interrupted run leaves
    kept = partial.read_bytes()
    assert error_of(run_cli("predict", model_dir, second, out, cwd=folder)) == (
        2, f"error: {partial}: written from another input ({first}); delete it and out.jsonl.partial.json to start over")
    assert partial.read_bytes() == kept and not out.exists()
    record.unlink()  # a partial file with no record of its run is not trusted either
    assert error_of(run_cli("predict", model_dir, second, out, cwd=folder)) == (
        2, f"error: {partial}: no record of the input and model it was written from; delete it to start over")
    record.write_text(json.dumps(run_record(first, model_dir)), encoding="utf-8")
    done = run_cli("predict", model_dir, first, out, cwd=folder)  # the same input and model: resumed
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["id"] for line in out.read_text(encoding="utf-8").splitlines()] == ["f1", "f2"]


def test_a_broken_model_is_refused_before_tagging(trained, tmp_path):
    from transformers import AutoConfig, AutoTokenizer

    folder, model_dir, _ = trained
    texts = jsonl(tmp_path / "in.jsonl", [{"id": "1", "text": TEXTS[0]}])

    def broken(name, damage):
        copy = tmp_path / name
        shutil.copytree(model_dir, copy)
        damage(copy)
        return copy

    no_tokenizer = broken("no-tokenizer", lambda d: [p.unlink() for p in d.glob("tokenizer*")])
    truncated = broken("truncated", lambda d: (d / "model.safetensors").write_bytes((d / "model.safetensors").read_bytes()[:100_000]))

    def not_bio(d):
        config = json.loads((d / "config.json").read_text())
        config["id2label"] = {str(i): f"LABEL_{i}" for i in range(7)}
        config["label2id"] = {f"LABEL_{i}": i for i in range(7)}
        (d / "config.json").write_text(json.dumps(config))

    labels = broken("not-bio", not_bio)

    def foreign_tokenizer(d):  # a tokenizer built for a bigger vocabulary than the model's
        words = [w.text for line in (ROOT / "annotations" / "markup" / "syria.txt").read_text(encoding="utf-8").splitlines()
                 for w in split_words(line)]
        other = build_tiny(words, TinyEncoder(vocab_size=5000), 64, tmp_path / "other-encoder")
        for p in d.glob("tokenizer*"):
            p.unlink()
        AutoTokenizer.from_pretrained(other).save_pretrained(d)

    mismatched = broken("mismatched", foreign_tokenizer)
    sizes = len(AutoTokenizer.from_pretrained(mismatched)), AutoConfig.from_pretrained(model_dir).vocab_size
    for model, message in [
        (no_tokenizer, "no tokenizer files (none of tokenizer.json, vocab.txt, sentencepiece.bpe.model, tokenizer.model, spiece.model)"),
        (truncated, "cannot load the model: Error while deserializing header: incomplete metadata, file not fully covered"),
        (labels, "id2label is not a BIO tag set (O, B-X and I-X for each label X): "
                 "LABEL_0, LABEL_1, LABEL_2, LABEL_3, LABEL_4, LABEL_5, LABEL_6"),
        (mismatched, f"the tokenizer has {sizes[0]} tokens, more than the model's vocabulary ({sizes[1]}); "
                     "they do not belong together"),
    ]:
        assert error_of(run_cli("predict", model, texts, tmp_path / "out.jsonl", cwd=folder)) == (2, f"error: {model}: {message}")
        assert not (tmp_path / "out.jsonl").exists() and not (tmp_path / "out.jsonl.partial.json").exists()
    assert error_of(run_cli("eval", labels, cwd=folder)) == (
        2, f"error: {labels}: id2label is not a BIO tag set (O, B-X and I-X for each label X): "
           "LABEL_0, LABEL_1, LABEL_2, LABEL_3, LABEL_4, LABEL_5, LABEL_6")


def test_tracebacks_become_one_line_errors(trained, tmp_path):
    folder, model_dir, _ = trained
    good = jsonl(tmp_path / "in.jsonl", [{"id": "1", "text": TEXTS[0]}])
    latin = tmp_path / "latin.txt"
    latin.write_bytes(TEXTS[0].encode() + b"\n\xe9t\xe9\n")
    a_file = tmp_path / "a-file"
    a_file.write_text("x", encoding="utf-8")
    for args, message in [
        ((tmp_path, tmp_path / "out.jsonl"), f"{tmp_path}: is a directory, expected a file"),
        ((latin, tmp_path / "out.jsonl"), f"{latin}:2: not valid UTF-8 (byte {len(TEXTS[0].encode()) + 1})"),
        ((good, tmp_path), f"{tmp_path}: is a directory; OUTPUT must be a file name"),
        ((good, a_file / "out.jsonl"), f"{a_file / 'out.jsonl'}: cannot write there: {a_file} is not a folder"),
    ]:
        assert error_of(run_cli("predict", model_dir, *args, cwd=folder)) == (2, f"error: {message}")
    conll = tmp_path / "test.conll"
    conll.write_text("في O\nحلب B-LOC\n", encoding="utf-8")
    assert error_of(run_cli("eval", model_dir, "--data", conll, "--conll-labels", "LOC", cwd=folder)) == (
        2, "error: --conll-labels 'LOC': expected TYPE=LABEL pairs, comma-separated, each LABEL one of "
           "ARMED_GROUP, LOCATION, COUNT")
    exceptions = tmp_path / "exceptions.txt"
    exceptions.write_bytes(b"# ok\nlabel-conflict\tLOCATION\t\xe9\t*\n")
    assert error_of(run_cli("lint", good, "--exceptions", exceptions, cwd=folder)) == (
        2, f"error: {exceptions}:2: not valid UTF-8 (byte 29)")
    helped = run_cli("eval", "--help", cwd=folder)
    assert helped.returncode == 0 and "report folder" in helped.stdout and not helped.stderr
    config = write_config(tmp_path)
    config.write_text(config.read_text(encoding="utf-8") + f"extra_corpora:\n- path: {conll}\n  labels: {{LOC: CITY}}\n",
                      encoding="utf-8")
    assert error_of(run_cli("train", config, cwd=tmp_path)) == (
        2, f"error: {config}: extra_corpora.0.labels: 'CITY' is not a label of {LABELS} (known: ARMED_GROUP, LOCATION, COUNT)")
    assert not (tmp_path / "train").exists()  # failed before any model was built


def test_invalid_numbers_are_refused(trained, tmp_path):
    folder, model_dir, _ = trained
    config = tmp_path / "c.yaml"
    config.write_text("name: x\nencoder: tiny\ntraining:\n  learning_rate: -1.0e-4\n  epochs: 0\n  batch_size: 0\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_config(config)
    assert str(err.value) == (f"{config}: invalid config file: training.epochs: Input should be greater than or equal to 1; "
                              "training.learning_rate: Input should be greater than 0; "
                              "training.batch_size: Input should be greater than or equal to 1")
    texts = jsonl(tmp_path / "in.jsonl", [{"id": "1", "text": TEXTS[0]}])
    assert error_of(run_cli("predict", model_dir, texts, tmp_path / "out.jsonl", "--batch", 0, cwd=folder)) == (
        2, "error: --batch 0: must be at least 1")
    gold = jsonl(tmp_path / "gold.jsonl", [{"id": str(i), "text": "في حلب", "entities": [{"start": start, "end": 6, "label": "LOCATION"}]}
                                           for i, start in enumerate([3.0, "3", True, 3])])
    assert [str(p) for p in parse_jsonl(gold)[1]] == [
        f"{gold}:{n}: document '{n - 1}': invalid document: entities.0.start: Input should be a valid integer" for n in (1, 2, 3)]


def test_one_reader_one_set_of_rules(trained, tmp_path):
    folder, model_dir, _ = trained
    # A BOM and a blank line: fine for validate, fine for predict.
    gold = jsonl(tmp_path / "gold.jsonl", [{"id": "a", "text": "في حلب", "entities": [{"start": 3, "end": 6, "label": "LOCATION"}]},
                                           {}], prefix="\ufeff")
    gold.write_text(gold.read_text(encoding="utf-8").replace("{}\n", "\n") + json.dumps({"id": "b", "text": TEXTS[1]}) + "\n",
                    encoding="utf-8")
    done = run_cli("validate", gold, "--labels", LABELS, cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, "1 file(s), 2 documents, 0 problem(s)\n")
    done = run_cli("predict", model_dir, gold, tmp_path / "out.jsonl", cwd=folder)
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["id"] for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()] == ["a", "b"]
    # A gold span whose text is not the document's text there: validate and eval both refuse it.
    wrong = jsonl(tmp_path / "wrong.jsonl", [{"id": "a", "text": "في حلب",
                                              "entities": [{"start": 3, "end": 6, "label": "LOCATION", "text": "دمشق"}]}])
    problem = f"{wrong}:1: document 'a': span [3:6] 'حلب' (LOCATION): its text 'دمشق' does not match the document's text there"
    done = run_cli("validate", wrong, "--labels", LABELS, cwd=tmp_path)
    assert (done.returncode, done.stdout.splitlines()[0]) == (1, problem)
    assert error_of(run_cli("eval", model_dir, "--data", wrong, cwd=folder)) == (2, f"error: {problem}")


def test_label_studio_credentials_are_never_shown_and_exports_are_checked(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABEL_STUDIO_")}
    done = run_cli("ls", "pull", "--labels", LABELS, cwd=tmp_path,
                   env={**env, "LABEL_STUDIO_URL": "http://admin:s3cret@127.0.0.1:9", "LABEL_STUDIO_API_KEY": "x"})
    assert error_of(done) == (2, "error: LABEL_STUDIO_URL http://***@127.0.0.1:9: holds credentials; remove them from the URL "
                                 "(the API token goes in LABEL_STUDIO_API_KEY, in the environment or .env)")
    assert "s3cret" not in done.stdout + done.stderr
    done = run_cli("ls", "pull", "--labels", LABELS, cwd=tmp_path, env={**env, "LABEL_STUDIO_URL": "file:///etc"})
    assert error_of(done) == (2, "error: LABEL_STUDIO_URL file:///etc: expected an http:// or https:// URL")
    # `make label` creates the credentials and says where they are, not what they are.
    done = subprocess.run([sys.executable, "-m", "arner.cli", "ls", "label", "--labels", str(LABELS), "--project-settings",
                           str(ROOT / "configs" / "labelstudio.yaml")], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, env={**env, "LABEL_STUDIO_URL": "http://ls.invalid:8080"})
    saved = dict(line.split("=", 1) for line in (tmp_path / ".env").read_text(encoding="utf-8").splitlines())
    assert done.stdout == ("Created Label Studio credentials for admin@arner.local: the password and API token are in .env "
                           "(mode 600), not shown here\n")
    assert saved["LABEL_STUDIO_PASSWORD"] not in done.stdout + done.stderr
    assert saved["LABEL_STUDIO_API_KEY"] not in done.stdout + done.stderr
    assert oct((tmp_path / ".env").stat().st_mode & 0o777) == "0o600"
    export = tmp_path / "export.json"
    export.write_text('{"id": 1, "data": {"text": "في حلب"}}', encoding="utf-8")
    done = run_cli("ls", "pull", "--export", export, "--out", tmp_path / "out" / "ls.jsonl", "--labels", LABELS, cwd=tmp_path, env=env)
    assert error_of(done) == (2, f"error: {export}: not a Label Studio JSON export: expected a list of tasks, got an object")
    assert not (tmp_path / "out").exists()


KILL_MID_EPOCH = """
import os, signal, sys
from pathlib import Path
from transformers import TrainerCallback
sys.path.insert(0, sys.argv[2])
from conftest import train_in

class KillMidEpoch(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        per_epoch = state.max_steps // int(args.num_train_epochs)
        if state.global_step == per_epoch + per_epoch // 2:  # halfway through the second epoch
            os.kill(os.getpid(), signal.SIGKILL)

train_in(Path(sys.argv[1]), callbacks=[KillMidEpoch()])
"""


def test_training_killed_mid_epoch_resumes_to_the_same_dev_f1(trained, tmp_path):
    from transformers import TrainerCallback

    class CountSteps(TrainerCallback):
        steps = 0

        def on_step_end(self, args, state, control, **kwargs):
            CountSteps.steps += 1

    # The tiny encoder's WordPiece vocabulary is rebuilt differently on each build (the tokenizers
    # trainer breaks ties at random), so both runs start from the same built encoder.
    killed_dir, whole_dir = tmp_path / "killed", tmp_path / "whole"
    [run] = (trained[0] / "train" / "runs").glob("tiny-*")  # same config and corpus: the same run identity
    for folder in (killed_dir, whole_dir):
        shutil.copytree(run / "tiny-base", folder / "train" / "runs" / run.name / "tiny-base")
    killed = subprocess.run([sys.executable, "-c", KILL_MID_EPOCH, str(killed_dir), str(ROOT / "tests")], capture_output=True,
                            text=True, timeout=600)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    run_dir = killed_dir / "train" / "runs" / run.name
    [checkpoint] = run_dir.glob("checkpoint-*")  # epoch 1 saved; epoch 2 cut halfway
    state = json.loads((checkpoint / "trainer_state.json").read_text())
    assert state["epoch"] == 1.0 and not (killed_dir / "models").exists()
    resumed = train_in(killed_dir, callbacks=[CountSteps()])  # `make train` again
    assert CountSteps.steps == state["max_steps"] - state["global_step"]  # resumed, nothing redone
    whole = train_in(whole_dir)  # the same seed, never interrupted
    assert resumed["dev"]["seqeval"] == whole["dev"]["seqeval"]


def test_every_torch_load_refuses_pickled_code():
    """A checkpoint file is data: every ``torch.load`` in the project passes ``weights_only=True``."""
    import ast

    calls = []
    for path in [*ROOT.glob("arner/*.py"), *ROOT.glob("eval/*.py"), *ROOT.glob("train/*.py"), *ROOT.glob("bench/*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "torch.load":
                safe = any(k.arg == "weights_only" and ast.unparse(k.value) == "True" for k in node.keywords)
                calls.append((path.name, safe))
    assert calls == [("active_learning.py", True)]  # the active-learning simulation's cache
