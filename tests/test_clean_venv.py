"""The model directory is self-contained: the wheel, installed with its inference dependencies only into
a fresh venv outside the repository, tags a copied model directory exactly as the repository does,
with nothing of the training or Label Studio stack installed or imported; a directory saved without
a snapshot is refused there with one line.

Cost: building the wheel and installing it (torch from the local wheel, the rest through pip's
cache) takes about a minute or two; the venv is made once per session.
"""

import json
import shutil
import subprocess
import sys
import venv

import pytest

from arner.documents import load_corpus
from arner.schema import load_schema
from arner.snapshot import SNAPSHOT_FILE, read_snapshot

from conftest import ROOT

TRAINING_STACK = ["seqeval", "accelerate", "datasets", "matplotlib", "scikit-learn", "label-studio-sdk", "label-studio"]
MODULES = ["seqeval", "accelerate", "datasets", "matplotlib", "sklearn", "label_studio_sdk", "label_studio"]

SCRIPT = """
import importlib.metadata, json, sys
import arner
from arner import Tagger
from arner.errors import InputError

texts = json.load(open("texts.json", encoding="utf-8"))
tagger = Tagger.load("model")
entities = tagger.tag(texts)
try:
    Tagger.load("old-model")
    refused = None
except InputError as exc:
    refused = str(exc)
def installed(name):
    try:
        importlib.metadata.version(name)
        return True
    except importlib.metadata.PackageNotFoundError:
        return False
print(json.dumps({"entities": entities, "identity": tagger.identity, "refused": refused, "arner": arner.__file__,
                  "installed": [n for n in %r if installed(n)], "imported": [m for m in %r if m in sys.modules]},
                 ensure_ascii=False))
""" % (TRAINING_STACK, MODULES)


@pytest.fixture(scope="session")
def clean_python(tmp_path_factory):
    """A fresh venv outside the repository with the arner wheel and its inference dependencies (pinned by the lock)."""
    work = tmp_path_factory.mktemp("outside")
    source, dist = work / "source", work / "dist"  # built from a copy: setuptools leaves build/ beside the sources
    source.mkdir()
    shutil.copy(ROOT / "pyproject.toml", source)
    shutil.copytree(ROOT / "arner", source / "arner", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(dist),
                    str(source)], check=True, cwd=work)
    [wheel] = dist.glob("arner-*.whl")
    venv.create(work / "venv", with_pip=True)
    python = work / "venv" / "bin" / "python"
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", "-c", str(ROOT / "requirements.lock"), str(wheel)],
                          cwd=work, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return python


def test_installed_wheel_tags_a_copied_model_exactly_as_the_repository(tmp_path, clean_python, trained):
    from arner.tagger import Tagger

    _, model, _ = trained
    shutil.copytree(model, tmp_path / "model")
    shutil.copytree(model, tmp_path / "old-model", ignore=shutil.ignore_patterns(SNAPSHOT_FILE))
    docs = load_corpus(str(ROOT / "annotations" / "gold"), load_schema(ROOT / "configs" / "labels.yaml"))
    texts = [d.text for d in docs[::9]]
    (tmp_path / "texts.json").write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "tag.py").write_text(SCRIPT, encoding="utf-8")
    done = subprocess.run([str(clean_python), "tag.py"], cwd=tmp_path, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout)
    assert out["arner"].startswith(str(clean_python.parent.parent))  # the installed package, not this checkout
    assert (out["installed"], out["imported"]) == ([], [])
    assert out["refused"] == ("old-model: no arner-snapshot.json (saved before model snapshots); in the arner repository run "
                              "`make snapshot MODEL=old-model` or retrain with `make train`")
    assert out["identity"] == read_snapshot(model).identity
    in_repo = Tagger.load(model).tag(texts)
    assert out["entities"] == in_repo
    labels = {e["label"] for doc in in_repo for e in doc}
    assert labels == {"ARMED_GROUP", "LOCATION", "COUNT"}  # every analyst field was exercised
    assert any("canonical" in e and e["canonical"] != e["normalized"] for doc in in_repo for e in doc)


def test_a_model_saved_without_snapshot_loads_here_with_a_note_and_gets_one_with_arner_snapshot(tmp_path, trained, capfd):
    from arner.tagger import Tagger

    _, model, _ = trained
    old = tmp_path / "old"
    shutil.copytree(model, old, ignore=shutil.ignore_patterns(SNAPSHOT_FILE))
    texts = ["قصفت قوات التحالف مواقع للحوثيين في صعدة وقتل 3 جنود في عدن"]
    legacy = Tagger.load(old)
    assert capfd.readouterr().err.splitlines()[-1] == (
        f"note: {old}: no {SNAPSHOT_FILE}; using labels, aliases and known forms of this checkout ({ROOT}); "
        f"`make snapshot MODEL={old}` writes them into the folder")
    assert legacy.identity == {"name": "old", "version": "old", "recorded": "not recorded (no snapshot)"}
    assert legacy.tag(texts) == Tagger.load(model).tag(texts)  # what this checkout gives, as before snapshots
    done = subprocess.run([sys.executable, "-m", "arner.cli", "snapshot", str(old)], cwd=ROOT, capture_output=True, text=True)
    snapshot = read_snapshot(old)
    assert done.stdout == (f"wrote {old / SNAPSHOT_FILE}: {snapshot.version}, 3 labels, {len(snapshot.aliases)} canonical names, "
                           f"{len(snapshot.known_forms)} known forms\n")
    assert snapshot.version == f"tiny-{read_snapshot(model).identity['weights_sha256'][:8]}" and not snapshot.legacy
    assert snapshot.identity["run"] == read_snapshot(model).identity["run"]  # from the run.json saved with the model
    assert (snapshot.labels, snapshot.aliases, snapshot.known_forms) == (
        read_snapshot(model).labels, read_snapshot(model).aliases, read_snapshot(model).known_forms)
    assert Tagger.load(old).tag(texts) == Tagger.load(model).tag(texts)
