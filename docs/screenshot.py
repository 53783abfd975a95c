"""Screenshot of the Label Studio labeling page with an annotated Arabic task (``make screenshot``).

Starts a throw-away Label Studio on a free 127.0.0.1 port (temporary data folder, nothing of
``labelstudio-data/`` is touched), creates the project from ``configs/labels.yaml``, imports
one task with its annotation, logs in with headless Chromium (Debian's ``chromium`` package
driven by Playwright), opens the task and saves a PNG. Not part of CI.
"""

from __future__ import annotations

import secrets
import socket
import sys
import tempfile
from pathlib import Path

from arner import labelstudio as ls
from arner.schema import load_schema

ROOT = Path(__file__).resolve().parent.parent
TEXT = ("أعلنت قوات سوريا الديمقراطية (قسد) مقتل ٤٩ عنصراً من «داعـش» في اشتباكات قرب الباغوز بريف دير الزور الشرقي، "
        "فيما شنّ الطيران الروسي أكثر من 40 غارة على مواقع التنظيم في البادية السورية 😀 وفق مرصد SY24.")
SPANS = [("قوات سوريا الديمقراطية", "ARMED_GROUP"), ("قسد", "ARMED_GROUP"), ("٤٩ عنصراً", "COUNT"),
         ("داعـش", "ARMED_GROUP"), ("الباغوز", "LOCATION"), ("دير الزور", "LOCATION"),
         ("الطيران الروسي", "ARMED_GROUP"), ("أكثر من 40 غارة", "COUNT"), ("البادية السورية", "LOCATION")]


def main(out: Path) -> None:
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = ls.Settings(url=f"http://127.0.0.1:{port}", username="annotator@arner.local",
                           password=secrets.token_urlsafe(12), token=secrets.token_hex(20))
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "labelstudio-data"
        ls.start_server(settings, data)
        try:
            client = ls.connect(settings)
            project, _ = ls.ensure_project(client, ls.DEFAULT_PROJECT, load_schema(ROOT / "configs" / "labels.yaml"))
            [task] = client.projects.import_tasks(id=project, request=[{"data": {"text": TEXT, "id": "demo-1"}}],
                                                  return_task_ids=True).task_ids
            spans = [{"start": TEXT.index(s), "end": TEXT.index(s) + len(s), "label": label, "text": s} for s, label in SPANS]
            client.annotations.create(id=task, result=ls.span_results(spans))
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
                page = browser.new_page(viewport={"width": 1280, "height": 760}, locale="ar")
                page.goto(f"{settings.url}/user/login/")
                page.fill("input[name=email]", settings.username)
                page.fill("input[name=password]", settings.password)
                page.click("button[type=submit], input[type=submit]")
                page.wait_for_load_state("networkidle")
                page.goto(f"{settings.url}/projects/{project}/data?task={task}")
                page.get_by_text("الباغوز").first.wait_for(timeout=60_000)
                page.wait_for_timeout(2000)
                out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(out))
                browser.close()
        finally:
            ls.stop_server(data)
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "labelstudio-screenshot.png")
