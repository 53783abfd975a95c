"""Command-line commands for a saved model directory: ``arner serve`` (``make serve``),
``arner snapshot`` (``make snapshot``) and ``arner export-onnx`` (``make onnx``); registered on the
main app by ``arner.cli``."""

from __future__ import annotations

from pathlib import Path

import typer


def serve(model: Path,
          host: str = typer.Option("127.0.0.1", help="address to listen on (127.0.0.1: this machine only)"),
          port: int = typer.Option(9090, help="port"),
          max_wait_ms: float = typer.Option(5.0, help="how long a request waits for others to be batched with it"),
          max_batch: int = typer.Option(64, help="texts per batch that stop the wait early"),
          max_body: int = typer.Option(1_000_000, help="bytes of one /tag request"),
          max_texts: int = typer.Option(256, help="texts of one /tag request"),
          max_chars: int = typer.Option(20_000, help="characters of one text"),
          max_tasks: int = typer.Option(1_000, help="tasks of one Label Studio /predict request")) -> None:
    """Serve MODEL over HTTP: POST /tag for pipelines, and Label Studio's ML backend (/health /setup /predict /webhook)."""
    from arner.errors import InputError
    from arner.serve import Limits, serve as run

    for name, value in (("--max-batch", max_batch), ("--max-body", max_body), ("--max-texts", max_texts),
                        ("--max-chars", max_chars), ("--max-tasks", max_tasks), ("--port", port)):
        if value < 1:
            raise InputError(f"{name} {value}: must be at least 1")
    if max_wait_ms < 0:
        raise InputError(f"--max-wait-ms {max_wait_ms}: must not be negative")
    limits = Limits(max_body=max_body, max_texts=max_texts, max_chars=max_chars, max_tasks=max_tasks)
    run(model, host, port, limits, max_wait_ms / 1000, max_batch)


def snapshot(model: Path) -> None:
    """Write MODEL's snapshot (labels, alias table, known forms, identity) into a model directory saved without one."""
    from arner.errors import InputError
    from arner.snapshot import SNAPSHOT_FILE, snapshot_existing

    if not (model / "config.json").exists():
        raise InputError(f"{model}: not a model directory (no config.json)")
    written = snapshot_existing(model)
    print(f"wrote {model / SNAPSHOT_FILE}: {written.version}, {len(written.labels)} labels, "
          f"{len(written.aliases)} canonical names, {len(written.known_forms)} known forms")


def export_onnx(model: Path, overwrite: bool = typer.Option(False, help="replace an existing MODEL/onnx/"),
                calibration: Path = typer.Option(Path("annotations/gold"), help="gold corpus whose train sentences calibrate int8"),
                labels: Path = Path("configs/labels.yaml")) -> None:
    """Write MODEL/onnx/: ONNX Runtime graphs of the model's weights (fused fp32; int8), the fast CPU path of Tagger."""
    from arner.errors import InputError
    from arner.runtime import EXPORT_FILE, calibration_texts, export_onnx as export
    from arner.snapshot import read_snapshot

    if not (model / "config.json").exists():
        raise InputError(f"{model}: not a model directory (no config.json)")
    snapshot = read_snapshot(model)
    if snapshot.legacy:
        raise InputError(f"{model}: no arner-snapshot.json to tie the export to its weights; run `arner snapshot {model}` first")
    folder = export(model, snapshot.version, calibration_texts(calibration, labels), overwrite)
    print(f"wrote {folder}: {(folder / EXPORT_FILE).read_text(encoding='utf-8').strip()}")


def register(app: typer.Typer) -> None:
    app.command("export-onnx")(export_onnx)
    app.command("serve")(serve)
    app.command("snapshot")(snapshot)
