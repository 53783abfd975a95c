"""`make active-sim`: active learning replayed on the written corpus (uncertainty vs random picking).

A linear probe on frozen encoder word features (fast enough to retrain every round) stands in for
fine-tuning: a random seed set, then batches picked by uncertainty (``arner.active.rank_documents``,
as `make suggest` picks) or at random, dev strict F1 after each round, averaged over runs that share
their seed sets between the two strategies. Writes ``eval/active-learning/report.md`` with its plot.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import numpy as np
import torch

from arner.active import margin_uncertainty, rank_documents
from arner.align import make_windows, repair_iob2, tags_to_spans, word_tags
from arner.config import load_config
from arner.documents import Document, Entity, load_corpus
from arner.encoders import ensure_encoder_available
from arner.errors import exit_on_input_error
from arner.evaluate import score
from arner.runs import RUNS
from arner.schema import load_schema
from arner.splits import split_documents
from arner.text import split_words

OUT = Path("eval/active-learning")


@torch.inference_mode()
def word_features(model, tokenizer, docs: list[Document], max_length: int = 256, batch_size: int = 16) -> list[torch.Tensor]:
    """Per document, the encoder's last hidden state at each word's first subword ([words, hidden])."""
    from tqdm import tqdm

    texts_words = [split_words(d.text) for d in docs]
    windows = make_windows(tokenizer, texts_words, "none", max_length, overlap=max_length // 4)
    out = [torch.zeros(len(w), model.config.hidden_size) for w in texts_words]
    for b in tqdm(range(0, len(windows), batch_size), desc="features", unit="batch"):
        batch = windows[b : b + batch_size]
        width = max(len(w.input_ids) for w in batch)
        ids = torch.full((len(batch), width), tokenizer.pad_token_id)
        for row, w in enumerate(batch):
            ids[row, : len(w.input_ids)] = torch.tensor(w.input_ids)
        hidden = model(input_ids=ids, attention_mask=(ids != tokenizer.pad_token_id).long()).last_hidden_state
        for row, w in enumerate(batch):
            owned = (w.first_words >= w.owned[0]) & (w.first_words < w.owned[1])
            out[w.text_index][torch.from_numpy(w.first_words[owned])] = hidden[row, torch.from_numpy(w.first_positions[owned])]
    return out


def _train_probe(features: list[torch.Tensor], labels: list[torch.Tensor], num_labels: int, seed: int) -> torch.nn.Linear:
    torch.manual_seed(seed)
    x, y = torch.cat(features), torch.cat(labels)
    probe = torch.nn.Linear(x.shape[1], num_labels)
    optimizer = torch.optim.Adam(probe.parameters(), lr=5e-3)
    for _ in range(300):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(probe(x), y).backward()
        optimizer.step()
    return probe


def _probe_f1(probe, features, docs, id2label, labels) -> float:
    predicted = []
    for f, d in zip(features, docs):
        words = split_words(d.text)
        tags = repair_iob2([id2label[int(i)] for i in probe(f).argmax(-1)])
        predicted.append(Document(id=d.id, text=d.text, entities=[Entity(start=s, end=e, label=lab) for s, e, lab, _, _ in tags_to_spans(words, tags)]))
    return score(docs, predicted, labels)["seqeval"]["micro_f1"]


@torch.inference_mode(False)
def simulate(train_docs, dev_docs, train_features, dev_features, schema, seed_size: int, batch: int, rounds: int,
             runs: int = 3, seed: int = 13) -> dict:
    """Learning curves (dev strict F1 by number of annotated documents), uncertainty vs random.

    Each run draws one random seed set that both strategies start from; curves are the mean
    over ``runs``. Features are standardised with the pool's mean and deviation.
    """
    pool_x = torch.cat(train_features)
    mean, std = pool_x.mean(0), pool_x.std(0) + 1e-6
    train_features = [(f - mean) / std for f in train_features]
    dev_features = [(f - mean) / std for f in dev_features]
    labels = [torch.tensor([schema.label2id[t] for t in word_tags(split_words(d.text), d.entities)]) for d in train_docs]
    id2label, num = schema.id2label, len(schema.bio_tags)

    def run(strategy: str, run_seed: int) -> list[tuple[int, float]]:
        rng = random.Random(run_seed)
        picked = rng.sample(range(len(train_docs)), seed_size)
        curve = []
        for _ in range(rounds + 1):
            probe = _train_probe([train_features[i] for i in picked], [labels[i] for i in picked], num, run_seed)
            with torch.no_grad():
                curve.append((len(picked), _probe_f1(probe, dev_features, dev_docs, id2label, schema.names)))
                chosen = set(picked)
                pool = [i for i in range(len(train_docs)) if i not in chosen]
                if not pool:
                    break
                if strategy == "random":
                    picked += rng.sample(pool, min(batch, len(pool)))
                else:
                    scores = [margin_uncertainty(probe(train_features[i]).softmax(-1)) for i in pool]
                    picked += [pool[j] for j in rank_documents([train_docs[i].text for i in pool], scores, batch)]
        return curve

    result = {}
    for strategy in ("uncertainty", "random"):
        curves = [run(strategy, seed + r) for r in range(runs)]
        result[strategy] = [(curves[0][k][0], round(float(np.mean([c[k][1] for c in curves])), 4)) for k in range(len(curves[0]))]
        result[f"{strategy}_runs"] = curves
    return result


def write_simulation_report(result: dict, out_dir, setup: str) -> None:
    """``learning_curve.png`` and ``report.md`` (with the plot and the conclusion)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from arner.documents import atomic_write

    out_dir.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6.4, 4))
    for name, curve, style in (("uncertainty + diversity", result["uncertainty"], "o-"), ("random", result["random"], "s--")):
        ax.plot([n for n, _ in curve], [f for _, f in curve], style, label=name)
    ax.set_xlabel("annotated documents")
    ax.set_ylabel("dev strict F1 (micro)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / "learning_curve.png", dpi=110)
    gains = [u[1] - r[1] for u, r in zip(result["uncertainty"][1:], result["random"][1:])]
    rows = ["| documents | uncertainty + diversity | random | difference |", "|---:|---:|---:|---:|"]
    rows += [f"| {u[0]} | {u[1]:.3f} | {r[1]:.3f} | {u[1] - r[1]:+.3f} |" for u, r in zip(result["uncertainty"], result["random"])]
    verdict = "wins" if np.mean(gains) > 0 else "does not win"
    text = "\n".join([
        "# Active learning simulation", "", setup, "",
        "![learning curve](learning_curve.png)", "", *rows, "",
        f"**Conclusion:** uncertainty sampling {verdict}: mean difference over the picked rounds "
        f"{np.mean(gains):+.3f} F1, {sum(g > 0 for g in gains)} of {len(gains)} rounds ahead of random.", ""])
    with atomic_write(out_dir / "report.md") as f:
        f.write(text)


def run_simulation(config: Path, seed_docs: int = 20, batch: int = 20, rounds: int = 8, out: Path = OUT) -> None:
    """Simulate active learning on the gold corpus (uncertainty vs random); write the report with its plot."""
    from transformers import AutoModel, AutoTokenizer

    cfg = load_config(config)
    ensure_encoder_available(cfg.encoder)
    schema = load_schema(cfg.data.labels)
    splits = split_documents(load_corpus(cfg.data.corpus, schema), cfg.data.dev_percent, cfg.data.test_percent)
    cache = RUNS / "active-learning-features.pt"  # frozen-encoder features, reused between runs
    ids = [d.id for d in splits["train"] + splits["dev"]]
    cached = torch.load(cache, weights_only=True) if cache.exists() else {}
    if cached.get("ids") != ids or cached.get("encoder") != cfg.encoder or cached.get("texts") != [d.text for d in splits["train"] + splits["dev"]]:
        tokenizer, model = AutoTokenizer.from_pretrained(cfg.encoder), AutoModel.from_pretrained(cfg.encoder).eval()
        features = word_features(model, tokenizer, splits["train"] + splits["dev"], cfg.max_length)
        cached = {"ids": ids, "encoder": cfg.encoder, "texts": [d.text for d in splits["train"] + splits["dev"]], "features": features}
        cache.parent.mkdir(parents=True, exist_ok=True)
        torch.save(cached, cache)
    train_f, dev_f = cached["features"][: len(splits["train"])], cached["features"][len(splits["train"]):]
    result = simulate(splits["train"], splits["dev"], train_f, dev_f, schema, seed_docs, batch, rounds)
    setup = (f"Gold corpus `{cfg.data.corpus}`: {len(splits['train'])} training documents as the pool, "
             f"{len(splits['dev'])} dev documents for scoring ({'seqeval strict IOB2'}). A linear probe on frozen "
             f"`{cfg.encoder}` word features is retrained after each round (a stand-in for fine-tuning that "
             f"fits in minutes on a CPU). Seed {seed_docs} random documents, then {rounds} rounds of {batch}: "
             f"uncertainty = mean margin of the 10 least certain words, with a bag-of-words diversity penalty "
             f"(0.5 x highest cosine similarity to a picked document). Both strategies start each of 3 runs from "
             f"the same random seed set; the figures are means over the runs. "
             f"Command: `make active-sim`.")
    write_simulation_report(result, out, setup)
    print((out / "report.md").read_text(encoding="utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description="Simulate active learning on the gold corpus (uncertainty vs random).")
    parser.add_argument("--config", type=Path, default=Path("configs/offline-gold-only.yaml"), help="the written corpus and encoder")
    parser.add_argument("--seed-docs", type=int, default=20)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    run_simulation(args.config, args.seed_docs, args.batch, args.rounds)


if __name__ == "__main__":
    exit_on_input_error(main)
