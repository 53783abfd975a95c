"""Training batches: 2 data-parallel CPU processes (gloo, via torchrun) train like one process
with the same global batch, and the length-bucketed sampler behind them."""

import json
import os
import subprocess
import sys

import yaml

from conftest import ROOT

CONFIG = {
    "name": "ddp",
    "encoder": "tiny",
    # No dropout: each process draws its own masks, which would blur the comparison.
    "tiny": {"layers": 2, "hidden": 64, "heads": 2, "intermediate": 128, "vocab_size": 1500, "dropout": 0.0},
    "max_length": 64,
    "window_overlap": 16,
    "data": {"corpus": str(ROOT / "annotations" / "gold"), "labels": str(ROOT / "configs" / "labels.yaml")},
    "training": {"epochs": 2, "learning_rate": 2.0e-3, "batch_size": 16, "early_stopping_patience": 5},
}
LOSS_TOLERANCE = 0.005  # relative, per epoch: summation order and the last, uneven batch differ (measured 0.17%; global batches of the wrong make differ by 1-4%)


def train_with(processes: int, folder) -> list[float]:
    folder.mkdir()
    (folder / "ddp.yaml").write_text(yaml.safe_dump(CONFIG, allow_unicode=True), encoding="utf-8")
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"]
    done = subprocess.run([*(launcher if processes > 1 else [sys.executable]), "-m", "train.train", "ddp.yaml"],
                          cwd=folder, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-3000:]
    [run] = (folder / "train" / "runs").glob("ddp-*")
    last = max(run.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    history = json.loads((last / "trainer_state.json").read_text())["log_history"]
    return [entry["loss"] for entry in history if "loss" in entry]


def test_two_processes_train_like_one_with_the_same_global_batch(tmp_path):
    single = train_with(1, tmp_path / "single")
    parallel = train_with(2, tmp_path / "parallel")
    assert len(single) == len(parallel) == 2
    for one, two in zip(single, parallel):
        assert abs(one - two) <= LOSS_TOLERANCE * one, (single, parallel)
    assert parallel[1] < parallel[0]  # and it learns


def test_length_buckets_cover_every_window_once_in_batches_of_similar_length():
    from train.trainer import LengthBucketSampler

    lengths = [(i * 37) % 120 + 5 for i in range(1000)]
    sampler = LengthBucketSampler(lengths, batch_size=16, seed=13)
    first = list(sampler)
    assert sorted(first) == list(range(1000))
    batches = [first[i : i + 16] for i in range(0, 1000, 16)]
    assert [len(b) for b in batches] == [16] * 62 + [8]  # the one short batch comes last
    padding = sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in batches)
    assert padding / sum(lengths) < 0.05  # random batches of 16 pad about 80%
    sampler.set_epoch(1)
    second = list(sampler)
    assert sorted(second) == list(range(1000)) and second != first
