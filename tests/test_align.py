"""BIO derivation, IOB2 repair, span decoding, subword alignment and windows."""

from arner.align import make_windows, repair_iob2, tags_to_spans, word_tags
from arner.documents import Entity
from arner.text import split_words


def test_bio_from_spans_and_back():
    text = "قصف بـ«داعش» مدينة الرقة و«23» غارة"
    words = split_words(text)
    ents = [Entity(start=7, end=11, label="ARMED_GROUP"), Entity(start=19, end=24, label="LOCATION"),
            Entity(start=27, end=35, label="COUNT")]
    tags = word_tags(words, ents)
    assert list(zip([w.text for w in words], tags)) == [
        ("قصف", "O"), ("بـ", "O"), ("«", "O"), ("داعش", "B-ARMED_GROUP"), ("»", "O"), ("مدينة", "O"),
        ("الرقة", "B-LOCATION"), ("و", "O"), ("«", "O"), ("23", "B-COUNT"), ("»", "I-COUNT"), ("غارة", "I-COUNT")]
    assert [(text[s:e], label) for s, e, label, _, _ in tags_to_spans(words, tags)] == [
        ("داعش", "ARMED_GROUP"), ("الرقة", "LOCATION"), ("23» غارة", "COUNT")]


def test_adjacent_entities_stay_two_spans():
    words = split_words("بين إيران وروسيا")
    assert tags_to_spans(words, ["O", "B-LOCATION", "B-LOCATION"]) == [(4, 9, "LOCATION", 1, 2), (10, 16, "LOCATION", 2, 3)]


def test_repair_makes_valid_iob2():
    assert repair_iob2(["I-COUNT", "I-COUNT", "O", "B-LOCATION", "I-COUNT", "I-LOCATION"]) == [
        "B-COUNT", "I-COUNT", "O", "B-LOCATION", "B-COUNT", "B-LOCATION"]


def test_first_subword_alignment(tiny_tokenizer):
    words = split_words("قوات النظام في البادية السورية")
    [window] = make_windows(tiny_tokenizer, [words], "none", 64, 8)
    tokens = tiny_tokenizer.convert_ids_to_tokens(window.input_ids)
    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]"
    assert window.first_words.tolist() == [0, 1, 2, 3, 4] and window.owned == (0, 5)
    # each word's first subword starts it (no ## continuation); the others continue it
    for k, pos in enumerate(window.first_positions):
        end = window.first_positions[k + 1] if k + 1 < len(window.first_positions) else len(tokens) - 1
        pieces = tokens[pos:end]
        assert not pieces[0].startswith("##") and all(p.startswith("##") for p in pieces[1:])
        assert "".join(p.removeprefix("##") for p in pieces) == words[k].text


def test_long_text_windows_cover_every_word_once(tiny_tokenizer):
    text = " ".join(["وشن الطيران الروسي أكثر من 40 غارة قرب جبل البشري"] * 30)
    words = split_words(text)
    windows = make_windows(tiny_tokenizer, [words], "none", 32, 8)
    assert len(windows) > 10
    assert all(len(w.input_ids) <= 32 for w in windows)
    owned = [i for w in windows for i in range(*w.owned)]
    assert owned == list(range(len(words)))  # every word owned exactly once, in order
    for w in windows:
        assert set(range(*w.owned)) <= set(w.first_words.tolist())  # owners really contain the word
    for a, b in zip(windows, windows[1:]):
        assert b.first_words[0] <= a.first_words[-1]  # consecutive windows overlap (share a word at least)


def test_word_dropped_by_tokenizer_becomes_unknown(tiny_tokenizer):
    words = split_words("في \u200f حلب")
    [window] = make_windows(tiny_tokenizer, [words], "none", 64, 8)
    assert len(window.first_words) == 3
    assert window.input_ids[window.first_positions[1]] == tiny_tokenizer.unk_token_id
