"""The school report's minutes watched when the learning service does not answer: the report still answers, the
column empty and a note saying why (not an error)."""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from servicekit.errors import Unavailable
from services.course.adapters.learning import MAX_RUNS_PER_CALL, LearningPeer
from services.course.service_layer.statistics import StatisticsHandlers


class Peer:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.asked: list[list[str]] = []

    async def watched_minutes(self, run_ids: Sequence[str]) -> dict[str, float]:
        self.asked.append(list(run_ids))
        if self.fail:
            raise Unavailable("no answer", reason="MINUTES_WATCHED_UNAVAILABLE")
        return {run_ids[0]: 1.5}


async def test_the_minutes_come_from_the_learning_service_or_a_note_says_they_are_unavailable() -> None:
    peer = Peer()
    assert await StatisticsHandlers(None, learning=peer)._minutes_watched(["r1", "r2"]) == ({"r1": 1.5}, "")  # type: ignore[arg-type]
    assert await StatisticsHandlers(None, learning=peer)._minutes_watched([]) == ({}, "")  # type: ignore[arg-type]
    assert peer.asked == [["r1", "r2"]]  # no runs, no call
    minutes, note = await StatisticsHandlers(None, learning=Peer(fail=True))._minutes_watched(["r1"])  # type: ignore[arg-type]
    assert minutes == {} and "unavailable" in note
    minutes, note = await StatisticsHandlers(None)._minutes_watched(["r1"])  # type: ignore[arg-type]
    assert minutes == {} and "unavailable" in note


async def test_a_learning_service_that_does_not_answer_is_unavailable_not_an_error() -> None:
    async with grpc.aio.insecure_channel("127.0.0.1:1") as channel:  # nobody listens there
        peer = LearningPeer(channel, "k" * 64)
        try:
            await peer.watched_minutes(["r1"])
        except Unavailable as error:
            assert error.reason == "MINUTES_WATCHED_UNAVAILABLE"
        else:
            raise AssertionError("expected Unavailable")
        assert await peer.watched_minutes([]) == {}
    assert MAX_RUNS_PER_CALL == 1000
