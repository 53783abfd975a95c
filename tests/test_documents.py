"""The validator: every kind of problem is reported with file, line, document and span."""

import json
import os

import pytest

from arner.documents import Document, Entity, atomic_write, load_corpus, parse_jsonl, span_problems, validate_documents
from arner.errors import InputError


def doc(text, *spans, id="d1"):
    return Document(id=id, text=text, entities=[Entity(start=s, end=e, label=l) for s, e, l in spans])


def test_clean_document_has_no_problem(schema):
    assert span_problems(doc("هاجم «داعش» مدينة الرقة", (6, 10, "ARMED_GROUP"), (18, 23, "LOCATION")), schema) == []


@pytest.mark.parametrize("spans, message", [
    ([(24, 30, "LOCATION")], "span [24:30] '' (LOCATION): offsets out of range for text of length 23"),
    ([(19, 23, "LOCATION")], "span [19:23] 'لرقة' (LOCATION): not on word boundaries (context 'ش» مدينة الرقة')"),
    ([(5, 10, "ARMED_GROUP")], "span [5:10] '«داعش' (ARMED_GROUP): punctuation at the edge of the span"),
    ([(6, 11, "ARMED_GROUP")], "span [6:11] 'داعش»' (ARMED_GROUP): punctuation at the edge of the span"),
    ([(11, 17, "LOCATION")], "span [11:17] ' مدينة' (LOCATION): whitespace at the edge of the span"),
    ([(6, 10, "GROUP")], "span [6:10] 'داعش' (GROUP): unknown label 'GROUP' (known: ARMED_GROUP, LOCATION, COUNT)"),
    ([(12, 23, "LOCATION"), (18, 23, "LOCATION")], "spans [12:23] 'مدينة الرقة' and [18:23] 'الرقة' overlap"),
])
def test_each_span_problem(schema, spans, message):
    assert span_problems(doc("هاجم «داعش» مدينة الرقة", *spans), schema) == [message]


def test_empty_text(schema):
    assert span_problems(doc("   "), schema) == ["text is empty"]


def test_file_level_problems_name_file_line_and_document(tmp_path, schema):
    path = tmp_path / "bad.jsonl"
    good = {"id": "a", "text": "في حلب", "entities": [{"start": 3, "end": 6, "label": "LOCATION"}]}
    path.write_text("\n".join([
        json.dumps(good, ensure_ascii=False),
        '{"id": "b", "text": ',
        json.dumps({"id": "a", "text": "في حلب"}, ensure_ascii=False),
        json.dumps({"id": "c", "entities": []}),
    ]) + "\n", encoding="utf-8")
    located, problems = parse_jsonl(path)
    problems += validate_documents(located, schema)
    assert [str(p) for p in problems] == [
        f"{path}:2: invalid JSON: Expecting value (column 21)",
        f"{path}:4: document 'c': invalid document: text: Field required",
        f"{path}:3: document 'a': duplicate document id (first at {path}:1)",
    ]


def test_non_utf8_empty_and_missing_files(tmp_path, schema):
    bad = tmp_path / "latin.jsonl"
    bad.write_bytes(b'{"id": "x", "text": "ok"}\n{"id": "y", "text": "\xe9t\xe9"}\n')
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    assert [str(p) for p in parse_jsonl(bad)[1]] == [f"{bad}:2: not valid UTF-8 (byte 47)"]
    assert [str(p) for p in parse_jsonl(empty)[1]] == [f"{empty}: file is empty"]
    assert [str(p) for p in parse_jsonl(tmp_path / "none.jsonl")[1]] == [f"{tmp_path / 'none.jsonl'}: file not found"]
    with pytest.raises(InputError) as err:
        load_corpus(empty, schema)
    assert str(err.value) == f"{empty}: file is empty"
    with pytest.raises(InputError) as err:
        load_corpus(bad, schema)
    assert str(err.value) == f"{bad}:2: not valid UTF-8 (byte 47)"


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text("old\n", encoding="utf-8")
    with pytest.raises(RuntimeError):
        with atomic_write(path) as f:
            f.write("half")
            raise RuntimeError("interrupted")
    assert path.read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]


def test_atomic_write_gives_an_ordinary_file_not_a_private_one(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "out.jsonl") as f:
            f.write("x\n")
    finally:
        os.umask(old)
    assert oct((tmp_path / "out.jsonl").stat().st_mode & 0o777) == "0o644"
