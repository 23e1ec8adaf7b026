"""What a worker writes on a job's event stream: each delta of a followed job, few for one nobody follows."""

from __future__ import annotations

import fakeredis

from litellm_claude.config.settings import Settings
from litellm_claude.jobs import event_stream, keys
from litellm_claude.jobs.contract import CompletionJob, DeltaEvent, JobMessage, ResultEvent, StartedEvent
from litellm_claude.worker.job import JobPublisher


def job(*, followed: bool) -> CompletionJob:
    return CompletionJob(
        model="sonnet",
        alias="sonnet",
        cli_model="sonnet",
        messages=[JobMessage(role="user", content="hi")],
        followed=followed,
    )


async def written(followed: bool) -> list[object]:
    redis = fakeredis.FakeAsyncRedis()
    the_job = job(followed=followed)
    publisher = JobPublisher(redis, the_job, 2, Settings(_env_file=None))  # type: ignore[call-arg]
    await publisher.publish(StartedEvent(model="sonnet"))
    await publisher.text("You ", "claude-sonnet-x")
    await publisher.text("said", "claude-sonnet-x")
    await publisher.text(": hi", "claude-sonnet-x")
    await publisher.publish(ResultEvent(text="You said: hi", model="claude-sonnet-x"))
    events = [e for _id, e in await event_stream.read(redis, the_job.id, "0", block_ms=1)]
    assert await redis.ttl(keys.events(the_job.id)) > 0
    assert {e.attempt for e in events} == {2}
    assert publisher.first_text_at is not None
    return events


async def test_a_followed_job_publishes_each_delta_as_it_comes() -> None:
    events = await written(followed=True)
    deltas = [e for e in events if isinstance(e, DeltaEvent)]
    assert [d.text for d in deltas] == ["You ", "said", ": hi"]
    assert [d.model for d in deltas] == ["claude-sonnet-x", None, None]
    assert isinstance(events[0], StartedEvent) and isinstance(events[-1], ResultEvent)


async def test_an_unfollowed_job_publishes_its_first_delta_then_the_rest_with_the_result() -> None:
    events = await written(followed=False)
    assert isinstance(events[0], StartedEvent) and isinstance(events[-1], ResultEvent)
    deltas = [e for e in events if isinstance(e, DeltaEvent)]
    assert [d.text for d in deltas] == ["You ", "said: hi"]  # the first at once: time to first token
    assert deltas[0].model == "claude-sonnet-x"
