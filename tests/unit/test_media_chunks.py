"""The rule that bounds the stall check's re-queues of a chunked transcode's steps."""

from services.media.domain.rules import chunk_step_given_up


def test_a_step_whose_workers_stopped_on_every_delivery_is_queued_again_then_given_up() -> None:
    # Five deliveries per job, queued again twice: three jobs' worth of stopped workers.
    assert not chunk_step_given_up(5, max_deliver=5, requeues=2)   # its first job's deliveries spent
    assert not chunk_step_given_up(14, max_deliver=5, requeues=2)
    assert chunk_step_given_up(15, max_deliver=5, requeues=2)


def test_a_step_never_started_is_never_given_up() -> None:
    assert not chunk_step_given_up(0, max_deliver=1, requeues=0)
