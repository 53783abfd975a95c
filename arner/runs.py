"""Runs keyed by their inputs: a run's identity is a hash of its config, its corpus snapshot and its encoder.

``train/runs/<name>-<identity>/`` holds one run's checkpoints and ``identity.json``. `make train`
resumes only the run with the same identity; any other change (a learning rate, one corpus file,
other encoder weights) starts a new run beside the old ones and says in one line what differs
from the latest of them. The model directory gets ``run.json``: the identity, the corpus snapshot
and the ids (with content hashes) of its dev and test documents, so `make eval` can score the
model's own test split after the corpus has changed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from arner.documents import atomic_write, corpus_files

RUNS = Path("train/runs")
RUN_FILE = "run.json"
IDENTITY_FILE = "identity.json"
ENCODER_FILES = ("config.json", "tokenizer.json", "vocab.txt", "sentencepiece.bpe.model", "model.safetensors", "pytorch_model.bin")
NOT_IN_IDENTITY = ("name", "output_dir")  # where a run is written, not what it is


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def corpus_snapshot(config) -> dict[str, str]:
    """Every input file of the corpus (gold files, label schema, public corpora) -> its SHA-256."""
    files = [f for p in (config.data.corpus if isinstance(config.data.corpus, list) else [config.data.corpus])
             for f in corpus_files(p)]
    files += [Path(config.data.labels)] + [extra.file for extra in config.extra_corpora]
    return {str(f): file_sha256(f) for f in files}


def encoder_snapshot(encoder: str) -> dict[str, str]:
    """A local encoder folder by the hashes of its files; a hub id (or ``tiny``, built from the config) by name."""
    folder = Path(encoder)
    if not folder.is_dir():
        return {"name": encoder}
    return {name: file_sha256(folder / name) for name in ENCODER_FILES if (folder / name).exists()}


def flat(tree: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def run_identity(config) -> dict:
    """What the run is made from, and its identity: the first 10 hex digits of the hash of all of it."""
    settings = {k: v for k, v in config.model_dump(mode="json").items() if k not in NOT_IN_IDENTITY}
    parts = {"config": settings, "corpus": corpus_snapshot(config), "encoder": encoder_snapshot(config.encoder)}
    parts["identity"] = hashlib.sha256(json.dumps(parts, sort_keys=True).encode("utf-8")).hexdigest()[:10]
    return parts


def differences(old: dict, new: dict) -> str:
    """What differs between two identities, for one line: config keys (old -> new), corpus files, encoder."""
    found = []
    old_config, new_config = flat(old["config"]), flat(new["config"])
    for key in sorted(set(old_config) | set(new_config)):
        if old_config.get(key) != new_config.get(key):
            found.append(f"{key} {old_config.get(key)!r} -> {new_config.get(key)!r}")
    changed = sorted(f for f in set(old["corpus"]) | set(new["corpus"]) if old["corpus"].get(f) != new["corpus"].get(f))
    if changed:
        found.append(f"corpus file{'s' if len(changed) > 1 else ''} {', '.join(changed[:3])}"
                     + (f" and {len(changed) - 3} more" if len(changed) > 3 else ""))
    if old["encoder"] != new["encoder"]:
        found.append("encoder weights or files")
    return "; ".join(found) or "nothing"


def run_dir_of(config, identity: dict | None = None, runs: Path = RUNS) -> Path:
    return runs / f"{config.name}-{(identity or run_identity(config))['identity']}"


def choose_run_dir(config, runs: Path = RUNS) -> tuple[Path, dict, str]:
    """The run folder for ``config`` (created, with its identity), the identity, and one line saying
    whether the run is new and why."""
    identity = run_identity(config)
    folder = run_dir_of(config, identity, runs)
    if (folder / IDENTITY_FILE).exists():
        return folder, identity, f"[train] {folder}: same config, corpus and encoder: resuming it where it has a checkpoint"
    earlier = sorted((p for p in runs.glob(f"{config.name}-*/{IDENTITY_FILE}")), key=lambda p: p.stat().st_mtime)
    if earlier:
        last = earlier[-1].parent
        why = f"differs from {last} in {differences(json.loads(earlier[-1].read_text(encoding='utf-8')), identity)}"
    else:
        why = f"no earlier run of {config.name}"
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_write(folder / IDENTITY_FILE) as f:
        json.dump(identity, f, indent=1, ensure_ascii=False)
    return folder, identity, f"[train] new run {folder}: {why}"


def document_hash(doc) -> str:
    return hashlib.sha256(doc.to_json().encode("utf-8")).hexdigest()[:12]


def run_record(identity: dict, splits: dict) -> str:
    """``run.json`` of a model folder: the identity and the dev/test documents (id -> content hash) it was measured on."""
    record = {**identity, "splits": {name: {d.id: document_hash(d) for d in splits[name]} for name in ("dev", "test")},
              "train_documents": len(splits["train"])}
    return json.dumps(record, indent=1, ensure_ascii=False) + "\n"


def own_split(model_dir: Path, docs: list, split: str = "test") -> tuple[list, str]:
    """The documents of the model's own ``split`` found in ``docs`` (the current corpus), and a line
    saying how the corpus changed since training ("" when it did not)."""
    path = Path(model_dir) / RUN_FILE
    if not path.exists():
        return [], f"{model_dir}: no {RUN_FILE} (trained before runs were recorded): scoring the current corpus's {split} split"
    recorded = json.loads(path.read_text(encoding="utf-8"))["splits"][split]
    by_id = {d.id: d for d in docs}
    found = [by_id[i] for i in recorded if i in by_id]
    edited = sum(1 for d in found if document_hash(d) != recorded[d.id])
    missing = len(recorded) - len(found)
    if not edited and not missing:
        return found, ""
    return found, (f"the corpus changed since {model_dir} was trained: scoring its own {split} split, "
                   f"{len(found)} of {len(recorded)} documents ({edited} edited since, {missing} gone)")
