"""Active learning: margin uncertainty and diverse ranking."""

import torch

from arner.active import margin_uncertainty, rank_documents


def test_margin_uncertainty_averages_the_least_certain_words():
    probs = torch.tensor([[0.9, 0.05, 0.05], [0.5, 0.4, 0.1], [0.34, 0.33, 0.33]])
    assert round(margin_uncertainty(probs, k=2), 4) == round(((1 - 0.1) + (1 - 0.01)) / 2, 4)
    assert margin_uncertainty(torch.zeros(0, 3)) == 0.0


def test_near_duplicates_do_not_crowd_the_top():
    texts = ["قصف الطيران الروسي مواقع في ريف إدلب الجنوبي",
             "قصف الطيران الروسي مواقع في ريف إدلب الجنوبي اليوم",
             "أعلنت قوات سوريا الديمقراطية السيطرة على بلدة الباغوز"]
    scores = [0.9, 0.89, 0.5]
    assert rank_documents(texts, scores, 2, diversity=0.0) == [0, 1]
    assert rank_documents(texts, scores, 2, diversity=0.5) == [0, 2]
    assert rank_documents(texts, scores, 5) == [0, 2, 1]
