"""Corpus statistics: the per-theatre table and its names unseen in other theatres."""

from arner.documents import Document, Entity
from arner.stats import corpus_stats, stats_markdown, theatre_stats


def doc(i, theatre, text, spans):
    entities = [Entity(start=text.index(s), end=text.index(s) + len(s), label=label) for s, label in spans]
    return Document(id=f"d{i}", text=text, entities=entities, meta={"theatre": theatre} if theatre else {})


DOCS = [
    doc(1, "sudan", "هاجمت قوات الدعم السريع الفاشر. وقتل 12 مدنيا.", [("قوات الدعم السريع", "ARMED_GROUP"), ("الفاشر", "LOCATION"), ("12 مدنيا", "COUNT")]),
    doc(2, "sudan", "قصف الجيش السوداني الخرطوم.", [("الجيش السوداني", "ARMED_GROUP"), ("الخرطوم", "LOCATION")]),
    doc(3, "libya", "دخلت قوات الدعم السريع الكفرة قرب الخرطوم.", [("قوات الدعم السريع", "ARMED_GROUP"), ("الكفرة", "LOCATION"), ("الخرطوم", "LOCATION")]),
    doc(4, None, "لا شيء هنا.", []),
]


def test_theatre_stats_count_names_unseen_in_other_theatres():
    assert theatre_stats(DOCS) == {
        "libya": {"documents": 1, "sentences": 1, "entities": {"ARMED_GROUP": 1, "LOCATION": 2},
                  "ARMED_GROUP names": 1, "ARMED_GROUP unseen elsewhere": 0, "LOCATION names": 2, "LOCATION unseen elsewhere": 1},
        "sudan": {"documents": 2, "sentences": 3, "entities": {"ARMED_GROUP": 2, "LOCATION": 2, "COUNT": 1},
                  "ARMED_GROUP names": 2, "ARMED_GROUP unseen elsewhere": 1, "LOCATION names": 2, "LOCATION unseen elsewhere": 1},
        "(none)": {"documents": 1, "sentences": 1, "entities": {},
                   "ARMED_GROUP names": 0, "ARMED_GROUP unseen elsewhere": 0, "LOCATION names": 0, "LOCATION unseen elsewhere": 0},
    }


def test_stats_markdown_has_one_line_per_theatre():
    text = stats_markdown(corpus_stats(DOCS, ["ARMED_GROUP", "LOCATION", "COUNT"]), ["ARMED_GROUP", "LOCATION", "COUNT"])
    assert "| sudan | 2 | 3 | 2 | 2 | 1 | 2 (1) | 2 (1) |" in text
    assert "| libya | 1 | 1 | 1 | 2 | 0 | 1 (0) | 2 (1) |" in text
