"""Perturbations of form: exact outputs, exact offset maps, and the invariance suite on the tiny model."""

import dataclasses
import sys

import pytest

from arner.documents import Document, Entity, load_corpus
from arner.perturb import PERTURBATIONS, UNDONE_BY_SURFACE, off_word_boundaries, perturb, rewrite
from arner.tagger import Tagger
from arner.text import normalize_surface, split_words

from conftest import ROOT

sys.path.insert(0, str(ROOT / "eval"))
import robustness  # noqa: E402  (the stage script under eval/)

TEXT = "وقال مسؤول إن «داعش» قتل 40 شخصا في الرقة، ولا يزال القتال مستمرا."
# The gold spans of TEXT: داعش, 40 شخصا, الرقة.
SPANS = [(15, 19, "ARMED_GROUP"), (25, 32, "COUNT"), (36, 41, "LOCATION")]


def mapped(name):
    p = perturb(name, TEXT)
    return p.text, [p.text[slice(*p.span(s, e))] for s, e, _ in SPANS]


def test_spans_of_the_example_are_right():
    assert [TEXT[s:e] for s, e, _ in SPANS] == ["داعش", "40 شخصا", "الرقة"]


@pytest.mark.parametrize("name, text, surfaces", [
    ("final punctuation removed", "وقال مسؤول إن «داعش» قتل 40 شخصا في الرقة، ولا يزال القتال مستمرا",
     ["داعش", "40 شخصا", "الرقة"]),
    ("final punctuation added", TEXT, ["داعش", "40 شخصا", "الرقة"]),
    ("Eastern digits", "وقال مسؤول إن «داعش» قتل ٤٠ شخصا في الرقة، ولا يزال القتال مستمرا.", ["داعش", "٤٠ شخصا", "الرقة"]),
    ("Latin comma", "وقال مسؤول إن «داعش» قتل 40 شخصا في الرقة, ولا يزال القتال مستمرا.", ["داعش", "40 شخصا", "الرقة"]),
    ('quotes ""', 'وقال مسؤول إن "داعش" قتل 40 شخصا في الرقة، ولا يزال القتال مستمرا.', ["داعش", "40 شخصا", "الرقة"]),
    ("quotes “”", "وقال مسؤول إن “داعش” قتل 40 شخصا في الرقة، ولا يزال القتال مستمرا.", ["داعش", "40 شخصا", "الرقة"]),
    ("final taa marbuta as haa (ة -> ه)", "وقال مسؤول إن «داعش» قتل 40 شخصا في الرقه، ولا يزال القتال مستمرا.",
     ["داعش", "40 شخصا", "الرقه"]),
    ("final yaa / alef maqsura swapped", "وقال مسؤول إن «داعش» قتل 40 شخصا فى الرقة، ولا يزال القتال مستمرا.",
     ["داعش", "40 شخصا", "الرقة"]),
    ("presentation-form ligatures", "وقال مسؤول إن «داعش» قتل 40 شخصا في الرقة، وﻻ يزال القتال مستمرا.",
     ["داعش", "40 شخصا", "الرقة"]),
    ("headline form", "قال مسؤول إن «داعش» قتل 40 شخصا في الرقة، ولا يزال القتال مستمرا", ["داعش", "40 شخصا", "الرقة"]),
])
def test_perturbation_text_and_mapped_spans(name, text, surfaces):
    assert mapped(name) == (text, surfaces)


def test_tashkeel_added_puts_tanween_inside_the_span():
    text, surfaces = mapped("tashkeel added")
    assert surfaces[1] == "40 شخصاً"
    assert normalize_surface(surfaces[1].split()[1]) == "شخصا"
    assert "مستمراً" in text


def test_headline_form_keeps_a_leading_waw_that_is_part_of_the_word():
    assert perturb("headline form", "وزارة الدفاع تعلن مقتل 5 مسلحين").text == "وزارة الدفاع تعلن مقتل 5 مسلحين"
    assert perturb("headline form", "والجيش يتقدم.").text == "الجيش يتقدم"


def test_deleted_first_letter_of_a_span_moves_its_start():
    p = perturb("headline form", "وقوات النظام تتقدم.")
    assert p.text == "وقوات النظام تتقدم"  # قوات is not a headline verb: kept
    p = rewrite("وقوات", ["", "ق", "و", "ا", "ت"])
    assert p.text[slice(*p.span(0, 5))] == "قوات"


def test_every_perturbation_keeps_every_gold_span_on_word_boundaries(schema):
    docs = load_corpus(ROOT / "annotations" / "gold", schema)
    for name in PERTURBATIONS:
        for doc in docs:
            p = perturb(name, doc.text)
            spans = [p.span(e.start, e.end) for e in doc.entities]
            assert off_word_boundaries(p.text, spans) == [], (name, doc.id)


def test_surface_normalisation():
    assert [normalize_surface(w) for w in ["ﻻجئين", "قتيلاً", "الرقـة", "٤٩", "«", "”", ",", "أحمد", "ـ"]] == \
        ["لاجئين", "قتيلا", "الرقة", "49", '"', '"', "،", "أحمد", "ـ"]


def test_suite_on_the_tiny_model_offsets_survive_and_surface_changes_do_nothing(trained, schema):
    _, model_dir, _ = trained
    docs = load_corpus(ROOT / "annotations" / "gold" / "seed.jsonl", schema)[:6]
    names = [*robustness.CONTEXT, *PERTURBATIONS]
    tagger = Tagger.load(model_dir)
    plain = robustness.run_set(tagger, docs, names)  # raises SuiteError on any offset that does not point into its text
    assert set(plain) == {"documents", "clean", *names}
    assert plain["clean"]["micro"] > 0  # the model tags something, so "nothing changed" below is not vacuous
    tagger.settings = dataclasses.replace(tagger.settings, normalize="surface")
    surface = robustness.run_set(tagger, docs, names)
    # With surface normalisation the encoder sees exactly the same words after these changes.
    for name in sorted(UNDONE_BY_SURFACE):
        assert surface[name]["changed"] == 0, name
        assert {k: surface[name][k] for k in robustness.LABELS} == {k: surface["clean"][k] for k in robustness.LABELS}, name


def test_suite_refuses_a_tagger_whose_offsets_do_not_point_into_the_text():
    class ShiftedTagger:  # stands for a tagger with an offset bug: its spans are one character off
        def tag(self, texts, enrich=False):
            return [[{"start": 1, "end": 5, "label": "LOCATION", "text": text[:4]}] for text in texts]

    doc = Document(id="x", text="الرقة تحت القصف", entities=[Entity(start=0, end=5, label="LOCATION")])
    with pytest.raises(robustness.SuiteError, match="offset error"):
        robustness.run_set(ShiftedTagger(), [doc], ["tatweel"])


def test_augment_rewrites_the_asked_share_and_maps_entities_and_masked_spans(schema):
    from arner.perturb import augment

    docs = load_corpus(ROOT / "annotations" / "gold", schema)
    docs[0] = docs[0].model_copy(update={"meta": {"unlabelled": [[docs[0].entities[0].start, docs[0].entities[0].end]]}})
    out = augment(docs, 0.5, seed=13)
    assert augment(docs, 0.5, seed=13) == out and augment(docs, 0.0, seed=13) == docs
    changed = [(d, a) for d, a in zip(docs, out) if a.text != d.text]
    assert 0.35 * len(docs) < len(changed) < 0.6 * len(docs)  # some chosen changes do not apply to every text
    for d, a in changed:
        assert [e.label for e in a.entities] == [e.label for e in d.entities]
        assert off_word_boundaries(a.text, [(e.start, e.end) for e in a.entities]) == []
    first = out[0]
    assert first.meta["unlabelled"] == [[first.entities[0].start, first.entities[0].end]]
    # Behind the surface normalisation only the changes it does not undo are drawn.
    def seen(text):
        return [normalize_surface(w.text) for w in split_words(text)]

    rewritten = [(d, a) for d, a in zip(docs, augment(docs, 1.0, seed=13, normalize="surface")) if a.text != d.text]
    assert len(rewritten) > len(docs) // 2 and all(seen(a.text) != seen(d.text) for d, a in rewritten)
