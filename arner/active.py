"""Active learning: rank unlabelled documents by model uncertainty, with a diversity term.

``rank_documents`` scores each document by the mean margin uncertainty (1 - (p1 - p2)) of
its ``k`` least certain words, then picks greedily, lowering a candidate's score by its
highest cosine similarity (hashed bag of words) to what is already picked, so that
near-duplicates do not crowd the top (`make suggest`). The simulation on the written corpus
is ``eval/active_learning.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


def margin_uncertainty(probs: torch.Tensor, k: int = 10) -> float:
    """Mean (1 - (p1 - p2)) over the ``k`` least certain words of one document."""
    if len(probs) == 0:
        return 0.0
    top2 = probs.topk(2, dim=-1).values
    margins = 1.0 - (top2[:, 0] - top2[:, 1])
    return float(margins.topk(min(k, len(margins))).values.mean())


def _bag_of_words(texts: list[str]) -> np.ndarray:
    from sklearn.feature_extraction.text import HashingVectorizer

    vectorizer = HashingVectorizer(n_features=2**16, alternate_sign=False, norm="l2", token_pattern=r"\S+")
    return vectorizer.transform(texts)


def rank_documents(texts: list[str], uncertainties: list[float], n: int, diversity: float = 0.5) -> list[int]:
    """Indices of the ``n`` documents to annotate next: uncertain first, near-duplicates pushed down."""
    vectors = _bag_of_words(texts)
    adjusted = np.asarray(uncertainties, dtype=np.float64)
    max_similarity = np.zeros(len(texts))
    chosen: list[int] = []
    available = np.ones(len(texts), dtype=bool)
    for _ in range(min(n, len(texts))):
        candidate = np.where(available, adjusted - diversity * max_similarity, -np.inf)
        best = int(candidate.argmax())
        chosen.append(best)
        available[best] = False
        max_similarity = np.maximum(max_similarity, (vectors @ vectors[best].T).toarray().ravel())
    return chosen


# ---------------------------------------------------------------- simulation


def suggest(input: Path, model: Path, n: int = 200, diversity: float = 0.5, strategy: str = "uncertainty", seed: int = 0,
            round_name: str = "", agreement: int = 0, out: Path | None = None, to_label_studio: bool = True) -> list[dict]:
    """`make suggest`: pick ``n`` documents of ``input`` that Label Studio does not have yet (by ``model``'s
    uncertainty with diversity, or at random), write them to ``out`` and import them with pre-annotations;
    ``agreement`` of them (spread over the ranking) go in without, as round ``<round>-agree``. Returns the picked."""
    import json
    import random

    from arner import labelstudio as ls
    from arner.documents import atomic_write
    from arner.errors import InputError
    from arner.tagger import Tagger
    from arner.text import split_words

    if strategy not in ("uncertainty", "random"):
        raise InputError(f"--strategy {strategy!r}: expected uncertainty or random")
    if n < 1:
        raise InputError(f"--n {n}: must be at least 1")
    if not 0 <= agreement <= n:
        raise InputError(f"--agreement {agreement}: must be between 0 and --n ({n})")
    records = ls.read_raw(input)
    if not records:
        raise InputError(f"{input}: no documents")
    client = project = None
    if to_label_studio:  # rank only what is not there yet, so N new tasks arrive
        settings = ls.load_settings()
        client = ls.connect(settings)
        project = ls.project_id(client, settings.project)
        there = ls.existing_hashes(client, project)
        records = [r for r in records if not any(t["hash"] in there for t in ls.make_tasks([r]))]
    tagger = Tagger.load(model)
    if strategy == "random":
        picked = random.Random(seed).sample(range(len(records)), min(n, len(records)))
        chosen = [records[i] for i in picked]
    else:
        probs = tagger.word_probabilities([split_words(r["text"]) for r in records], progress=True)
        uncertainty = [margin_uncertainty(p) for p in probs]
        chosen = [records[i] | {"uncertainty": round(uncertainty[i], 4)}
                  for i in rank_documents([r["text"] for r in records], uncertainty, n, diversity)]
    agree = {int(i * len(chosen) / agreement) for i in range(agreement)} if agreement else set()
    for i, record in enumerate(chosen):
        name = f"{round_name or 'round'}-agree" if i in agree else round_name
        record["meta"] = {**record["meta"], "picked": strategy, "picked_by": model.name, **({"round": name} if name else {})}
    out = out or Path("annotations/suggested") / f"{input.stem}-{strategy}-top{n}.jsonl"
    with atomic_write(out) as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in chosen)
    print(f"{input}: {len(records)} new document(s) considered; {len(chosen)} picked ({strategy}) -> {out}")
    if to_label_studio:
        plain = [r for i, r in enumerate(chosen) if i in agree]
        imported, duplicates = ls.import_tasks(client, project, ls.make_tasks([r for i, r in enumerate(chosen) if i not in agree]),
                                               tagger, model.name)
        print(f"imported {imported} task(s) with pre-annotations of {model.name} ({duplicates} already there)")
        if plain:
            imported, duplicates = ls.import_tasks(client, project, ls.make_tasks(plain))
            print(f"imported {imported} task(s) without pre-annotations, for agreement ({duplicates} already there)")
    return chosen
