"""Public CoNLL corpora: label map, masked types and numerals, trimmed spans."""

from arner.conll import read_conll
from train.dataset import build_dataset, training_windows


def test_read_conll_maps_masks_and_trims(tmp_path, schema):
    path = tmp_path / "train.conll"
    path.write_text("-DOCSTART- -X- O\n\nقتل O\n5 O\nفي O\n«بغداد» B-LOC\nالجديدة I-LOC\nقال O\nعلي B-PERS\n\n"
                    "ثم O\nحلب B-LOC\n", encoding="utf-8")
    first, second = read_conll(path, {"LOC": "LOCATION"})
    assert first.text == "قتل 5 في «بغداد» الجديدة قال علي"
    assert [(first.text[e.start:e.end], e.label) for e in first.entities] == [("بغداد» الجديدة", "LOCATION")]
    assert [first.text[a:b] for a, b in first.meta["unlabelled"]] == ["5 في", "علي"]
    assert second.text == "ثم حلب" and second.id == f"{tmp_path.name}/train-00002"


def test_unlabelled_words_are_ignored_by_the_loss(tmp_path, schema, tiny_tokenizer):
    from arner.config import Config

    path = tmp_path / "c.conll"
    path.write_text("قتل O\n5 O\nفي O\nحلب B-LOC\nقال O\nعلي B-PERS\n", encoding="utf-8")
    [doc] = read_conll(path, {"LOC": "LOCATION"})
    config = Config(name="t", encoder="tiny", max_length=64, window_overlap=8)
    [feature] = training_windows(build_dataset({"train": [doc]}, schema)["train"], tiny_tokenizer, config)
    firsts = [label for label in feature["labels"] if label != -100]
    o, b_loc = schema.label2id["O"], schema.label2id["B-LOCATION"]
    assert firsts == [o, b_loc, o]  # قتل, حلب, قال: the numeral, its next word and the person carry no label
