"""Speed benchmark: the project's inference and training beside plain transformers, in one run.

For each model (an AraBERT-base-sized BERT with random weights, same compute as the real one, and a
trained e5-small model) it measures, on the same news sentences:

- inference: ``Tagger.tag`` (raw text in, entities with offsets out) on every path it has, against
  ``pipeline("token-classification")`` at its defaults, with each path's F1 and entities against fp32
  one text at a time on the written test split and the real news;
- training: the project's trainer (``train.trainer.project_trainer``) at each batch size against the
  ``Trainer`` defaults (fp32, batch 8), in real (non-padding) tokens per second, with MFU on a GPU;
- with ``--gpu`` (or ``--stages gpu-paths``): the Tagger with a prefetch thread, the same compiled over fixed
  buckets (compile time included), the forward-only ceiling, each beside ``pipeline(batch_size=64)``,
  and a ``torch.profiler`` table; ``--gpu`` first trains ``--offline-config`` start to saved and
  benches the model it saves.

It prints the table after each stage and saves it to ``<results>/speed-<device>.json``.

    python bench/bench_speed.py              # CPU (make bench)
    python bench/bench_speed.py --gpu        # one H100/H200 (README, "GPU: one H200")
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from arner.config import Config, TrainingConfig  # noqa: E402
from arner.documents import load_corpus  # noqa: E402
from arner.evaluate import predict_documents, score  # noqa: E402
from arner.schema import load_schema  # noqa: E402
from arner.splits import split_documents  # noqa: E402
from arner.config import data_dir  # noqa: E402
from arner.runtime import calibration_texts, export_onnx, exported_files, installed as onnx_installed  # noqa: E402
from arner.snapshot import read_snapshot  # noqa: E402
from arner.tagger import PATHS, Tagger, TaggerSettings, bf16_choice, path_choice  # noqa: E402
from arner.text import split_sentences, split_words  # noqa: E402
from train.dataset import build_dataset, training_windows  # noqa: E402
from train.trainer import project_trainer  # noqa: E402

SCHEMA = load_schema(ROOT / "configs" / "labels.yaml")
GOLD = split_documents(load_corpus(ROOT / "annotations" / "gold", SCHEMA))
BF16_PEAK_FLOPS = {"H100": 989e12, "H200": 989e12}  # dense bf16, SXM
STAGES = ["offline", "inference", "gpu-paths", "training", "profile"]  # default: all with --gpu, else inference and training


def news_sentences(n: int) -> list[str]:
    sentences = [d.text[a:b] for d in GOLD["train"] for a, b in split_sentences(d.text)]
    return [sentences[i % len(sentences)] for i in range(n)]


def base_sized_model(folder: Path):
    """An AraBERT-base-sized token classifier (12 x 768, 64k vocabulary) with random weights.

    Its classifier favours ``O`` by a margin, as a trained model's does, so the Tagger's bf16
    guard re-checks about as little as on a trained model (random logits would all be close calls).
    """
    from transformers import AutoTokenizer, BertConfig, BertForTokenClassification

    from arner.config import TinyEncoder
    from arner.encoders import build_tiny

    if not (folder / "tokenizer.json").exists():
        words = [w.text for s in news_sentences(3000) for w in split_words(s)]
        build_tiny(words, TinyEncoder(vocab_size=64000), 512, folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    config = BertConfig(vocab_size=64000, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                        intermediate_size=3072, num_labels=len(SCHEMA.bio_tags), id2label=SCHEMA.id2label,
                        label2id=SCHEMA.label2id, pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    model = BertForTokenClassification(config).eval()
    with torch.no_grad():
        model.classifier.bias[SCHEMA.label2id["O"]] += 4.0
    return model, tokenizer


def trained_model(path: Path):
    """The saved model at ``path`` (None if none), on a CPU exported to ONNX Runtime first if it has no export yet."""
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    if not (path / "config.json").exists():
        return None
    version = read_snapshot(path).version
    if onnx_installed() and not torch.cuda.is_available() and not exported_files(path, version) and not (path / "onnx").exists():
        print(f"exporting {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} to ONNX Runtime (arner export-onnx)")
        export_onnx(path, version, calibration_texts(ROOT / "annotations" / "gold", ROOT / "configs" / "labels.yaml"))
    return AutoModelForTokenClassification.from_pretrained(path).eval(), AutoTokenizer.from_pretrained(path)


class PeakMemory:
    """Peak memory while the block runs: CUDA allocator peak, or resident set size sampled every 5 ms."""

    def __enter__(self):
        self.peak_mb, self._running = 0.0, True
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        else:
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self):
        page_mb = 4096 / 2**20
        while self._running:
            with open("/proc/self/statm") as f:
                self.peak_mb = max(self.peak_mb, int(f.read().split()[1]) * page_mb)
            time.sleep(0.005)

    def __exit__(self, *exc):
        self._running = False
        if torch.cuda.is_available():
            torch.cuda.synchronize()
            self.peak_mb = torch.cuda.max_memory_allocated() / 2**20
        else:
            self._thread.join()


def timed(fn) -> float:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start


def subword_tokens(tokenizer, texts: list[str]) -> int:
    return sum(len(ids) for ids in tokenizer(texts)["input_ids"])


def parity_sets() -> dict[str, list]:
    """Where every path's entities are compared with fp32: the written test split and, with $DATA_DIR, the real news."""
    sets = {"written test": GOLD["test"]}
    real = data_dir() / "realnews-dev"
    if real.exists():
        sets["real-news dev"] = load_corpus(real, SCHEMA)
    return sets


def f1_parity(tagger, reference: dict, sets: dict) -> str:
    """Micro-F1 of ``tagger`` against the fp32 reference on each set, and how many documents have other entities."""
    parts = []
    for name, docs in sets.items():
        ours = predict_documents(tagger, docs)
        differ = sum([(e.start, e.end, e.label) for e in a.entities] != [(e.start, e.end, e.label) for e in b.entities]
                     for a, b in zip(ours, reference[name]))
        f1 = [score(docs, pred, SCHEMA.names)["micro"]["f1"] for pred in (ours, reference[name])]
        parts.append(f"{name} F1 {f1[0]:.4f} vs {f1[1]:.4f} ({100 * (f1[0] - f1[1]):+.2f} pt), "
                     + ("entities identical" if not differ else f"{differ}/{len(docs)} documents differ"))
    return "; ".join(parts)


def bench_inference(name, model, tokenizer, texts, baseline_texts, batch_size, model_dir: Path | None) -> list[dict]:
    """``Tagger`` on the path it chooses and on every other path this machine and model have, beside ``pipeline()``
    at its defaults; for a trained model, each path's F1 and entities against PyTorch fp32 one text at a time."""
    from transformers import pipeline

    gpu = torch.cuda.is_available()
    model = model.to("cuda" if gpu else "cpu")
    plain = pipeline("token-classification", model=model, tokenizer=tokenizer, device=0 if gpu else -1)
    plain(baseline_texts[:8])  # warm-up
    baseline = subword_tokens(tokenizer, baseline_texts) / timed(lambda: plain(baseline_texts))

    def tagger(path=None, size=batch_size):
        if model_dir is not None:
            return Tagger.load(model_dir, batch_size=size, path=path)
        return Tagger(model, tokenizer, TaggerSettings(max_length=512, window_overlap=128), batch_size=size, path=path)

    chosen = tagger()
    paths = [chosen.path] + [p for p in PATHS if p != chosen.path and (p != "torch-bf16" or bf16_choice(chosen.device)[0])
                              and p.removeprefix("onnx-") in ({"torch-fp32", "torch-bf16"} | set(chosen.onnx_files))]
    sets = parity_sets() if model_dir is not None else {}
    reference = {n: predict_documents(tagger("torch-fp32", 1), docs) for n, docs in sets.items()}
    rows = []
    for path in paths:
        run = chosen if path == chosen.path else tagger(path)
        run.tag(texts[:batch_size])  # warm-up
        run.windows_seen = run.windows_rechecked = 0
        with PeakMemory() as memory:
            ours = subword_tokens(tokenizer, texts) / timed(lambda: run.tag(texts))
        recheck = f", {run.windows_rechecked / run.windows_seen:.1%} windows re-checked in fp32" if run.guard else ""
        how = f"as chosen: {run.path_reason}" if run is chosen else "forced"
        rows.append({"model": name, "measurement": f"inference, subword tokens/s end to end, {path} ({how}{recheck})",
                     "project": ours, "baseline": baseline, "baseline_is": "pipeline() defaults (batch 1)",
                     "peak_memory_mb": memory.peak_mb, "path": path,
                     "f1_parity": f1_parity(run, reference, sets) if sets else "n/a (random weights)"})
    return rows


def cpu_flags() -> str:
    """The CPU features that decide the precision path (from /proc/cpuinfo)."""
    try:
        flags = set(next(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split(":")[1].split())
    except (OSError, StopIteration):
        return "unknown"
    return ", ".join(f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile") if f in flags) or "none of avx2/avx512/amx"


def bench_gpu_paths(name, model, tokenizer, texts, baseline_texts, batch_size) -> list[dict]:
    """The GPU-side paths (issue 16), each beside ``pipeline(batch_size=64)`` on the same text: the Tagger with
    its CPU work prepared by a background thread, the same compiled over fixed buckets (compile time counted:
    the first pass is timed whole), and the forward-only ceiling (bf16 forward passes over the same windows,
    already tokenised and on the device)."""
    from transformers import pipeline

    gpu = torch.cuda.is_available()
    device = "cuda" if gpu else "cpu"
    model = model.to(device)
    batched = pipeline("token-classification", model=model, tokenizer=tokenizer, device=0 if gpu else -1, batch_size=64)
    batched(baseline_texts[:64])  # warm-up
    baseline = subword_tokens(tokenizer, baseline_texts) / timed(lambda: batched(baseline_texts))
    tokens, rows = subword_tokens(tokenizer, texts), []
    settings = TaggerSettings(max_length=512, window_overlap=128)
    base = {"model": name, "baseline": baseline, "baseline_is": "pipeline(batch_size=64)", "f1_parity": "see the Tagger row"}
    for label, options in (("prefetch thread", {"prefetch": True}), ("prefetch + compiled buckets, compile time included",
                                                                      {"prefetch": True, "compile": True})):
        tagger = Tagger(model, tokenizer, settings, batch_size=batch_size, **options)
        with PeakMemory() as memory:
            seconds = timed(lambda: tagger.tag(texts))  # compiled: the first pass includes every bucket's compile
            steady = timed(lambda: tagger.tag(texts))
        rows.append(base | {"measurement": f"inference end to end, {label} (steady: {tokens / steady:,.0f} tokens/s)",
                            "project": tokens / seconds, "peak_memory_mb": memory.peak_mb})
    windows = tagger._prepare(0, [split_words(t) for t in texts]).batches
    batches = [ids.to(device) for ids, *_ in windows]
    pad = tokenizer.pad_token_id
    with torch.no_grad(), torch.autocast(device, dtype=torch.bfloat16), PeakMemory() as memory:
        for ids in batches[:2]:
            model(input_ids=ids, attention_mask=(ids != pad).long())  # warm-up
        seconds = timed(lambda: [model(input_ids=ids, attention_mask=(ids != pad).long()) for ids in batches])
    rows.append(base | {"measurement": "forward-only ceiling (bf16, windows already on the device)",
                        "project": tokens / seconds, "peak_memory_mb": memory.peak_mb})
    return rows


def profile_tagging(model, tokenizer, texts, batch_size, out: Path) -> None:
    """Where the time of end-to-end tagging goes: ``torch.profiler`` over one pass, top operations by total time."""
    from torch.profiler import ProfilerActivity, profile

    tagger = Tagger(model, tokenizer, TaggerSettings(max_length=512, window_overlap=128), batch_size=batch_size)
    tagger.tag(texts[:batch_size])
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if torch.cuda.is_available() else [])
    with profile(activities=activities) as prof:
        tagger.tag(texts)
    out.write_text(prof.key_averages().table(sort_by="cpu_time_total", row_limit=30) + "\n", encoding="utf-8")


def time_offline_model(config_path: Path) -> tuple[dict, Path]:
    """Start to saved: an offline recipe (`make train CONFIG=...`) in this process; the row and the model folder."""
    from arner.config import load_config
    from arner.runs import run_dir_of
    from train.train import train

    config = load_config(config_path)
    config = config.model_copy(update={"name": "bench-offline", "output_dir": str(ROOT / "bench" / ".cache" / "offline")})
    shutil.rmtree(run_dir_of(config), ignore_errors=True)  # the bench's own run: timed from scratch, never resumed
    started = time.perf_counter()
    with PeakMemory() as memory:
        results = train(config, config_path)
    seconds = time.perf_counter() - started
    return {"model": "offline e5-small", "measurement": f"time to a finished offline model, start to saved (s), {config_path}",
            "project": seconds, "baseline": seconds, "baseline_is": "itself", "peak_memory_mb": memory.peak_mb,
            "f1_parity": f"dev F1 {results['dev']['seqeval']['micro_f1']:.3f}"}, config.model_dir


class CountingCollator:
    """Wraps a data collator and counts the real (non-padding) tokens it hands out."""

    def __init__(self, inner):
        self.inner, self.tokens = inner, 0

    def __call__(self, features):
        self.tokens += sum(len(f["input_ids"]) for f in features)
        return self.inner(features)


def real_tokens_per_second(trainer, steps: int, warmup: int) -> float:
    from transformers import TrainerCallback

    counter = trainer.data_collator = CountingCollator(trainer.data_collator)
    marks = {}

    class Clock(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step in (warmup, steps):
                if torch.cuda.is_available():
                    torch.cuda.synchronize()
                marks[state.global_step] = (time.perf_counter(), counter.tokens)

    trainer.add_callback(Clock())
    trainer.train()
    (t0, n0), (t1, n1) = marks[warmup], marks[steps]
    return (n1 - n0) / (t1 - t0)


def bench_training(name, model, tokenizer, steps: int, batch_sizes: list[int]) -> list[dict]:
    """The project's trainer at each batch size, beside the ``Trainer`` defaults, real tokens/s over the same steps."""
    from transformers import DataCollatorForTokenClassification, Trainer, TrainingArguments

    gpu = torch.cuda.is_available()
    config = Config(name="bench", encoder="-", max_length=128)
    features = training_windows(build_dataset({"train": GOLD["train"]}, SCHEMA)["train"], tokenizer, config)
    warmup = max(3, steps // 10)
    with tempfile.TemporaryDirectory() as tmp:
        defaults = Trainer(model=copy.deepcopy(model).train(), train_dataset=features,
                           data_collator=DataCollatorForTokenClassification(tokenizer),
                           args=TrainingArguments(output_dir=tmp, per_device_train_batch_size=8, max_steps=steps,
                                                  use_cpu=not gpu, report_to="none", save_strategy="no",
                                                  disable_tqdm=True))
        baseline = real_tokens_per_second(defaults, steps, warmup)
        del defaults
        rows = []
        for batch_size in batch_sizes:
            settings = TrainingConfig(batch_size=batch_size, learning_rate=5e-5)
            ours = project_trainer(copy.deepcopy(model).train(), tokenizer, features, settings, Path(tmp),
                                   max_steps=steps, save_strategy="no", eval_strategy="no", disable_tqdm=True)
            with PeakMemory() as memory:
                tokens_per_s = real_tokens_per_second(ours, steps, warmup)
            rows.append({"model": name, "measurement": f"training, real tokens/s ({'bf16' if ours.bf16 else 'fp32'}, "
                                                       f"length buckets, fused AdamW, batch {batch_size})",
                         "project": tokens_per_s, "baseline": baseline, "baseline_is": "Trainer defaults (fp32, batch 8)",
                         "peak_memory_mb": memory.peak_mb, "f1_parity": "speed only: same steps, see README for dev F1"})
            del ours
    peak = next((v for k, v in BF16_PEAK_FLOPS.items() if gpu and k in torch.cuda.get_device_name()), None)
    body = sum(p.numel() for n, p in model.named_parameters() if "embeddings" not in n)
    for row in rows if peak else []:
        row["mfu"] = 6 * body * row["project"] / peak  # 6 FLOPs per parameter and token (forward + backward)
    return rows


def write_results(out: Path, header: dict, rows: list[dict]) -> None:
    """The table so far, printed and saved (temp file, then rename): a run cut short keeps what it measured."""
    print(f"\n{header['summary']}\n")
    memory = "GPU allocator peak" if torch.cuda.is_available() else "process RSS peak"
    print(f"| model | measurement | project | baseline (same run) | × baseline | {memory}, MB | MFU | F1 parity |")
    print("|---|---|---:|---|---:|---:|---:|---|")
    for r in rows:
        r["ratio"] = r["project"] / r["baseline"]
        mfu = f"{r['mfu']:.1%}" if "mfu" in r else ""
        print(f"| {r['model']} | {r['measurement']} | {r['project']:,.0f} | {r['baseline']:,.0f} ({r['baseline_is']}) "
              f"| {r['ratio']:.2f} | {r['peak_memory_mb']:,.0f} | {mfu} | {r['f1_parity']} |", flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(header | {"rows": rows}, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(out)
    print(f"\nsaved {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gpu", action="store_true", help="GPU sizes: 20,000 sentences, batch 512, 300 training steps at batch "
                                                           "128; first trains --offline-config, start to saved, and benches that model")
    parser.add_argument("--sentences", type=int, help="override the number of sentences (a quick check)")
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "offline", help="the trained model (default models/offline)")
    parser.add_argument("--offline-config", type=Path, default=Path("configs/offline-gpu.yaml"), help="the recipe --gpu times")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results", help="where the table and the profile go")
    parser.add_argument("--stages", nargs="+", choices=STAGES, help="what to measure (default: all with --gpu, else inference "
                                                                     "and training; gpu-paths on a CPU checks that code)")
    parser.add_argument("--train-batches", nargs="+", type=int, help="the project trainer's batch sizes (default 128 with --gpu, else 16)")
    args = parser.parse_args()
    sentences, baseline_sentences, batch, steps, train_batch = (
        (20000, 1000, 512, 300, 128) if args.gpu else (2000, 300, 32, 30, 16))
    stages = set(args.stages or (STAGES if args.gpu else ["inference", "training"]))
    baseline_sentences = min(baseline_sentences, args.sentences or sentences)
    texts = news_sentences(args.sentences or sentences)
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU ({torch.get_num_threads()} threads)"
    stem = device.split(" (")[0].replace(" ", "_")
    rows = []
    if "offline" in stages and (ROOT / "models" / "base" / "multilingual-e5-small" / "config.json").exists():
        row, args.model = time_offline_model(args.offline_config)  # first: the model it saves is benched below
        rows.append(row)
    models = [("AraBERT-base-sized (random weights)", base_sized_model(ROOT / "bench" / ".cache" / "base-sized"))]
    trained = trained_model(args.model)
    if trained:
        models.append((f"{args.model.name} e5-small (trained)", trained))
    device_type = "cuda" if torch.cuda.is_available() else "cpu"
    kinds = set(exported_files(args.model, read_snapshot(args.model).version)) if trained else set()
    chosen = "; ".join(f"{label}: {' - '.join(path_choice(device_type, bf16, kinds))}" for label, bf16 in (
        ("as found", bf16_choice(torch.device(device_type))), ("with no bf16 (ARNER_NO_BF16=1)", (False, "fp32: ARNER_NO_BF16=1"))))
    header = {"device": device, "torch": torch.__version__, "cpu_flags": cpu_flags(), "tagger_path": chosen,
              "summary": f"Speed on {device}: inference on {len(texts)} gold sentences (baseline on the first "
                         f"{baseline_sentences}), training {steps} steps. CPU flags: {cpu_flags()}. Tagger path {chosen}"}
    out = args.results / f"speed-{stem}.json"
    for name, (model, tokenizer) in models if "inference" in stages else []:  # first: on CPU, memory is the process's RSS
        rows += bench_inference(name, model, tokenizer, texts, texts[:baseline_sentences], batch,
                                args.model if "trained" in name else None)
        write_results(out, header, rows)
    if "gpu-paths" in stages:
        name, (model, tokenizer) = models[0]
        rows += bench_gpu_paths(name, model, tokenizer, texts, texts[:baseline_sentences], batch)
        write_results(out, header, rows)
    for name, (model, tokenizer) in models if "training" in stages else []:
        rows += bench_training(name, model, tokenizer, steps, args.train_batches or [train_batch])
        write_results(out, header, rows)
    if "profile" in stages:
        name, (model, tokenizer) = models[0]
        profile_tagging(model, tokenizer, texts[:2000], batch, args.results / f"profile-{stem}.txt")


if __name__ == "__main__":
    main()
