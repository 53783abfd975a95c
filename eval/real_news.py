"""Experiments on the real news annotated in Label Studio: what each training set buys on real text.

Each *arm* is a training set: the written gold corpus (or not) plus some of the real news of
``annotations/realnews/`` (whole round files, or the first N real training sentences). Every
arm is trained with the same recipe (a base config, one run per seed) and scored on the
real-news dev set (never trained on), the written test split and the real test split. The
real dev/test articles are the same in every arm; only the real *training* sentences vary.
One JSON per run under ``eval/real-news/runs/`` (a finished run is not redone); ``report``
turns them into ``eval/real-news/report.md`` (mean and spread over seeds) and a plot.

    python -m eval.real_news run rounds --arm al=r1 --arm random=r1-random --seeds 13
    python -m eval.real_news run curve --sizes 0 500 1000 2000 all --seeds 13 14 15 [--real-only]
    python -m eval.real_news report
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import time
from pathlib import Path

import torch

from arner.config import data_dir, load_config
from arner.documents import atomic_write, load_corpus, write_documents
from arner.evaluate import known_forms, predict_documents, score
from arner.schema import load_schema
from arner.runs import run_dir_of
from arner.splits import split_documents
from arner.tagger import Tagger

DATA_DIR = data_dir()
REAL = Path("annotations/realnews")
WRITTEN = "annotations/gold"
OUT = Path("eval/real-news")
WORK = Path("train/runs/real-news")  # derived corpora and models (git-ignored); models are deleted after scoring


def real_documents(schema, rounds: list[str] | None = None):
    """The pulled real news, all of it or the documents of some annotation rounds (``meta.round``)."""
    files = sorted(REAL.glob("labelstudio-*.jsonl"))
    docs = load_corpus([str(f) for f in files], schema) if files else []
    return docs if rounds is None else [d for d in docs if d.meta.get("round") in rounds]


def first_train_sentences(docs, size: int | None):
    """All real dev/test documents plus the first ``size`` real training documents (a fixed hash order)."""
    splits = split_documents(docs)
    order = sorted(splits["train"], key=lambda d: hashlib.sha1(d.id.encode("utf-8")).hexdigest())
    return splits["dev"] + splits["test"] + (order if size is None else order[:size])


def run_arm(base, name: str, real_docs, written: bool, seed: int, keep: bool = False) -> Path:
    """Train one arm with one seed, score it, write its JSON; returns the JSON path (skipped if there)."""
    from train.train import train

    result = OUT / "runs" / f"{name}-s{seed}.json"
    if result.exists():
        print(f"[real-news] {result} exists: skipped")
        return result
    schema = load_schema(base.data.labels)
    corpus = WORK / "data" / f"{name}.jsonl"
    write_documents(corpus, real_docs)
    config = base.model_copy(deep=True, update={"name": f"real-news-{name}-s{seed}",
                                                "output_dir": str(WORK / "models" / f"{name}-s{seed}")})
    config.data.corpus = ([WRITTEN] if written else []) + ([str(corpus)] if real_docs else [])
    config.training.seed = seed
    if not written:
        config.extra_corpora = []
    started = time.perf_counter()
    train(config, Path(f"{base.name} ({name}, seed {seed})"))
    seconds = time.perf_counter() - started
    tagger = Tagger.load(config.model_dir)
    splits = split_documents(load_corpus(config.data.corpus, schema))
    real_ids = {d.id for d in real_docs}
    known = known_forms(splits["train"])
    sets = {"realnews-dev": load_corpus(DATA_DIR / "realnews-dev" / "dev.jsonl", schema),
            "written test": [d for d in splits["test"] if d.id not in real_ids],
            "real test": [d for d in splits["test"] if d.id in real_ids]}
    scores = {}
    for set_name, docs in sets.items():
        if docs:
            m = score(docs, predict_documents(tagger, docs), schema.names, known)
            scores[set_name] = {"micro": m["micro"]["f1"], **{k: v["f1"] for k, v in m["per_label"].items()},
                                "unseen": m["names"]["unseen"]["f1"], "documents": len(docs)}
    real_train = sum(1 for d in splits["train"] if d.id in real_ids)
    with atomic_write(result) as f:
        json.dump({"arm": name, "seed": seed, "written": written, "real_train_sentences": real_train,
                   "recipe": base.name, "train_seconds": round(seconds, 1),
                   "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU", "scores": scores}, f, indent=1)
    shutil.rmtree(run_dir_of(config), ignore_errors=True)
    if not keep:
        shutil.rmtree(config.model_dir, ignore_errors=True)
    print(f"[real-news] {name} seed {seed}: " + ", ".join(f"{k} {v['micro']:.3f}" for k, v in scores.items()))
    return result


def mean_spread(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.3f} (1 seed)"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f} (n={len(values)}, {min(values):.3f}-{max(values):.3f})"


def short_spread(values: list[float]) -> str:
    return f"{values[0]:.3f}" if len(values) == 1 else f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def report() -> None:
    """``report.md``: per arm and test set, mean ± standard deviation over seeds; ``curve.png``."""
    runs = [json.loads(p.read_text()) for p in sorted((OUT / "runs").glob("*.json"))]
    arms: dict[str, list[dict]] = {}
    for r in runs:
        arms.setdefault(r["arm"], []).append(r)
    lines = ["# Real news: what each training set buys", "",
             "Generated by `python -m eval.real_news report` from `eval/real-news/runs/*.json` "
             "(one file per arm and seed; `python -m eval.real_news run ...` makes them). "
             "Exact-span F1; mean ± standard deviation over seeds, with the range. "
             "The real-news dev set (`$DATA_DIR/realnews-dev`) is never trained on.", ""]
    for set_name in ("realnews-dev", "written test", "real test"):
        lines += [f"## {set_name}", "", "| arm | written corpus | real training sentences | micro F1 | ARMED_GROUP | LOCATION | COUNT | unseen names |",
                  "|---|---|---:|---|---:|---:|---:|---:|"]
        for arm, rs in sorted(arms.items(), key=lambda kv: (not kv[1][0]["written"], kv[1][0]["real_train_sentences"])):
            rs = [r for r in rs if set_name in r["scores"]]
            if not rs:
                continue
            per_label = " | ".join(short_spread([r["scores"][set_name][k] for r in rs]) for k in ("ARMED_GROUP", "LOCATION", "COUNT", "unseen"))
            lines.append(f"| {arm} | {'yes' if rs[0]['written'] else 'no'} | {rs[0]['real_train_sentences']} | "
                         f"{mean_spread([r['scores'][set_name]['micro'] for r in rs])} | {per_label} |")
        lines.append("")
    plot_arms(arms, OUT / "curve.png")
    lines += ["## F1 against the real sentences trained on", "",
              "Each point is an arm (mean over its seeds, bars: ± standard deviation); above on the real-news dev set, "
              "below on the real test split (curves only); "
              "arms named `curve-*` (`run curve`) are joined by a line, the written + real one ending at `all` "
              "(the same training set, recipe and seeds).", "",
              "![F1 on real-news dev and the real test split against real training sentences](curve.png)", ""]
    with atomic_write(OUT / "report.md") as f:
        f.write("\n".join(lines))
    print((OUT / "report.md").read_text())


def on_curve(arm: str) -> bool:
    """Arms joined into a learning curve: ``curve-*``, and ``all`` (the written corpus plus every round, trained with the
    curve's recipe and seeds: the same training set as ``curve-written+real-all``, which is therefore not run again)."""
    return arm.startswith("curve-") or arm == "all"


def plot_arms(arms: dict[str, list[dict]], path: Path) -> None:
    """F1 (micro and per label) against the real sentences each arm trained on: real-news dev (every arm) above,
    the real test split below (the curves only: their real test articles are the same in every run)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def draw(ax, x, values, fmt, label):
        ax.errorbar(x, [statistics.mean(v) for v in values], yerr=[statistics.stdev(v) if len(v) > 1 else 0 for v in values],
                    fmt=fmt, capsize=3, label=label)

    keys = ("micro", "ARMED_GROUP", "LOCATION", "COUNT")
    fig, axes = plt.subplots(2, len(keys), figsize=(16, 8), sharey=True)
    for row, set_name in zip(axes, ("realnews-dev", "real test")):
        for ax, key in zip(row, keys):
            for written, style in ((True, "o"), (False, "s")):
                curve = sorted((rs[0]["real_train_sentences"], rs) for arm, rs in arms.items()
                               if on_curve(arm) and rs[0]["written"] == written and set_name in rs[0]["scores"])
                if curve:
                    draw(ax, [x for x, _ in curve], [[r["scores"][set_name][key] for r in rs] for _, rs in curve],
                         style + "-", "curve, written + real" if written else "curve, real only")
            for arm, rs in sorted(arms.items()):
                if set_name == "realnews-dev" and not on_curve(arm):
                    draw(ax, [rs[0]["real_train_sentences"]], [[r["scores"][set_name][key] for r in rs]], "D",
                         f"{arm} (n={len(rs)})")
            ax.set_title(f"{key} F1 ({set_name})")
            ax.set_xlabel("real training sentences")
            ax.grid(alpha=0.3)
        if row[0].get_legend_handles_labels()[0]:
            row[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run")
    run.add_argument("kind", choices=["rounds", "curve"])
    run.add_argument("--config", default="configs/offline-realnews.yaml",
                     help="the recipe every arm is trained with (its corpus is replaced by the arm's); "
                          "configs/offline.yaml adds the robustness recipe")
    run.add_argument("--arm", action="append", default=[], help="rounds: NAME=ROUND[,ROUND...] (written corpus plus those rounds)")
    run.add_argument("--sizes", nargs="*", default=["0", "500", "1000", "2000", "all"])
    run.add_argument("--real-only", action="store_true", help="curve: without the written corpus and public corpora")
    run.add_argument("--seeds", nargs="+", type=int, default=[13])
    run.add_argument("--keep", action="store_true", help="keep the trained models (e.g. to pick the next round with)")
    sub.add_parser("report")
    args = parser.parse_args()
    if args.command == "report":
        return report()
    base = load_config(args.config)
    schema = load_schema(base.data.labels)
    for seed in args.seeds:
        if args.kind == "rounds":
            for arm in args.arm:
                name, rounds = arm.split("=", 1)  # "base=" is the written corpus alone
                run_arm(base, name, real_documents(schema, [r for r in rounds.split(",") if r]), True, seed, args.keep)
        else:
            docs = real_documents(schema)
            for size in args.sizes:
                if args.real_only and size == "0":
                    continue  # nothing to train on
                if not args.real_only and size == "all":
                    print("[real-news] written + all real news is the `all` arm (run rounds --arm all=ROUND,...): skipped")
                    continue
                n = None if size == "all" else int(size)
                prefix = "curve-real" if args.real_only else "curve-written+real"
                run_arm(base, f"{prefix}-{size}", first_train_sentences(docs, n), not args.real_only, seed, args.keep)
    report()


if __name__ == "__main__":
    main()
