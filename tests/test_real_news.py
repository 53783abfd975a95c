"""The real-news experiment runner (eval/real_news.py): which sentences an arm trains on, and the report."""

import importlib.util
import json

from arner.documents import Document
from arner.splits import split_of

from conftest import ROOT

spec = importlib.util.spec_from_file_location("real_news", ROOT / "eval" / "real_news.py")
real_news = importlib.util.module_from_spec(spec)
spec.loader.exec_module(real_news)


def test_curve_points_keep_every_dev_and_test_article_and_grow_the_training_sentences():
    docs = [Document(id=f"s{i}", text="نص", meta={"url": f"http://news/{i // 2}"}) for i in range(200)]
    held_out = {d.id for d in docs if split_of(d) != "train"}
    small, large = real_news.first_train_sentences(docs, 10), real_news.first_train_sentences(docs, 50)
    for subset, n in ((small, 10), (large, 50)):
        assert held_out <= {d.id for d in subset} and len(subset) == len(held_out) + n
    assert {d.id for d in small} < {d.id for d in large}  # the first 10 are among the first 50
    assert len(real_news.first_train_sentences(docs, None)) == 200


def test_report_gives_mean_and_spread_over_seeds(tmp_path, monkeypatch):
    monkeypatch.setattr(real_news, "OUT", tmp_path)
    (tmp_path / "runs").mkdir()
    for seed, micro, group in ((13, 0.80, 0.6), (14, 0.84, 0.8), (15, 0.82, 0.7)):
        scores = {"micro": micro, "ARMED_GROUP": group, "LOCATION": 0.9, "COUNT": 0.8, "unseen": 0.6, "documents": 200}
        (tmp_path / "runs" / f"base-s{seed}.json").write_text(json.dumps(
            {"arm": "base", "seed": seed, "written": True, "real_train_sentences": 0, "scores": {"realnews-dev": scores}}))
    real_news.report()
    text = (tmp_path / "report.md").read_text()
    assert ("| base | yes | 0 | 0.820 ± 0.020 (n=3, 0.800-0.840) | 0.700 ± 0.100 | 0.900 ± 0.000 | 0.800 ± 0.000 | "
            "0.600 ± 0.000 |") in text


def test_arms_take_the_documents_of_their_rounds_from_every_pulled_file(tmp_path, monkeypatch, schema):
    monkeypatch.setattr(real_news, "REAL", tmp_path)
    for name, rounds in (("labelstudio-r1-t0000.jsonl", ["r1", "r1-agree"]), ("labelstudio-r1-t0500.jsonl", ["r1"]),
                         ("labelstudio-r10-t0000.jsonl", ["r10"])):
        (tmp_path / name).write_text("".join(
            Document(id=f"{name[12:-6]}-{i}", text="نص", meta={"round": r}).to_json() + "\n" for i, r in enumerate(rounds)),
            encoding="utf-8")
    assert [d.id for d in real_news.real_documents(schema, ["r1"])] == ["r1-t0000-0", "r1-t0500-0"]
    assert [d.id for d in real_news.real_documents(schema, ["r1-agree", "r10"])] == ["r1-t0000-1", "r10-t0000-0"]
    assert len(real_news.real_documents(schema)) == 4


def test_the_learning_curves_join_the_curve_runs_and_the_every_round_arm_only():
    arms = ["curve-real-500", "curve-written+real-0", "all", "all-robust", "al-r1", "random-r1", "gpu-all"]
    assert [a for a in arms if real_news.on_curve(a)] == ["curve-real-500", "curve-written+real-0", "all"]
