"""The signal measurements' arithmetic: per-second audio bit rates, the SNR estimate, intro and outro."""

from __future__ import annotations

import math

import pytest

from services.media.domain.signals import (
    EdgeScan,
    Span,
    bitrate_spread,
    intro_outro,
    per_second_kbps,
    snr_estimate,
)


def packets(seconds: int, bytes_per_second: list[int] | int, per_second: int = 50) -> list[tuple[float, int]]:
    rates = bytes_per_second if isinstance(bytes_per_second, list) else [bytes_per_second] * seconds
    return [(second + index / per_second, rates[second] // per_second)
            for second in range(seconds) for index in range(per_second)]


def test_audio_packets_add_up_to_kbps_per_whole_second_without_the_partial_first_and_last() -> None:
    kbps = per_second_kbps(packets(6, 16_000))  # 16,000 bytes a second = 128 kbps
    assert len(kbps) == 4 and all(abs(rate - 128) < 0.1 for rate in kbps)


def test_a_steady_rate_drifts_little_and_a_switching_rate_a_lot() -> None:
    steady = bitrate_spread([128.4, 128.7, 130.9, 127.2])
    assert steady is not None and steady.deviation < 0.03
    switching = bitrate_spread(per_second_kbps(packets(8, [8000] * 4 + [24000] * 4)))
    assert switching is not None and switching.low < 65 and switching.high > 190 and switching.deviation >= 0.5


def test_too_few_whole_seconds_are_not_judged() -> None:
    assert bitrate_spread([128.0]) is None
    assert per_second_kbps(packets(2, 16_000)) == ()


def test_snr_is_the_loud_windows_over_the_quiet_ones() -> None:
    # half the windows speech at -16 dBFS, half pauses with noise at -75 dBFS
    levels = [-16.0] * 50 + [-75.0] * 50
    assert snr_estimate(levels) == pytest.approx(59.0)
    assert snr_estimate([-16.0] * 50 + [-50.0] * 50) == pytest.approx(34.0)


def test_digital_silence_is_no_noise_and_too_little_sound_is_not_measured() -> None:
    assert snr_estimate([-20.0] * 30 + [-60.0] * 5 + [-math.inf] * 100) == pytest.approx(40.0)
    assert snr_estimate([-20.0] * 10 + [-math.inf] * 100) is None
    assert snr_estimate([]) is None


def test_a_black_opening_and_a_still_closing_are_the_intro_and_outro() -> None:
    edges = EdgeScan(window=12, head=(Span(0, 3), Span(5, 6)), tail=(Span(9, None),), tail_length=12)
    assert intro_outro(edges) == (3, 3)


def test_black_then_a_still_title_card_is_one_intro() -> None:
    edges = EdgeScan(window=12, head=(Span(0, 2), Span(2.04, 7.5)), tail=(), tail_length=12)
    assert intro_outro(edges) == (7.5, None)


def test_stretches_away_from_the_ends_are_neither_intro_nor_outro() -> None:
    edges = EdgeScan(window=12, head=(Span(1.5, 4),), tail=(Span(3, 8),), tail_length=12)
    assert intro_outro(edges) == (None, None)


def test_an_opening_still_at_the_cut_is_at_least_the_window() -> None:
    edges = EdgeScan(window=12, head=(Span(0, None),), tail=(), tail_length=12)
    assert intro_outro(edges) == (12, None)


def test_a_video_scanned_whole_and_still_throughout_counts_once() -> None:
    spans = (Span(0, None),)
    assert intro_outro(EdgeScan(window=6, head=spans, tail=spans, tail_length=6, whole=True)) == (6, None)
    spans = (Span(0, 3), Span(7, None))
    assert intro_outro(EdgeScan(window=9, head=spans, tail=spans, tail_length=9, whole=True)) == (3, 2)
