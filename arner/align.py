"""Spans <-> per-word BIO tags, and words -> subword windows for the encoder.

Every word's label sits on its first subword (the rest get -100 in training). Documents
longer than the encoder's limit are cut into overlapping windows on word boundaries; each
word is *owned* by exactly one window (the one where it is furthest from the cut), and its
prediction is read there. Nothing is truncated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arner.text import NORMALIZERS, Word

IGNORE = -100


def word_tags(words: list[Word], entities) -> list[str]:
    """BIO (IOB2) tag per word from character spans that sit on word boundaries."""
    tags = ["O"] * len(words)
    index = {w.start: i for i, w in enumerate(words)}
    for ent in sorted(entities, key=lambda e: e.start):
        i = index[ent.start]
        tags[i] = f"B-{ent.label}"
        i += 1
        while i < len(words) and words[i].end <= ent.end:
            tags[i] = f"I-{ent.label}"
            i += 1
    return tags


def repair_iob2(tags: list[str]) -> list[str]:
    """Make a predicted tag sequence valid IOB2: an ``I-X`` that does not continue an X starts one."""
    fixed, prev = [], "O"
    for tag in tags:
        if tag.startswith("I-") and prev[2:] != tag[2:]:
            tag = "B-" + tag[2:]
        fixed.append(tag)
        prev = tag
    return fixed


def tags_to_spans(words: list[Word], tags: list[str]) -> list[tuple[int, int, str, int, int]]:
    """``(start, end, label, first_word, last_word + 1)`` for each entity of a valid IOB2 sequence."""
    spans, open_ = [], None
    for i, tag in enumerate(tags + ["O"]):
        if open_ and not (tag.startswith("I-") and tag[2:] == open_[1]):
            first = open_[0]
            spans.append((words[first].start, words[i - 1].end, open_[1], first, i))
            open_ = None
        if tag.startswith("B-"):
            open_ = (i, tag[2:])
    return spans


@dataclass
class Window:
    """One encoder input: a run of words of one text, with special tokens added."""

    text_index: int
    input_ids: list[int]
    first_positions: np.ndarray  # token position of each word's first subword
    first_words: np.ndarray      # the word index at each of those positions
    owned: tuple[int, int]       # words [start, end) whose prediction is read here


def _window_bounds(lengths: list[int], budget: int, overlap: int) -> list[tuple[int, int]]:
    """Word ranges ``[start, end)`` of at most ``budget`` tokens, consecutive ones sharing ~``overlap`` tokens."""
    bounds, start, n = [], 0, len(lengths)
    while True:
        end, used = start, 0
        while end < n and (used + lengths[end] <= budget or end == start):
            used += lengths[end]
            end += 1
        bounds.append((start, end))
        if end >= n:
            return bounds
        next_start, shared = end, 0
        while next_start - 1 > start and shared + lengths[next_start - 1] <= overlap:
            next_start -= 1
            shared += lengths[next_start]
        start = next_start


def _split_into_windows(text_index: int, pieces: list[list[int]], budget: int, overlap: int, cls: int, sep: int) -> list[Window]:
    """Windows over a text's words (given as subword ids per word); each word owned by one window."""
    pieces = [p[:budget] for p in pieces]  # a single word longer than a window keeps its first subwords
    bounds = _window_bounds([len(p) for p in pieces], budget, overlap)
    windows = []
    for k, (start, end) in enumerate(bounds):
        own_start = start if k == 0 else (start + bounds[k - 1][1]) // 2
        own_end = end if k == len(bounds) - 1 else (bounds[k + 1][0] + end) // 2
        ids, firsts = [cls], []
        for w in range(start, end):
            firsts.append(len(ids))
            ids.extend(pieces[w])
        ids.append(sep)
        windows.append(Window(text_index, ids, np.array(firsts), np.arange(start, end), (own_start, own_end)))
    return windows


def make_windows(tokenizer, texts_words: list[list[Word]], normalize: str, max_length: int, overlap: int) -> list[Window]:
    """Encode texts (already split into words) as windows of at most ``max_length`` tokens.

    One batched tokenizer call; a text that fits in one window takes a vectorised path. A
    word the tokenizer drops entirely (e.g. a lone format character) becomes the unknown token.
    Texts without words get no window.
    """
    norm = NORMALIZERS[normalize]
    budget = max_length - 2
    cls, sep, unk = tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.unk_token_id
    nonempty = [i for i, words in enumerate(texts_words) if words]
    if not nonempty:
        return []
    strings = [[norm(w.text) for w in texts_words[i]] for i in nonempty]
    encoded = tokenizer(strings, is_split_into_words=True, add_special_tokens=False, verbose=False)
    windows = []
    for row, text_index in enumerate(nonempty):
        ids = encoded["input_ids"][row]
        word_ids = np.asarray(encoded.word_ids(row), dtype=np.int64)
        n_words = len(strings[row])
        starts = np.flatnonzero(np.r_[True, word_ids[1:] != word_ids[:-1]]) if len(ids) else np.zeros(0, np.int64)
        if len(ids) <= budget and len(starts) == n_words:
            windows.append(Window(text_index, [cls, *ids, sep], starts + 1, np.arange(n_words), (0, n_words)))
            continue
        pieces: list[list[int]] = [[] for _ in range(n_words)]
        for token_id, word_id in zip(ids, word_ids.tolist()):
            pieces[word_id].append(token_id)
        windows += _split_into_windows(text_index, [p or [unk] for p in pieces], budget, overlap, cls, sep)
    return windows
