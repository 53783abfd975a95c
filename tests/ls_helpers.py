"""Shared by the Label Studio tests: texts with everything that could move an offset, the CLI run
against the test server, and span/result builders."""

import json
import os
import subprocess
import sys
from pathlib import Path

from arner import labelstudio as ls

from conftest import ROOT

LABELS = ROOT / "configs" / "labels.yaml"
LS_SETTINGS = ROOT / "configs" / "labelstudio.yaml"

# Texts with everything that could move an offset.
T1 = "قُتِلَ ٤٩ عنصراً من «داعـش» في ريف حمص الشرقي 😀 SY24"
T2 = "شن الطيران الروسي 😀 أكثر من 40 غارة قرب جبل البشري."
T3 = "وقالت مصادر إن قوات سوريا الديمقراطية (SDF) سيطرت على الباغوز"
T4 = "لم يُعلن عن خسائر."
T5 = "خبر مكرر لا يُوسم."
T6 = "وصلت تعزيزات إلى مطار كويرس العسكري"
T7 = "قصفت قوات التحالف مواقع للحوثيين في صعدة"
T8 = "قتل 3 جنود في عدن"


def env_for(settings, project: str, **extra) -> dict:
    return {**os.environ, "LABEL_STUDIO_URL": settings.url, "LABEL_STUDIO_API_KEY": settings.token,
            "LABEL_STUDIO_USERNAME": settings.username, "LABEL_STUDIO_PASSWORD": settings.password,
            "LABEL_STUDIO_PROJECT": project, **extra}


def run_cli(*args, cwd, env):
    """The project's command line (`python -m arner.cli ...`) in a subprocess, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "arner.cli", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=600, env=env)


def run_ls(*args, cwd, env):
    return run_cli("ls", *args, cwd=cwd, env=env)


def span(text: str, surface: str, label: str, nth: int = 0) -> dict:
    start = -1
    for _ in range(nth + 1):
        start = text.index(surface, start + 1)
    return {"start": start, "end": start + len(surface), "label": label}


def results(text: str, spans: list[dict]) -> list[dict]:
    return ls.span_results([{**s, "text": text[s["start"]:s["end"]]} for s in spans])


def client_for(settings):
    from label_studio_sdk import LabelStudio

    return LabelStudio(base_url=settings.url, api_key=settings.token)


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path
