"""Word splitting, sentence splitting and per-word normalisation."""

from arner.text import normalize_arabert, split_sentences, split_words


def words(text):
    return [w.text for w in split_words(text)]


def test_words_keep_tashkeel_tatweel_and_split_punctuation():
    text = "قُتِلَ ٤٩ عنصراً من «داعـش» بـ«الرقة»، و SY24 قالت: 1,200 نازح!"
    assert words(text) == ["قُتِلَ", "٤٩", "عنصراً", "من", "«", "داعـش", "»", "بـ", "«", "الرقة", "»", "،",
                           "و", "SY24", "قالت", ":", "1", ",", "200", "نازح", "!"]


def test_proclitic_cut_off_by_tatweel_is_its_own_word():
    assert words("بـأبوظبي وبـالرقة داعـــش كتائب") == ["بـ", "أبوظبي", "وبـ", "الرقة", "داعـــش", "كتائب"]
    assert words("لـ 220 شخصًا") == ["لـ", "220", "شخصًا"]
    # also before a digit, Western or Eastern (real news: "بـ10 آلاف شخص")
    assert words("بـ10 آلاف شخص ولـ٤٩ عنصراً") == ["بـ", "10", "آلاف", "شخص", "ولـ", "٤٩", "عنصراً"]


def test_word_offsets_round_trip_exactly():
    text = "“لواء القدس” 😀 هاجم\tمواقعَ في دير الزور — ٣ آليات"
    for w in split_words(text):
        assert text[w.start:w.end] == w.text
    assert [w.text for w in split_words(text)][:5] == ["“", "لواء", "القدس", "”", "😀"]


def test_sentences_split_on_newlines_and_final_punctuation():
    text = "قتل 5 عناصر. وأصيب آخرون؟ نعم\nسطر ثان"
    assert [text[a:b] for a, b in split_sentences(text)] == ["قتل 5 عناصر.", "وأصيب آخرون؟", "نعم", "سطر ثان"]


def test_arabert_normalisation_per_word():
    assert normalize_arabert("عَشَراتُ") == "عشرات"
    assert normalize_arabert("داعـــش") == "داعش"
    assert normalize_arabert("٤٩") == "49"
    assert normalize_arabert("2015/3") == "2015-3"
    assert normalize_arabert("ـ") == "ـ"  # nothing would be left: keep the word
