"""The alias table: loading with clear errors, canonical names, unmapped forms, `arner aliases`."""

import pytest
from typer.testing import CliRunner

from arner.aliases import canonical_name, load_aliases
from arner.stats import unmapped_forms
from arner.cli import app
from arner.documents import Document, Entity
from arner.errors import InputError


def test_obvious_variants_share_one_canonical_name():
    for name in ("داعش", "تنظيم الدولة", "الدولة الإسلامية", "ISIS", "isis", "الدولة الإسلامية في العراق والشام"):
        assert canonical_name(name) == "داعش"
    assert canonical_name("قسد") == canonical_name("قوات سوريا الديمقراطية") == "قوات سوريا الديمقراطية"
    for name in ("الحوثيين", "الحوثيون", "جماعة الحوثي", "ميليشيات الحوثي", "انصار الله", "أنصار الله"):
        assert canonical_name(name) == "الحوثيون"
    assert canonical_name("البيشمركه") == "البيشمركة"


def test_unknown_and_context_dependent_names_keep_their_form():
    assert canonical_name("القوات الحكومية") == "القوات الحكومية"
    assert canonical_name("قوات التحالف") == "قوات التحالف"
    assert canonical_name("لواء مجهول") == "لواء مجهول"


def test_table_errors_name_the_file(tmp_path):
    bad = tmp_path / "aliases.yaml"
    bad.write_text("داعش: [تنظيم الدولة]\nالدولة: [تنظيم الدولة]\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"aliases\.yaml: 'تنظيم الدولة' is listed under both 'داعش' and 'الدولة'"):
        load_aliases(bad)
    bad.write_text("داعش: تنظيم الدولة\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"aliases\.yaml: invalid alias table: "):
        load_aliases(bad)
    bad.write_text("داعش: [\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"aliases\.yaml: invalid YAML"):
        load_aliases(bad)
    with pytest.raises(InputError, match=r"missing\.yaml: alias table not found"):
        load_aliases(tmp_path / "missing.yaml")


def test_the_shipped_table_loads():
    table = load_aliases()
    assert len(table) >= 50 and "داعش" in table


def _doc(text, spans):
    return Document(id="d", text=text, entities=[Entity(start=s, end=e, label=l) for s, e, l in spans])


def test_unmapped_forms_counts_normalized_names(tmp_path):
    table = tmp_path / "aliases.yaml"
    table.write_text("داعش: [تنظيم الدولة]\n", encoding="utf-8")
    text = "هاجم لواء الفتح ولواء الفتح وتنظيم الدولة وجيش النصر في الرقة"
    names = [("لواء الفتح", 5), ("ولواء الفتح", 16), ("وتنظيم الدولة", 28), ("وجيش النصر", 42), ("الرقة", 56)]
    assert all(text[at:at + len(name)] == name for name, at in names)
    labels = ["ARMED_GROUP"] * 4 + ["LOCATION"]
    doc = _doc(text, [(at, at + len(name), label) for (name, at), label in zip(names, labels)])
    assert unmapped_forms([doc], path=table) == [("لواء الفتح", 2), ("جيش النصر", 1)]
    assert unmapped_forms([doc], top=1, path=table) == [("لواء الفتح", 2)]


def test_cli_lists_unmapped_names(tmp_path):
    corpus = tmp_path / "gold.jsonl"
    corpus.write_text(_doc("هاجم لواء الفتح مواقع", [(5, 15, "ARMED_GROUP")]).to_json() + "\n", encoding="utf-8")
    table = tmp_path / "aliases.yaml"
    table.write_text("داعش: []\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["aliases", str(corpus), "--table", str(table)])
    assert result.exit_code == 0, result.output
    assert "    1  لواء الفتح" in result.output
    assert "1 canonical names" in result.output
