"""HTTP tagger benchmark: `arner serve` under 1, 8 and 32 concurrent clients beside the in-process Tagger.

On the sentences of the gold test split (one sentence per request, as a pipeline would send them),
in one run:

- in-process ``Tagger.tag``: all sentences in one call (the throughput ceiling), and one sentence
  per call (the latency of a single caller);
- the model server (started here on 127.0.0.1, dynamic batching on): each of N clients sends one
  request at a time until every sentence is tagged once.

It prints p50/p99 latency and subword tokens per second for each, and checks every HTTP answer
against the in-process output for the same sentence: identical, or (in bf16, where a score moves in
the third decimal with the rest of its batch) the same entities with the score within
``GUARDS``; a missing or different answer fails the run (nothing dropped, nothing mixed between
requests). ``ARNER_NO_BF16=1`` runs both sides without bf16: in fp32 answers are identical; in int8
(a model with an ONNX export) scores move with the batch as in bf16. Saves
``bench/results/http-<device>.json``.

    python bench/bench_http.py --model models/offline               # make bench (all test sentences)
    python bench/bench_http.py --model models/offline --sample 40 --clients 1 8   # a quick check
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from arner.documents import atomic_write, load_corpus  # noqa: E402
from arner.schema import load_schema  # noqa: E402
from arner.splits import split_documents  # noqa: E402
from arner.tagger import GUARDS, Tagger  # noqa: E402
from arner.text import split_sentences  # noqa: E402


def test_sentences() -> list[str]:
    docs = split_documents(load_corpus(ROOT / "annotations" / "gold", load_schema(ROOT / "configs" / "labels.yaml")))["test"]
    return [d.text[a:b] for d in docs for a, b in split_sentences(d.text) if d.text[a:b].strip()]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def post(url: str, texts: list[str]) -> dict:
    body = json.dumps({"texts": texts}, ensure_ascii=False).encode("utf-8")
    with urllib.request.urlopen(urllib.request.Request(url, data=body, method="POST"), timeout=600) as response:
        return json.loads(response.read())


def start_server(model: Path, max_wait_ms: float) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "arner.cli", "serve", str(model), "--port", str(port),
                                "--max-wait-ms", str(max_wait_ms)], cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                return process, url
        except OSError:
            if process.poll() is not None:
                raise SystemExit(f"the model server for {model} exited with code {process.returncode}")
            time.sleep(0.5)
    process.kill()
    raise SystemExit(f"the model server for {model} did not start")


def http_run(url: str, texts: list[str], clients: int) -> tuple[list[float], float, dict[int, list]]:
    """Latencies, wall time and the entities per sentence index, with ``clients`` concurrent clients."""
    latencies, answers, lock, cursor = [], {}, threading.Lock(), iter(range(len(texts)))

    def client() -> None:
        while True:
            with lock:
                i = next(cursor, None)
            if i is None:
                return
            start = time.perf_counter()
            answer = post(f"{url}/tag", [texts[i]])
            with lock:
                latencies.append(time.perf_counter() - start)
                answers[i] = answer["entities"][0]

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, time.perf_counter() - start, answers


def compare(answers: dict[int, list], reference: list[list]) -> tuple[int, int, float]:
    """Answers identical to the in-process output; answers with the same entities apart from ``score``
    (spans, labels, text, analyst fields); and the largest score difference. In bf16 a score moves in
    the third decimal with the other texts of its batch; decisions do not (``arner.tagger.GUARDS``)."""
    strip = lambda entities: [{k: v for k, v in e.items() if k != "score"} for e in entities]  # noqa: E731
    same = sum(answers.get(i) == ref for i, ref in enumerate(reference))
    spans = sum(i in answers and strip(answers[i]) == strip(ref) for i, ref in enumerate(reference))
    drift = max((abs(a["score"] - b["score"]) for i, ref in enumerate(reference) if i in answers
                 and strip(answers[i]) == strip(ref) for a, b in zip(answers[i], ref)), default=0.0)
    return same, spans, drift


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "offline")
    parser.add_argument("--sample", type=int, default=0, help="only the first N test sentences (0: all)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--max-wait-ms", type=float, default=5.0, help="the server's batching wait bound")
    args = parser.parse_args()
    texts = test_sentences()
    texts = texts[: args.sample] if args.sample else texts
    tagger = Tagger.load(args.model)
    tokens = sum(len(ids) for ids in tagger.tokenizer(texts, add_special_tokens=False)["input_ids"])
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU ({torch.get_num_threads()} threads)"
    tagger.tag(texts[:8])  # warm-up
    start = time.perf_counter()
    reference = tagger.tag(texts)
    batched = time.perf_counter() - start
    singles = []
    for text in texts:
        start = time.perf_counter()
        tagger.tag([text])
        singles.append(time.perf_counter() - start)
    rows = [{"mode": "in-process Tagger, one call for all", "clients": 1, "requests": 1, "p50_ms": None, "p99_ms": None,
             "tokens_per_s": tokens / batched, "identical": "reference"},
            {"mode": "in-process Tagger, one sentence per call", "clients": 1, "requests": len(texts),
             "p50_ms": 1000 * percentile(singles, 0.5), "p99_ms": 1000 * percentile(singles, 0.99),
             "tokens_per_s": tokens / sum(singles), "identical": "n/a"}]
    del tagger
    process, url = start_server(args.model, args.max_wait_ms)
    try:
        post(f"{url}/tag", texts[:8])  # warm-up
        for clients in args.clients:
            latencies, wall, answers = http_run(url, texts, clients)
            same, spans, drift = compare(answers, reference)
            rows.append({"mode": "HTTP /tag, one sentence per request", "clients": clients, "requests": len(answers),
                         "p50_ms": 1000 * percentile(latencies, 0.5), "p99_ms": 1000 * percentile(latencies, 0.99),
                         "tokens_per_s": tokens / wall, "identical": f"{same}/{len(texts)}", "same_spans": spans,
                         "max_score_difference": drift})
        with urllib.request.urlopen(f"{url}/health", timeout=10) as response:
            batching = json.loads(response.read())["batching"]
    finally:
        process.terminate()
        process.wait(timeout=60)
    print(f"\nHTTP tagger on {device}: {len(texts)} sentences of the gold test split ({tokens:,} subword tokens), "
          f"model {args.model}, server wait bound {args.max_wait_ms:g} ms\n")
    print("| mode | clients | requests | p50 ms | p99 ms | tokens/s | × in-process one call | answers identical "
          "| same entities apart from score | max score difference |")
    print("|---|---:|---:|---:|---:|---:|---:|---|---|---:|")
    for r in rows:
        ms = lambda v: "" if v is None else f"{v:,.1f}"  # noqa: E731
        checked = f"{r['same_spans']}/{len(texts)} | {r['max_score_difference']:.4f}" if "same_spans" in r else " | "
        print(f"| {r['mode']} | {r['clients']} | {r['requests']} | {ms(r['p50_ms'])} | {ms(r['p99_ms'])} | "
              f"{r['tokens_per_s']:,.0f} | {r['tokens_per_s'] / rows[0]['tokens_per_s']:.2f} | {r['identical']} | {checked} |")
    print(f"\nserver batching: {batching}")
    out = ROOT / "bench" / "results" / f"http-{device.split(' (')[0].replace(' ', '_')}{'-sample' if args.sample else ''}.json"
    with atomic_write(out) as f:
        json.dump({"device": device, "torch": torch.__version__, "model": str(args.model), "sentences": len(texts),
                   "tokens": tokens, "max_wait_ms": args.max_wait_ms, "rows": rows, "server_batching": batching}, f, indent=1,
                  ensure_ascii=False)
    print(f"saved {out.relative_to(ROOT)}")
    bad = [r for r in rows if "same_spans" in r and (r["same_spans"] != len(texts) or r["max_score_difference"] > max(GUARDS.values()))]
    if bad:
        raise SystemExit("some HTTP answers are missing or differ from the in-process Tagger beyond bf16/int8 rounding (see the table)")


if __name__ == "__main__":
    main()
