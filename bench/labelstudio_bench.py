"""Label Studio benchmarks: export conversion (no server) and pushing predictions (real server).

1. Converts a generated JSON export of 100,000 tasks into gold documents with
   ``arner.labelstudio.convert_export_file`` (streamed parse, per-task checks, merge, atomic
   write, validator), beside a baseline in the same run: the straightforward way, the whole
   export read with ``json.load``, converted in memory, written and validated. Each runs in a fresh process;
   time and peak RSS (``resource.getrusage``) are reported. Target: < 20 s, < 1 GB.
2. Pushes 10,000 predictions to a real local Label Studio (fresh data folder, 127.0.0.1)
   with ``push_predictions`` (bulk, in batches), beside the SDK's one-by-one
   ``predictions.create`` on 1,000 tasks; client-side peak memory by ``tracemalloc``.

Results go to ``bench/results/labelstudio.json``. Usage: ``make bench`` (or
``python bench/labelstudio_bench.py [--tasks N] [--predictions N] [--skip-server]``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from arner import labelstudio as ls
from arner.documents import Document, atomic_write, parse_jsonl, span_problems, validate_documents
from arner.schema import load_schema
from arner.text import split_words

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "configs" / "labels.yaml"

GROUPS = ["الطيران الروسي", "قوات سوريا الديمقراطية", "داعـش", "لواء القدس", "الحشد الشعبي", "هيئة تحرير الشام"]
PLACES = ["دير الزور", "الرقة", "حمص", "جبل البشري", "مخيم اليرموك", "البادية السورية", "الباغوز"]
COUNTS = ["٤٩ عنصراً", "6 آليات", "أكثر من 40 غارة", "ثكنتين", "عشرات المسلحين", "نحو 30 ضربة"]


def generate_export(path: Path, n: int, seed: int = 0) -> None:
    """A JSON export like Label Studio's: 1-2 annotations per task, some skipped, some empty."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        out.write("[")
        for i in range(1, n + 1):
            g, p, c = rng.choice(GROUPS), rng.choice(PLACES), rng.choice(COUNTS)
            head = f"قالت مصادر محلية 😀 إن {g} "
            mid = f"شن {c} قرب "
            text = f"{head}{mid}{p}، وأكد المرصد SY24 أن الاشتباكات استمرت حتى المساء في ريف المدينة الشرقي."
            spans = [(len("قالت مصادر محلية 😀 إن "), len(head) - 1, "ARMED_GROUP"),
                     (len(head) + 3, len(head) + 3 + len(c), "COUNT"),
                     (len(head) + len(mid), len(head) + len(mid) + len(p), "LOCATION")]
            result = [{"id": f"r{k}", "from_name": "label", "to_name": "text", "type": "labels",
                       "value": {"start": s, "end": e, "text": text[s:e], "labels": [lab]}} for k, (s, e, lab) in enumerate(spans)]
            roll = rng.random()
            annotations = []
            if roll > 0.05:
                count = 2 if roll > 0.85 else 1
                for a in range(count):
                    annotations.append({"id": 2 * i + a, "completed_by": 1 + a, "result": result[: 3 - a],
                                        "was_cancelled": roll < 0.08, "ground_truth": False,
                                        "created_at": f"2026-11-2{a}T10:00:00.000000Z",
                                        "updated_at": f"2026-11-2{a}T10:00:00.000000Z", "lead_time": 12.5,
                                        "prediction": {}, "result_count": len(result), "task": i, "project": 1,
                                        "last_action": None, "parent_prediction": None, "parent_annotation": None})
            task = {"id": i, "annotations": annotations, "drafts": [], "predictions": [],
                    "data": {"text": text, "id": f"doc-{i}", "source_id": f"doc-{i}", "source_start": 0,
                             "source_end": len(text), "hash": ls.content_hash(text), "meta": {}},
                    "meta": {}, "created_at": "2026-11-20T09:00:00.000000Z", "updated_at": "2026-11-20T09:00:00.000000Z",
                    "inner_id": i, "total_annotations": len(annotations), "cancelled_annotations": 0,
                    "total_predictions": 0, "project": 1, "updated_by": 1}
            out.write(("," if i > 1 else "") + json.dumps(task, ensure_ascii=False))
        out.write("]")


def baseline_convert(export: Path, out: Path, schema) -> int:
    """The straightforward conversion: the whole export in memory, every task converted, written, validated."""
    tasks = json.loads(export.read_text(encoding="utf-8"))
    docs = []
    for task in tasks:
        chosen = ls.choose_annotation(task.get("annotations") or [])
        if chosen is None:
            continue
        entities, problems, _ = ls.result_entities(chosen.get("result") or [], task["data"]["text"])
        doc = Document(id=task["data"]["id"], text=task["data"]["text"], entities=entities, meta={"task": task["id"]})
        if not problems and not span_problems(doc, schema):
            docs.append(doc)
    with atomic_write(out) as f:
        f.write("".join(d.to_json() + "\n" for d in docs))
    located, problems = parse_jsonl(out)
    assert not problems + validate_documents(located, schema)
    return len(docs)


def run_case(case: str, export: Path, out: Path) -> dict:
    """Run one conversion case in this process; time and peak RSS."""
    schema = load_schema(SCHEMA)
    start = time.perf_counter()
    if case == "arner":
        conversion, _, problems = ls.convert_export_file(export, out, schema)
        docs, errors = conversion.counts["converted"], len(conversion.errors) + len(problems)
    else:
        docs, errors = baseline_convert(export, out, schema), 0
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(peak, 1), "documents": docs, "errors": errors}


def conversion_bench(n: int, folder: Path) -> dict:
    export = folder / "export.json"
    start = time.perf_counter()
    generate_export(export, n)
    print(f"generated an export of {n:,} tasks ({export.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - start:.1f} s")
    results = {"tasks": n, "export_mb": round(export.stat().st_size / 1e6, 1)}
    for case in ("arner", "baseline"):
        out = folder / f"{case}.jsonl"
        done = subprocess.run([sys.executable, __file__, "--case", case, str(export), str(out)],
                              capture_output=True, text=True, check=True)
        results[case] = json.loads(done.stdout.splitlines()[-1])
        r = results[case]
        print(f"convert {case:>8}: {r['seconds']:6.2f} s, peak RSS {r['peak_rss_mb']:7.1f} MB, "
              f"{r['documents']:,} documents, {r['errors']} error(s)")
    return results


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fake_tag(texts: list[str]) -> list[list[dict]]:
    """Stand-in for a model: the second word of each text as a LOCATION (cheap, so the push is what is timed)."""
    out = []
    for text in texts:
        words = split_words(text)
        w = words[1] if len(words) > 1 else words[0]
        out.append([{"start": w.start, "end": w.end, "label": "LOCATION", "text": w.text, "score": 0.9}])
    return out


def push_bench(n: int, baseline_n: int, folder: Path) -> dict:
    settings = ls.Settings(url=f"http://127.0.0.1:{free_port()}", password="bench-password-1", token=os.urandom(20).hex())
    start = time.perf_counter()
    ls.start_server(settings, folder / "labelstudio-data", wait=300)
    print(f"started Label Studio (fresh database) in {time.perf_counter() - start:.1f} s")
    try:
        client = ls.connect(settings)
        project, _ = ls.ensure_project(client, "bench", load_schema(SCHEMA))
        texts = [f"خبر رقم {i}: شن الطيران الروسي غارات قرب دير الزور" for i in range(n + baseline_n)]
        start = time.perf_counter()
        ls.import_tasks(client, project, ls.make_tasks({"id": f"b{i}", "text": t} for i, t in enumerate(texts)),
                        batch=1000)
        print(f"imported {len(texts):,} tasks in {time.perf_counter() - start:.1f} s")
        todo = ls.tasks_without_predictions(client, project)
        ours, theirs = todo[:n], todo[n : n + baseline_n]

        tracemalloc.start()
        start = time.perf_counter()
        ls.push_predictions(client, project, ours, fake_tag, "bench", batch=500)
        ours_s = time.perf_counter() - start
        ours_peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()

        tracemalloc.reset_peak() if tracemalloc.is_tracing() else None
        tracemalloc.start()
        start = time.perf_counter()
        for task_id, text in theirs:
            client.predictions.create(task=task_id, **ls.prediction(fake_tag([text])[0], "bench"))
        base_s = time.perf_counter() - start
        base_peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        assert not ls.tasks_without_predictions(client, project)
    finally:
        ls.stop_server(folder / "labelstudio-data")
    result = {"arner": {"predictions": len(ours), "seconds": round(ours_s, 2), "per_second": round(len(ours) / ours_s, 1),
                        "client_peak_mb": round(ours_peak, 1)},
              "baseline_sdk_one_by_one": {"predictions": len(theirs), "seconds": round(base_s, 2),
                                          "per_second": round(len(theirs) / base_s, 1),
                                          "client_peak_mb": round(base_peak, 1),
                                          "extrapolated_seconds_for_arner_count": round(base_s * len(ours) / len(theirs), 1)}}
    a, b = result["arner"], result["baseline_sdk_one_by_one"]
    print(f"push   arner: {a['predictions']:,} predictions in {a['seconds']:.1f} s ({a['per_second']:.0f}/s), client peak {a['client_peak_mb']:.1f} MB")
    print(f"push baseline (SDK one by one): {b['predictions']:,} in {b['seconds']:.1f} s ({b['per_second']:.0f}/s) "
          f"-> {b['extrapolated_seconds_for_arner_count']:.0f} s for {a['predictions']:,}; client peak {b['client_peak_mb']:.1f} MB")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--predictions", type=int, default=10_000)
    parser.add_argument("--baseline-predictions", type=int, default=1_000)
    parser.add_argument("--skip-server", action="store_true", help="only the conversion benchmark")
    parser.add_argument("--case", nargs=3, metavar=("CASE", "EXPORT", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case[0], Path(args.case[1]), Path(args.case[2]))))
        return
    results = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
               "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    with tempfile.TemporaryDirectory() as tmp:
        results["convert"] = conversion_bench(args.tasks, Path(tmp))
        if not args.skip_server:
            results["push"] = push_bench(args.predictions, args.baseline_predictions, Path(tmp))
    out = ROOT / "bench" / "results" / "labelstudio.json"
    with atomic_write(out) as f:
        f.write(json.dumps(results, indent=2) + "\n")
    print(f"results: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
