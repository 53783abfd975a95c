"""Scoring: seqeval strict IOB2 and character-span scores agree; error types are counted."""

from arner.documents import Document, Entity
from arner.evaluate import score

LABELS = ["ARMED_GROUP", "LOCATION", "COUNT"]
TEXT = "شن الطيران الروسي أكثر من 40 غارة قرب جبل البشري بين الرقة ودير الزور"


def d(*spans, id="a"):
    return Document(id=id, text=TEXT, entities=[Entity(start=TEXT.index(s), end=TEXT.index(s) + len(s), label=l) for s, l in spans])


GOLD = [d(("الطيران الروسي", "ARMED_GROUP"), ("أكثر من 40 غارة", "COUNT"), ("جبل البشري", "LOCATION"),
          ("الرقة", "LOCATION"), ("ودير الزور", "LOCATION"))]
PRED = [d(("الطيران الروسي", "ARMED_GROUP"), ("40 غارة", "COUNT"), ("جبل البشري", "ARMED_GROUP"),
          ("الرقة", "LOCATION"), ("قرب", "LOCATION"))]


def test_span_scores_and_errors():
    m = score(GOLD, PRED, LABELS)
    assert m["per_label"] == {
        "ARMED_GROUP": {"precision": 0.5, "recall": 1.0, "f1": 0.6667, "support": 1},
        "LOCATION": {"precision": 0.5, "recall": 0.3333, "f1": 0.4, "support": 3},
        "COUNT": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1},
    }
    assert m["micro"] == {"precision": 0.4, "recall": 0.4, "f1": 0.4, "support": 5}
    assert m["errors"] == {"type": 1, "boundary": 1}
    assert sorted(r["text"] for r in m["false_positives"]) == ["40 غارة", "جبل البشري", "قرب"]
    assert sorted(r["text"] for r in m["false_negatives"]) == ["أكثر من 40 غارة", "جبل البشري", "ودير الزور"]


def test_seqeval_strict_agrees_with_span_scores():
    m = score(GOLD, PRED, LABELS)
    assert m["seqeval"]["micro_f1"] == m["micro"]["f1"]
    for label in LABELS:
        assert m["seqeval"]["per_label"][label]["f1"] == m["per_label"][label]["f1"]
        assert m["seqeval"]["per_label"][label]["support"] == m["per_label"][label]["support"]


def test_seen_and_unseen_names_are_scored_apart():
    known = {("الطيران الروسي", "ARMED_GROUP"), ("الرقة", "LOCATION"), ("قرب", "LOCATION")}
    m = score(GOLD, PRED, LABELS, known=known)
    assert m["names"] == {
        "seen": {"precision": 0.6667, "recall": 1.0, "f1": 0.8, "support": 2},
        "unseen": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 3},
    }
