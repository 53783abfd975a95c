"""`make all`: markup -> gold -> dataset -> model -> eval report, each a file target, redoing only what changed."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

MARKUP = ("syria.txt", "iraq.txt", "north_africa.txt")


def make(*args, cwd: Path) -> subprocess.CompletedProcess:
    venv = Path(sys.executable).parent.parent  # this venv, never remade from the copy (-o: taken as up to date)
    return subprocess.run(["make", "--no-print-directory", "-f", str(ROOT / "Makefile"), f"VENV={venv}", "-o", f"{venv}/.done",
                           "CONFIG=configs/tiny.yaml", *args], cwd=cwd, capture_output=True, text=True, timeout=900,
                          env={**{k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")},
                               "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"})  # a top-level make, even under `make test`


def test_make_all_builds_the_chain_once_then_redoes_only_what_a_change_touches(tmp_path):
    shutil.copytree(ROOT / "configs", tmp_path / "configs")
    (tmp_path / "annotations" / "markup").mkdir(parents=True)
    for name in MARKUP:
        shutil.copy(ROOT / "annotations" / "markup" / name, tmp_path / "annotations" / "markup" / name)
    py = f"{Path(sys.executable).parent}/python"

    first = make("all", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    assert [line for line in first.stdout.splitlines() if line.startswith(py)] == [
        *(f"{py} -m arner.markup annotations/markup/{n} --write annotations/gold" for n in ("iraq.txt", "north_africa.txt", "syria.txt")),
        f"{py} -m train.dataset configs/tiny.yaml",
        f"{py} -m train.train configs/tiny.yaml",
        f"{py} -m eval.evaluate models/tiny"]
    assert sorted(p.name for p in (tmp_path / "annotations" / "gold").iterdir()) == ["iraq.jsonl", "north_africa.jsonl", "syria.jsonl"]
    assert (tmp_path / "models" / "tiny" / "run.json").exists() and (tmp_path / "eval" / "tiny" / "report.md").exists()

    again = make("all", cwd=tmp_path)
    assert (again.returncode, again.stdout.strip()) == (0, "make: Nothing to be done for 'all'.")

    # One markup file changes: its gold, then the dataset, the model and the report; nothing else.
    changed = tmp_path / "annotations" / "markup" / "iraq.txt"
    changed.write_text(changed.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    planned = make("-n", "all", cwd=tmp_path)
    assert planned.stdout.splitlines() == [
        f"{py} -m arner.markup annotations/markup/iraq.txt --write annotations/gold",
        f"{py} -m train.dataset configs/tiny.yaml",
        f"{py} -m train.train configs/tiny.yaml",
        f"{py} -m eval.evaluate models/tiny"]
