"""`worker.stop_sequences.StopScanner`: cut at the first stop, holding back only what might start one."""

from __future__ import annotations

from litellm_claude.worker.stop_sequences import StopScanner


def feed_all(stops: list[str], deltas: list[str]) -> tuple[str, bool]:
    scanner = StopScanner(stops)
    out = "".join(scanner.feed(d) for d in deltas) + scanner.flush()
    return out, scanner.stopped


def test_no_stops_passes_text_through_at_once() -> None:
    scanner = StopScanner([])
    assert scanner.feed("abc") == "abc" and scanner.flush() == ""


def test_a_stop_split_across_deltas_is_found_and_nothing_after_it_is_emitted() -> None:
    assert feed_all(["END"], ["hello E", "N", "D and more"]) == ("hello ", True)
    assert feed_all(["\n\n", "STOP"], ["a\n", "\nb"]) == ("a", True)


def test_a_partial_match_is_held_back_then_released_when_it_is_not_a_stop() -> None:
    scanner = StopScanner(["END"])
    assert scanner.feed("abcE") == "abc"
    assert scanner.feed("x") == "Ex"
    assert scanner.flush() == ""


def test_the_earliest_stop_wins_and_empty_stops_are_ignored() -> None:
    assert feed_all(["b", "a", ""], ["xxab"]) == ("xx", True)
    assert feed_all([""], ["all of it"]) == ("all of it", False)
