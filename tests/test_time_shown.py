"""Times as the center's people read them: the mission's zone, with UTC beside it."""

from __future__ import annotations

from datetime import UTC, datetime

from ceasefire.timeutil import shown, shown_in, shown_text


def test_local_time_with_utc_beside() -> None:
    at = datetime(2021, 2, 1, 6, 10, tzinfo=UTC)
    assert shown(at, "Asia/Baku") == "2021-02-01 10:10 Asia/Baku (06:10 UTC)"


def test_the_utc_date_is_given_when_it_differs() -> None:
    at = datetime(2021, 2, 1, 22, 30, tzinfo=UTC)
    assert shown(at, "Asia/Baku") == "2021-02-02 02:30 Asia/Baku (2021-02-01 22:30 UTC)"


def test_stored_text() -> None:
    assert shown_text("2020-11-15T10:30:00Z", "UTC") == "2020-11-15 10:30 UTC (10:30 UTC)"
    assert shown_text(None, "Asia/Baku") == ""


def test_to_the_second() -> None:
    at = datetime(2021, 2, 1, 6, 10, 5, tzinfo=UTC)
    assert shown(at, "Asia/Baku", seconds=True) == "2021-02-01 10:10:05 Asia/Baku (06:10:05 UTC)"
    late = datetime(2021, 2, 1, 22, 30, 5, tzinfo=UTC)
    assert shown(late, "Asia/Baku", seconds=True) == (
        "2021-02-02 02:30:05 Asia/Baku (2021-02-01 22:30:05 UTC)"
    )


def test_as_each_language_writes_it() -> None:
    at = datetime(2021, 2, 1, 6, 10, 5, tzinfo=UTC)
    assert (
        shown_in(at, "Asia/Baku", "en") == "Feb 1, 2021, 10:10:05\u202fAM (Asia/Baku) · 06:10 UTC"
    )
    assert shown_in(at, "Asia/Baku", "ru", "medium", "=") == (
        "1 февр. 2021\u202fг., 10:10:05 (Asia/Baku) = 1 февр. 2021\u202fг., 06:10:05 UTC"
    )
