"""Inference benchmark: the project's Tagger beside plain ``transformers.pipeline`` in one run.

For each model (an AraBERT-base-sized BERT with random weights, same compute as the real
one, and the offline e5-small encoder when built), it tags the same news sentences with
``pipeline("token-classification")`` at its default settings (batch size 1), the pipeline
at batch 64, and ``Tagger.tag`` (raw text in, entities with offsets out), and prints
subword tokens/s, the ratio to the default pipeline and peak memory. Results go to
``bench/results/inference-<device>.json``.

    python bench/bench_inference.py [--sentences 2000] [--baseline-sentences 300]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from arner.documents import load_corpus  # noqa: E402
from arner.schema import load_schema  # noqa: E402
from arner.tagger import Tagger, TaggerSettings  # noqa: E402
from arner.align import make_windows  # noqa: E402
from arner.text import split_sentences, split_words  # noqa: E402


def news_sentences(n: int) -> list[str]:
    docs = load_corpus(ROOT / "annotations" / "gold", load_schema(ROOT / "configs" / "labels.yaml"))
    sentences = [d.text[a:b] for d in docs for a, b in split_sentences(d.text)]
    return [sentences[i % len(sentences)] for i in range(n)]


def base_sized_model(folder: Path):
    """An AraBERT-base-sized token classifier (12 x 768, 64k vocabulary) with random weights."""
    from transformers import AutoTokenizer, BertConfig, BertForTokenClassification

    from arner.config import TinyEncoder
    from arner.encoders import build_tiny
    from arner.text import split_words

    if not (folder / "tokenizer.json").exists():
        words = [w.text for s in news_sentences(3000) for w in split_words(s)]
        build_tiny(words, TinyEncoder(vocab_size=64000), 512, folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    schema = load_schema(ROOT / "configs" / "labels.yaml")
    config = BertConfig(vocab_size=64000, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                        intermediate_size=3072, num_labels=len(schema.bio_tags), id2label=schema.id2label,
                        label2id=schema.label2id, pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    return BertForTokenClassification(config).eval(), tokenizer


def offline_model():
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    path = ROOT / "models" / "offline"
    if not (path / "config.json").exists():
        return None
    return AutoModelForTokenClassification.from_pretrained(path).eval(), AutoTokenizer.from_pretrained(path)


def subword_tokens(tokenizer, texts: list[str]) -> int:
    return sum(len(ids) for ids in tokenizer(texts)["input_ids"])


def timed(fn) -> float:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start


def peak_memory_mb() -> float:
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_model(name, model, tokenizer, texts, baseline_texts, batch_size) -> list[dict]:
    from transformers import pipeline

    device = 0 if torch.cuda.is_available() else -1
    dtype = torch.bfloat16 if torch.cuda.is_available() else torch.float32
    model = model.to("cuda" if device == 0 else "cpu")
    rows = []
    plain = pipeline("token-classification", model=model, tokenizer=tokenizer, device=device, dtype=dtype)
    plain(baseline_texts[:8])  # warm-up
    base_tps = subword_tokens(tokenizer, baseline_texts) / timed(lambda: plain(baseline_texts))
    rows.append({"model": name, "measurement": "pipeline(), default batch 1", "tokens_per_s": base_tps})
    batched_tps = subword_tokens(tokenizer, baseline_texts) / timed(lambda: plain(baseline_texts, batch_size=64))
    rows.append({"model": name, "measurement": "pipeline(), batch 64", "tokens_per_s": batched_tps})
    tagger = Tagger(model, tokenizer, TaggerSettings(max_length=512, window_overlap=128), batch_size=batch_size)
    tagger.tag(texts[:64])  # warm-up
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    n_tokens = subword_tokens(tokenizer, texts)
    tagger_tps = n_tokens / timed(lambda: tagger.tag(texts))
    rows.append({"model": name, "measurement": f"Tagger.tag (end to end, batch {batch_size})", "tokens_per_s": tagger_tps,
                 "peak_memory_mb": round(peak_memory_mb())})
    # Where the time goes: word splitting + windowing alone (CPU), for reading the end-to-end figure.
    prep = timed(lambda: make_windows(tokenizer, [split_words(t) for t in texts], "none", 512, 128))
    rows.append({"model": name, "measurement": "  of which: word split + tokenize + windows only", "tokens_per_s": n_tokens / prep})
    for row in rows:
        row["ratio_to_default_pipeline"] = round(row["tokens_per_s"] / base_tps, 2)
        row["tokens_per_s"] = round(row["tokens_per_s"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sentences", type=int, default=2000)
    parser.add_argument("--baseline-sentences", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    texts = news_sentences(args.sentences)
    baseline = texts[: args.baseline_sentences]
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU ({torch.get_num_threads()} threads)"
    rows = bench_model("AraBERT-base-sized (random weights)", *base_sized_model(ROOT / "bench" / ".cache" / "base-sized"),
                       texts, baseline, args.batch_size)
    offline = offline_model()
    if offline:
        rows += bench_model("offline e5-small (trained)", *offline, texts, baseline, args.batch_size)
    print(f"\nInference on {device}: {len(texts)} sentences (baselines on the first {len(baseline)})\n")
    print("| model | measurement | subword tokens/s | × default pipeline | peak memory MB |")
    print("|---|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['model']} | {r['measurement']} | {r['tokens_per_s']:,} | {r['ratio_to_default_pipeline']} | {r.get('peak_memory_mb', '')} |")
    out = ROOT / "bench" / "results" / f"inference-{device.split(' (')[0].replace(' ', '_')}.json"
    out.write_text(json.dumps({"device": device, "rows": rows}, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nsaved {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
