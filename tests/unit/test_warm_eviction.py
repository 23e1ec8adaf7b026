"""Which warm process is closed when the idle budget is full (worker/warm_pool.eviction_victim)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import count

from litellm_claude.worker.warm_pool import eviction_victim

_ids = count()


@dataclass(eq=False)
class Proc:
    key: str
    n: int = field(default_factory=lambda: next(_ids))


def test_closes_from_the_configuration_with_most_processes_not_the_oldest() -> None:
    a, b1, b2 = Proc("a"), Proc("b"), Proc("b")
    assert eviction_victim([a, b1, b2], Counter(a=1, b=2)) is b1


def test_busy_processes_count_towards_a_configuration() -> None:
    a, b = Proc("a"), Proc("b")
    assert eviction_victim([a, b], Counter(a=3, b=1)) is a  # a's two busy ones come back idle


def test_least_recently_used_first_within_a_configuration() -> None:
    old, new = Proc("a"), Proc("a")
    assert eviction_victim([old, new], Counter(a=2)) is old


def test_a_released_process_goes_first_within_its_configuration() -> None:
    idle, released = Proc("a"), Proc("a")
    assert eviction_victim([idle], Counter(a=2), released) is released


def test_a_released_process_stays_when_another_configuration_has_more() -> None:
    b1, b2, released = Proc("b"), Proc("b"), Proc("a")
    assert eviction_victim([b1, b2], Counter(a=1, b=2), released) is b1


def test_one_process_per_configuration_survives_a_burst() -> None:
    """Eight configurations, a budget of eight idle: a burst of one leaves the others warm."""
    idle = [Proc(str(k)) for k in range(8)]
    burst = [Proc("0") for _ in range(4)]
    processes = Counter(p.key for p in idle + burst)
    for released in burst:  # each comes back while the budget is full
        victim = eviction_victim(idle, processes, released)
        processes[victim.key] -= 1
        if victim is not released:
            idle.remove(victim)
            idle.append(released)
    assert sorted(p.key for p in idle) == [str(k) for k in range(8)]


def test_between_configurations_with_as_many_the_least_recently_used_loses() -> None:
    a, released = Proc("a"), Proc("b")
    assert eviction_victim([a], Counter(a=1, b=1), released) is a
