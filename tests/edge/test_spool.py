"""The spool: durable FIFO with attachments, idempotent put, survives reopening."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.spool import Spool, SpoolFullError, make_attachment
from tests.support.events import entry


def test_fifo_ack_and_reopen(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.sqlite")
    events = [entry(n=i) for i in range(5)]
    for event in events:
        assert spool.put(event)
    assert not spool.put(events[0]), "the same event id is queued once"
    first = spool.peek(2)
    assert [s.event_id for s in first] == [str(e.event_id) for e in events[:2]]
    spool.ack(s.seq for s in first)
    spool.close()
    reopened = Spool(tmp_path / "s.sqlite")
    assert reopened.depth() == 3
    assert [s.event_id for s in reopened.peek(10)] == [str(e.event_id) for e in events[2:]]


def test_attachment_bytes_travel_with_event(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.sqlite")
    data = b"\xff\xd8 fake jpeg bytes"
    attachment = make_attachment(data, "image/jpeg", "snapshot")
    spool.put(entry(attachments=[attachment]), {attachment.sha256: data})
    (item,) = spool.peek(1)
    assert item.attachments == (attachment.sha256,)
    assert spool.media(attachment.sha256) == ("image/jpeg", data, False)
    spool.mark_uploaded(attachment.sha256)
    spool.ack([item.seq])
    with pytest.raises(KeyError):
        spool.media(attachment.sha256)


@pytest.mark.parametrize("media", [{}, {"0" * 64: b"x"}], ids=["missing", "wrong-bytes"])
def test_attachment_without_its_bytes_is_refused(tmp_path: Path, media: dict[str, bytes]) -> None:
    spool = Spool(tmp_path / "s.sqlite")
    attachment = make_attachment(b"real bytes", "image/jpeg", "snapshot")
    wrong = {attachment.sha256: b"other bytes"} if media else {}
    with pytest.raises(ValueError, match="bytes missing or wrong"):
        spool.put(entry(attachments=[attachment]), wrong)
    assert spool.depth() == 0


def test_full_spool_refuses_loudly(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.sqlite", max_events=100)
    for i in range(100):
        spool.put(entry(n=i))
    with pytest.raises(SpoolFullError):
        spool.put(entry(n=100))


def test_rejected_event_is_kept_with_reason(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.sqlite")
    spool.put(entry())
    (item,) = spool.peek(1)
    spool.reject(item.seq, "422: bad field")
    assert spool.depth() == 0 and spool.rejected_count() == 1
