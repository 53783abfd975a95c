"""`make predict`: tag a file of texts into JSONL, streamed in batches, resumable, guarded.

The whole input is checked first (``arner.documents.iter_records``), then the output place,
then the model; only then does tagging start. Lines go to ``OUTPUT.partial``, renamed to
OUTPUT when done. ``OUTPUT.partial.json`` records the input (its SHA-256) and the model the
partial file belongs to: a run again with both the same resumes after the lines already
written; a leftover of another run is an error, never merged. OUTPUT is never the input and
never replaced unless asked (``overwrite``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from arner.documents import atomic_write, iter_records
from arner.errors import InputError
from arner.runs import file_sha256

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def check_output(input: Path, output: Path, overwrite: bool) -> None:
    """Refuse an OUTPUT that is the input, a folder, already there (unless ``overwrite``) or not writable."""
    if output.is_dir():
        raise InputError(f"{output}: is a directory; OUTPUT must be a file name")
    if output.exists() and os.path.samefile(input, output):
        raise InputError(f"{output}: is the INPUT file; write the output to another file")
    if output.exists() and not overwrite:
        raise InputError(f"{output}: already exists; pass --overwrite (make predict ... OVERWRITE=1) to replace it")
    folder = next(p for p in output.parents if p.exists())
    if not folder.is_dir():
        raise InputError(f"{output}: cannot write there: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{output}: cannot write there: {folder} is not writable")


def run_record(input: Path, model: Path) -> dict:
    """What a partial output belongs to: the input's path and content hash, the model and its weights."""
    weights = next((model / name for name in WEIGHT_FILES if (model / name).exists()), None)
    stamp = f"{weights.stat().st_size}:{weights.stat().st_mtime_ns}" if weights else None
    return {"input": str(input.resolve()), "input_sha256": file_sha256(input), "model": str(model.resolve()),
            "weights": stamp}


def check_partial(partial: Path, record_file: Path, record: dict) -> None:
    """A partial output may only be resumed by a run with the same input and model."""
    try:
        old = json.loads(record_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old = None
    if not isinstance(old, dict) or not set(record) <= set(old):
        raise InputError(f"{partial}: no record of the input and model it was written from; delete it to start over")
    start_over = f"delete it and {record_file.name} to start over"
    for what, keys in (("input", ("input_sha256",)), ("model", ("model", "weights"))):
        if any(old.get(k) != record[k] for k in keys):
            changed = ", since changed" if old.get(what) == record[what] else ""
            raise InputError(f"{partial}: written from another {what} ({old.get(what)}{changed}); {start_over}")


def lines_done(partial: Path, ids_are_line_numbers: bool) -> int:
    """Input lines an interrupted run finished: its output is cut back to the last complete line
    (a write may have stopped halfway), read without loading it whole. For a ``.txt`` input the
    last line number written (ids are line numbers), else the number of records written."""
    written, kept, last = 0, 0, None
    with partial.open("rb") as f:
        for line in f:
            if not line.endswith(b"\n"):
                break
            written, kept, last = written + 1, kept + len(line), line
    with partial.open("r+b") as f:
        f.truncate(kept)
    if ids_are_line_numbers and last is not None:
        try:
            return int(json.loads(last)["id"])
        except (ValueError, KeyError, TypeError):
            raise InputError(f"{partial}:{written}: not a line this command wrote (no line-number id); "
                             "delete the file to start over") from None
    return written


def predict_file(model: Path, input: Path, output: Path, batch: int = 256, overwrite: bool = False) -> None:
    from tqdm import tqdm

    from arner.tagger import Tagger

    if batch < 1:
        raise InputError(f"--batch {batch}: must be at least 1")
    total = sum(1 for _ in iter_records(input))  # every line checked before anything is loaded or written
    check_output(input, output, overwrite)
    partial, record_file = output.with_name(output.name + ".partial"), output.with_name(output.name + ".partial.json")
    record, txt = run_record(input, model), input.suffix == ".txt"
    done = 0
    if partial.exists():
        check_partial(partial, record_file, record)
        done = lines_done(partial, txt)
    tagger = Tagger.load(model)
    if not partial.exists():
        with atomic_write(record_file) as f:
            json.dump(record, f, ensure_ascii=False)
    with partial.open("a", encoding="utf-8") as out, tqdm(total=total, unit="doc", desc="predict") as bar:
        pending = []
        for index, (number, item) in enumerate(iter_records(input)):
            if (number if txt else index + 1) <= done:
                bar.update(1)
                continue
            pending.append({"id": str(number), "text": item["text"]} if txt else item)  # .txt: ids are line numbers
            if len(pending) == batch:
                _write_predictions(tagger, pending, out)
                bar.update(len(pending))
                pending = []
        if pending:
            _write_predictions(tagger, pending, out)
            bar.update(len(pending))
    partial.replace(output)
    record_file.unlink(missing_ok=True)


def _write_predictions(tagger, records: list[dict], out) -> None:
    for record, entities in zip(records, tagger.tag([r["text"] for r in records])):
        out.write(json.dumps({**record, "entities": entities}, ensure_ascii=False) + "\n")
    out.flush()
