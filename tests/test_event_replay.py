"""Pure logic of following a job's events across attempts (no Redis needed)."""

from __future__ import annotations

from typing import Any

from litellm_claude.jobs.contract import DeltaEvent, ErrorEvent, ResultEvent, StartedEvent
from litellm_claude.jobs.follow import JobEvents


def admit_all(events: list[Any]) -> list[Any]:
    follower = JobEvents(client=None, job_id="job_x", deadline=0.0)  # type: ignore[arg-type]  # never read
    return [out for e in events if (out := follower._admit(e)) is not None]


def test_a_retried_attempt_does_not_repeat_streamed_text() -> None:
    out = admit_all(
        [
            StartedEvent(attempt=1, model="sonnet"),
            DeltaEvent(attempt=1, text="You "),
            DeltaEvent(attempt=1, text="said: "),
            StartedEvent(attempt=2, model="sonnet"),
            DeltaEvent(attempt=2, text="You "),
            DeltaEvent(attempt=2, text="sa"),
            DeltaEvent(attempt=2, text="id: hi"),
            ResultEvent(attempt=2, text="You said: hi", model="sonnet"),
        ]
    )
    text = "".join(e.text for e in out if isinstance(e, DeltaEvent))
    assert text == "You said: hi"
    assert isinstance(out[-1], ResultEvent)


def test_late_events_of_a_dead_attempt_are_dropped() -> None:
    out = admit_all(
        [
            StartedEvent(attempt=2, model="sonnet"),
            DeltaEvent(attempt=1, text="stale"),
            DeltaEvent(attempt=2, text="fresh"),
        ]
    )
    assert [e.text for e in out if isinstance(e, DeltaEvent)] == ["fresh"]


def test_a_retried_attempt_that_diverges_is_an_error() -> None:
    out = admit_all(
        [
            DeltaEvent(attempt=1, text="abc"),
            StartedEvent(attempt=2, model="sonnet"),
            DeltaEvent(attempt=2, text="xyz"),
        ]
    )
    assert isinstance(out[-1], ErrorEvent)
    assert out[-1].error.code == "stream_interrupted"
