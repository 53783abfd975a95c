"""Inline markup -> documents: offsets cannot drift from the text."""

from arner.markup import parse_line, parse_markup

from conftest import ROOT


def test_parse_line_offsets_and_escapes():
    text, ents, problems = parse_line("شن [الطيران الروسي](ARMED_GROUP) «[23» غارة](COUNT) على \\[[حلب](LOCATION)\\]")
    assert text == "شن الطيران الروسي «23» غارة على [حلب]"
    assert [(text[e.start:e.end], e.label) for e in ents] == [("الطيران الروسي", "ARMED_GROUP"), ("23» غارة", "COUNT"), ("حلب", "LOCATION")]
    assert problems == []


def test_stray_bracket_is_reported():
    assert parse_line("قتل [5 عناصر في حلب")[2] == ["stray '[' at column 5 (write \\[ for a literal bracket)"]


def test_problems_carry_the_markup_line(tmp_path, schema):
    path = tmp_path / "x.txt"
    path.write_text("## x-001\nmeta: {\"split\": \"test\"}\nفي [حلب](LOCATION).\nفي [«حماة»](LOCATION)\n\n## x-002\n[ب](PLACE)\n", encoding="utf-8")
    docs, problems = parse_markup(path, schema)
    assert [str(p) for p in problems] == [
        f"{path}:4: document 'x-001': span [3:9] '«حماة»' (LOCATION): punctuation at the edge of the span",
        f"{path}:7: document 'x-002': span [0:1] 'ب' (PLACE): unknown label 'PLACE' (known: ARMED_GROUP, LOCATION, COUNT)",
    ]
    first = docs[0].doc
    assert first.text == "في حلب.\nفي «حماة»" and first.meta == {"split": "test"}
    assert [(first.text[e.start:e.end]) for e in first.entities] == ["حلب", "«حماة»"]


def test_seed_article_is_reproduced_character_for_character(schema):
    docs, problems = parse_markup(ROOT / "annotations" / "markup" / "seed.txt", schema)
    assert problems == []
    assert docs[0].doc.text == (ROOT / "annotations" / "seed" / "article.txt").read_text(encoding="utf-8").strip()
    assert len(docs[0].doc.entities) == 55


def test_gold_corpus_matches_its_markup(schema):
    """annotations/gold/*.jsonl is exactly what `make data` produces from annotations/markup."""
    from arner.documents import read_documents

    for markup in sorted((ROOT / "annotations" / "markup").glob("*.txt")):
        docs, problems = parse_markup(markup, schema)
        assert problems == []
        assert read_documents(ROOT / "annotations" / "gold" / f"{markup.stem}.jsonl") == [d.doc for d in docs]
