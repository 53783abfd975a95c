"""The consistency checker: every finding kind, the exceptions file, and the shipped corpus passes."""

import json
import subprocess
import sys

import pytest

from arner.errors import InputError
from arner.lint import apply_exceptions, lint_corpus, load_exceptions, read_corpus

from conftest import ROOT


def record(id, text, *spans):
    """A JSONL line; spans are (surface, label), found at the surface's first occurrence."""
    entities = [{"start": text.index(s), "end": text.index(s) + len(s), "label": label} for s, label in spans]
    return json.dumps({"id": id, "text": text, "entities": entities}, ensure_ascii=False)


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text("\n".join([
        record("a", "هاجم تنظيم داعش مدينة حلب.", ("تنظيم داعش", "ARMED_GROUP"), ("حلب", "LOCATION")),
        record("b", "قتل عناصر من داعش في ريف حمص.", ("عناصر", "COUNT"), ("داعش", "ARMED_GROUP"), ("ريف حمص", "LOCATION")),
        record("c", "قصف «داعش» حمص وعاد الهدوء إلى حلب وحلب.", ("«داعش»", "ARMED_GROUP"), ("حمص", "ARMED_GROUP")),
        record("d", "اشتباكات في حمص ومقتل ثلاثة وعنصرين و٤ جنود", ("حمص", "LOCATION"), ("ثلاثة", "COUNT"),
               ("عنصرين", "COUNT"), ("٤ جنود", "COUNT")),
    ]) + "\n", encoding="utf-8")
    return path


EXPECTED_KEYS = [
    "type-word\tARMED_GROUP\tتنظيم داعش\ta",
    "count-without-number\tCOUNT\tعناصر\tb",
    "direction-word\tLOCATION\tريف حمص\tb",
    "edge-punctuation\tARMED_GROUP\t«داعش»\tc",
    "label-conflict\tARMED_GROUP\tحمص\tc",
    "unannotated-occurrence\tLOCATION\tحلب\tc",  # وحلب is another word: not an occurrence
    "label-conflict\tLOCATION\tحمص\td",
]


def test_every_finding_kind(corpus):
    findings = lint_corpus(read_corpus(corpus))
    assert [f.key for f in findings] == EXPECTED_KEYS
    assert [str(f) for f in findings][4:6] == [
        f"{corpus}:3: c: 'حمص' is ARMED_GROUP here, also LOCATION (1x): قصف «داعش» [حمص] وعاد الهدوء إلى حلب…",
        f"{corpus}:3: c: 'حلب' is not annotated here (LOCATION elsewhere): …حمص وعاد الهدوء إلى [حلب] وحلب.",
    ]
    assert [f.message for f in findings[:4]] == [
        "'تنظيم داعش' starts with the type word 'تنظيم'; 'داعش' is annotated alone",
        "'عناصر' (COUNT) has no digit and no number word",
        "'ريف حمص' (LOCATION) contains a direction word",
        "'«داعش»' has punctuation at its edge",
    ]


def test_unannotated_occurrences_are_flagged_only_where_the_form_is_mostly_annotated(tmp_path):
    path = tmp_path / "y.jsonl"
    path.write_text("\n".join([  # أحد: annotated once (Mount Uhud), not annotated twice (\"one of\"): no finding
        record("a", "معركة جبل أحد", ("أحد", "LOCATION")),
        record("b", "قال أحد السكان", ),
        record("c", "وأصيب أحد الجنود في عدن", ("عدن", "LOCATION")),
        record("d", "وصل الوفد إلى عدن"),    # عدن: annotated once, missed once: flagged
    ]) + "\n", encoding="utf-8")
    assert [f.key for f in lint_corpus(read_corpus(path))] == ["unannotated-occurrence\tLOCATION\tعدن\td"]


def test_exceptions_suppress_exactly_the_listed_findings(corpus, tmp_path):
    exceptions = tmp_path / "exceptions.txt"
    exceptions.write_text(
        "# deliberate\n"
        "label-conflict\tARMED_GROUP\tحمص\tc\t# a reason after a tab\n"
        "\n"
        "direction-word\tLOCATION\tريف حمص\t*\n"
        "unannotated-occurrence\tLOCATION\tحلب\tz\n",
        encoding="utf-8")
    keys = load_exceptions(exceptions)
    assert keys == {"label-conflict\tARMED_GROUP\tحمص\tc": 2, "direction-word\tLOCATION\tريف حمص\t*": 4,
                    "unannotated-occurrence\tLOCATION\tحلب\tz": 5}
    remaining, unused = apply_exceptions(lint_corpus(read_corpus(corpus)), keys)
    assert [f.key for f in remaining] == [k for k in EXPECTED_KEYS if k not in (EXPECTED_KEYS[2], EXPECTED_KEYS[4])]
    assert unused == ["unannotated-occurrence\tLOCATION\tحلب\tz"]


def test_an_exception_written_for_one_label_still_holds_once_the_form_has_two(tmp_path):
    path = tmp_path / "z.jsonl"
    path.write_text("\n".join([  # القاعدة: the group twice, the town once, "the base" once
        record("a", "هاجم تنظيم القاعدة المدينة", ("القاعدة", "ARMED_GROUP")),
        record("b", "تبنى فرع القاعدة الهجوم", ("القاعدة", "ARMED_GROUP")),
        record("c", "وصلت التعزيزات إلى مدينة القاعدة في إب", ("القاعدة", "LOCATION")),
        record("d", "قصفت الطائرات القاعدة الجوية"),
    ]) + "\n", encoding="utf-8")
    findings = lint_corpus(read_corpus(path))
    assert "unannotated-occurrence\tARMED_GROUP/LOCATION\tالقاعدة\td" in [f.key for f in findings]
    keys = {"unannotated-occurrence\tARMED_GROUP\tالقاعدة\td": 1, "label-conflict\tARMED_GROUP\tالقاعدة\t*": 2,
            "label-conflict\tLOCATION\tالقاعدة\tc": 3}
    remaining, unused = apply_exceptions(findings, keys)
    assert (remaining, unused) == ([], [])


def test_malformed_exception_line(tmp_path):
    exceptions = tmp_path / "exceptions.txt"
    exceptions.write_text("label-conflict حمص c\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"exceptions.txt:1: expected kind<TAB>label<TAB>form<TAB>document id"):
        load_exceptions(exceptions)
    with pytest.raises(InputError, match="file not found"):
        load_exceptions(tmp_path / "none.txt")


def test_cli_exit_status(corpus, tmp_path):
    exceptions = tmp_path / "exceptions.txt"
    exceptions.write_text("\n".join(EXPECTED_KEYS) + "\n", encoding="utf-8")
    failing = subprocess.run([sys.executable, "-m", "arner.cli", "lint", str(corpus)], capture_output=True, text=True)
    assert failing.returncode == 1
    assert failing.stdout.splitlines()[-1] == (
        "4 documents, 7 finding(s), 0 listed as exceptions, 7 remaining: count-without-number 1, direction-word 1, "
        "edge-punctuation 1, label-conflict 2, type-word 1, unannotated-occurrence 1")
    passing = subprocess.run([sys.executable, "-m", "arner.cli", "lint", str(corpus), "--exceptions", str(exceptions)],
                             capture_output=True, text=True)
    assert (passing.returncode, passing.stdout) == (0, "4 documents, 7 finding(s), 7 listed as exceptions, 0 remaining\n")


def test_shipped_corpus_passes_with_its_exceptions():
    findings = lint_corpus(read_corpus(ROOT / "annotations" / "gold") + read_corpus(ROOT / "annotations" / "realnews"))
    remaining, _ = apply_exceptions(findings, load_exceptions(ROOT / "annotations" / "lint-exceptions.txt"))
    assert [str(f) for f in remaining] == []
