"""The trial deadline for preparation that cannot stop itself (search/clock.py)."""

from __future__ import annotations

import time

import pytest

from mlvsdl.search.clock import OutOfTime, check_deadline, deadline


def test_check_deadline_raises_only_inside_a_passed_deadline():
    check_deadline("nothing")  # no deadline set: never raises
    with deadline(None):
        check_deadline("nothing")
    with deadline(10.0):
        check_deadline("early")
    with deadline(0.0):
        time.sleep(0.01)
        with pytest.raises(OutOfTime, match="while encoding"):
            check_deadline("encoding")
    check_deadline("after the block")  # the deadline ends with its block


def test_embedding_stops_at_the_trial_deadline(monkeypatch):
    from mlvsdl.families.text import pretrained

    monkeypatch.setattr(pretrained, "_cache", type(pretrained._cache)())
    with deadline(0.0):
        time.sleep(0.01)
        with pytest.raises(OutOfTime, match="encoding texts with MiniLM"):
            pretrained.embed_texts(["never encoded", "nor this"])
