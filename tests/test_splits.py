"""Splits by source article: pieces of one document and sentences of one article share a split,
and adding documents never moves an existing one."""

from arner.documents import Document
from arner.splits import split_documents, split_of


def test_pieces_of_one_document_and_sentences_of_one_article_never_straddle_splits():
    sentences = [Document(id=f"a{i}-s{j}", text="نص", meta={"url": f"https://news.example/{i}"})
                 for i in range(300) for j in range(3)]
    pieces = [Document(id=f"d{i}@{start}", text="نص", meta={"piece_of": {"id": f"d{i}", "start": start}})
              for i in range(300) for start in (0, 1000, 2000)]
    for docs, source in ((sentences, lambda d: d.meta["url"]), (pieces, lambda d: d.meta["piece_of"]["id"])):
        splits_of_source = {}
        for doc in docs:
            splits_of_source.setdefault(source(doc), set()).add(split_of(doc))
        assert len(splits_of_source) == 300
        assert {len(s) for s in splits_of_source.values()} == {1}
        assert {s for [s] in map(list, splits_of_source.values())} == {"train", "dev", "test"}


def test_the_url_decides_before_the_piece_and_an_explicit_split_before_both():
    doc = Document(id="x@0", text="نص", meta={"url": "https://news.example/7", "piece_of": {"id": "x", "start": 0}})
    assert split_of(doc) == split_of(Document(id="other", text="نص", meta={"url": "https://news.example/7"}))
    doc.meta["split"] = "test"
    assert split_of(doc) == "test"


def test_adding_documents_never_moves_the_split_of_an_existing_one():
    old = [Document(id=f"old{i}", text="نص", meta={"url": f"https://news.example/{i}"} if i % 2 else {}) for i in range(200)]
    new = [Document(id=f"new{i}", text="نص", meta={"url": f"https://other.example/{i}"}) for i in range(500)]

    def where(docs):
        return {d.id: name for name, part in split_documents(docs).items() for d in part}

    before, after = where(old), where(new + old)
    assert {i: after[i] for i in before} == before
    assert set(before.values()) == {"train", "dev", "test"}
