"""The background preparation of the Tagger's next chunk (arner.tagger.in_background)."""

import threading

import pytest

from arner.tagger import in_background


def test_results_come_in_order_and_an_error_is_raised_at_its_place():
    assert list(in_background([lambda i=i: i * i for i in range(7)])) == [0, 1, 4, 9, 16, 25, 36]
    got = []

    def broken():
        raise ValueError("chunk 2 is malformed")

    with pytest.raises(ValueError, match="chunk 2 is malformed"):
        for value in in_background([lambda: 1, broken, lambda: 3]):
            got.append(value)
    assert got == [1]


def test_a_consumer_that_stops_early_leaves_no_thread_behind():
    done = []
    results = in_background([lambda i=i: done.append(i) or i for i in range(100)], depth=2)
    assert next(results) == 0
    results.close()
    assert "arner-prefetch" not in {t.name for t in threading.enumerate()}
    assert len(done) <= 4  # at most depth ahead (+1 being put), never all 100
