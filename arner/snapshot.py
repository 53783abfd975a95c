"""The model directory's snapshot (``arner-snapshot.json``): what tagging needs besides the weights.

Written beside the weights when a model is saved (``train.train.save_model``), or afterwards
into an existing model directory (``arner snapshot MODEL``, ``make snapshot``), and read by
``Tagger.load``. It holds:

- ``identity``: the model's name and version (name + the first 8 hex digits of the weights'
  SHA-256, what Label Studio shows as the model version), the encoder, and what it was trained
  on (the run identity of ``arner.runs``: encoder, corpus files with their SHA-256);
- ``labels``: the label schema (names, descriptions, colours, hotkeys);
- ``aliases``: the alias table (canonical name -> surface forms) used for ``canonical``;
- ``known_forms``: the set ``normalized_form`` checks a stripped proclitic against.

So tagging reads neither ``annotations/`` nor ``configs/``: the same directory gives the same
entities inside the repository, in another checkout, or installed elsewhere. A directory saved
before snapshots existed loads inside a source checkout with a one-line note (the snapshot is
then built from that checkout's ``annotations/gold`` and ``configs/``, which is exactly what
tagging used before); outside a checkout it is refused with a one-line error.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from arner.errors import InputError
from arner.predict import WEIGHT_FILES

SNAPSHOT_FILE = "arner-snapshot.json"
FORMAT = 1
REPO = Path(__file__).resolve().parent.parent
_noted: set[str] = set()


@dataclass(frozen=True)
class Snapshot:
    identity: dict
    labels: list[dict]
    aliases: dict[str, list[str]]
    known_forms: frozenset[str] = field(repr=False)
    legacy: bool = False  # built from the checkout: the directory has no snapshot file

    @property
    def version(self) -> str:
        return self.identity["version"]

    @property
    def label_names(self) -> list[str]:
        return [spec["name"] for spec in self.labels]

    def alias_lookup(self) -> dict[str, str]:
        from arner.aliases import lookup_of

        return lookup_of(self.aliases)

    def as_json(self) -> dict:
        return {"format": FORMAT, "identity": self.identity, "labels": self.labels, "aliases": self.aliases,
                "known_forms": sorted(self.known_forms)}


def model_identity(model_dir: Path, config=None, recorded: str = "at training") -> dict:
    """Name, version and what the model in ``model_dir`` (weights already there) was trained on: the
    run's identity and input hashes from its ``run.json`` (``arner.runs``), or, for a directory saved
    before run records, computed now from its config."""
    from arner.runs import RUN_FILE, file_sha256, run_identity

    model_dir = Path(model_dir)
    weights = next((model_dir / n for n in WEIGHT_FILES if (model_dir / n).exists()), None)
    if weights is None:
        raise InputError(f"{model_dir}: no weights ({' or '.join(WEIGHT_FILES)})")
    sha = file_sha256(weights)
    name = config.name if config is not None else model_dir.name
    identity = {"name": name, "version": f"{name}-{sha[:8]}", "weights_sha256": sha,
                "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "recorded": recorded}
    run = None
    if (model_dir / RUN_FILE).exists():
        run = json.loads((model_dir / RUN_FILE).read_text(encoding="utf-8"))
    elif config is not None:
        run = run_identity(config)
    if run:
        identity |= {"run": run["identity"], "trained_on": {
            "encoder": run["config"].get("encoder"), "encoder_files": run["encoder"], "corpus": run["corpus"],
            **({"train_documents": run["train_documents"]} if "train_documents" in run else {})}}
    return identity


def snapshot_from_repository(identity: dict, labels_path: Path | None = None) -> Snapshot:
    """The snapshot of what tagging reads from this checkout: ``configs/labels.yaml`` (or ``labels_path``),
    ``configs/aliases.yaml``, and the known forms of ``annotations/gold`` (``arner.normalize.default_known``)."""
    from arner.aliases import load_aliases
    from arner.normalize import default_known
    from arner.schema import DEFAULT_LABELS_PATH, load_schema

    schema = load_schema(labels_path or DEFAULT_LABELS_PATH)
    return Snapshot(identity, [spec.model_dump() for spec in schema.labels], load_aliases(), default_known())


def write_snapshot(model_dir: Path, config=None, recorded: str = "at training") -> Snapshot:
    """Write ``arner-snapshot.json`` into ``model_dir`` (temporary file, then rename)."""
    from arner.documents import atomic_write

    labels = Path(config.data.labels) if config is not None else None
    snapshot = snapshot_from_repository(model_identity(model_dir, config, recorded), labels)
    with atomic_write(Path(model_dir) / SNAPSHOT_FILE) as out:
        out.write(json.dumps(snapshot.as_json(), ensure_ascii=False, indent=1) + "\n")
    return snapshot


def snapshot_existing(model_dir: Path) -> Snapshot:
    """Write the snapshot into a model directory saved before snapshots (``arner snapshot``); the
    identity comes from its ``training_config.yaml`` when there, the corpus hashed now."""
    model_dir = Path(model_dir)
    config = None
    if (model_dir / "training_config.yaml").exists():
        import yaml

        from arner.config import Config

        config = Config.model_validate(yaml.safe_load((model_dir / "training_config.yaml").read_text(encoding="utf-8")))
    return write_snapshot(model_dir, config, recorded="afterwards by `arner snapshot` (corpus hashed then, not at training)")


def read_snapshot(model_dir: Path) -> Snapshot:
    """The snapshot of ``model_dir``; see the module doc for directories saved without one."""
    model_dir = Path(model_dir)
    path = model_dir / SNAPSHOT_FILE
    if not path.exists():
        return _legacy(model_dir)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("format") != FORMAT:
            raise ValueError(f"format {raw.get('format')!r}, expected {FORMAT}")
        snapshot = Snapshot(dict(raw["identity"]), list(raw["labels"]), dict(raw["aliases"]), frozenset(raw["known_forms"]))
        snapshot.version, snapshot.label_names  # noqa: B018 - the fields tagging needs are there
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"{path}: not a valid model snapshot ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); "
                         f"rewrite it with `arner snapshot {model_dir}`") from None
    return snapshot


def _legacy(model_dir: Path) -> Snapshot:
    if not (REPO / "configs" / "aliases.yaml").exists():
        raise InputError(f"{model_dir}: no {SNAPSHOT_FILE} (saved before model snapshots); in the arner repository run "
                         f"`make snapshot MODEL={model_dir}` or retrain with `make train`")
    if str(model_dir) not in _noted:
        _noted.add(str(model_dir))
        print(f"note: {model_dir}: no {SNAPSHOT_FILE}; using labels, aliases and known forms of this checkout "
              f"({REPO}); `make snapshot MODEL={model_dir}` writes them into the folder", file=sys.stderr)
    identity = {"name": model_dir.name, "version": model_dir.name, "recorded": "not recorded (no snapshot)"}
    return dataclasses.replace(snapshot_from_repository(identity), legacy=True)
