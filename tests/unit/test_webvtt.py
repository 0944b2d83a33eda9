"""Subtitles for browsers: the stored SRT as WebVTT."""

from __future__ import annotations

from services.media.domain.subtitles import Cue, format_time, srt_to_webvtt, to_webvtt


def test_a_simple_file_gets_the_header_and_dots_before_milliseconds() -> None:
    srt = "1\n00:00:01,000 --> 00:00:03,500\n同学们好\n\n2\n00:00:04,000 --> 00:00:06,250\n今天讲第一章\n"
    assert srt_to_webvtt(srt.encode()) == (
        "WEBVTT\n\n"
        "1\n00:00:01.000 --> 00:00:03.500\n同学们好\n\n"
        "2\n00:00:04.000 --> 00:00:06.250\n今天讲第一章\n\n"
    )


def test_crlf_a_bom_and_multi_line_cues() -> None:
    srt = ("\ufeff1\r\n00:00:00,000 --> 00:00:02,000\r\nfirst line\r\nsecond line\r\n\r\n"
           "2\r\n00:00:02,500 --> 00:00:04,000\r\nthird\r\n")
    vtt = srt_to_webvtt(srt.encode("utf-8"))
    assert vtt.startswith("WEBVTT\n\n1\n")  # the BOM is gone: WEBVTT is the very first thing
    assert "\r" not in vtt and "\ufeff" not in vtt
    assert "00:00:00.000 --> 00:00:02.000\nfirst line\nsecond line\n\n2\n" in vtt
    # a BOM written as bytes, and a file with old Mac line ends
    assert srt_to_webvtt(b"\xef\xbb\xbf" + srt.lstrip("\ufeff").encode()) == vtt
    assert srt_to_webvtt(srt.lstrip("\ufeff").replace("\r\n", "\r").encode()) == vtt


def test_gb18030_is_decoded_before_converting() -> None:
    srt = "1\n00:00:00,000 --> 00:00:02,000\n今天讲第一章\n"
    assert "今天讲第一章" in srt_to_webvtt(srt.encode("gb18030"))


def test_hours_past_nine_and_past_ninety_nine() -> None:
    srt = ("1\n09:59:59,999 --> 10:00:01,000\nA\n\n2\n12:34:56,789 --> 12:35:00,000\nB\n\n"
           "3\n100:00:00,000 --> 100:00:01,500\nC\n")
    vtt = srt_to_webvtt(srt.encode())
    assert "09:59:59.999 --> 10:00:01.000" in vtt and "12:34:56.789 --> 12:35:00.000" in vtt
    assert "100:00:00.000 --> 100:00:01.500" in vtt
    assert format_time(36_000.5, ".") == "10:00:00.500" and format_time(36_000.5) == "10:00:00,500"


def test_position_hints_and_dot_timings_in_the_srt_become_plain_webvtt_timings() -> None:
    srt = "7\n00:00:01.000 --> 00:00:02,000 X1:40 X2:600 Y1:20 Y2:50\nhint\n"
    assert srt_to_webvtt(srt.encode()) == "WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.000\nhint\n\n"


def test_cue_text_cannot_break_the_cue() -> None:
    cues = [Cue(1, 0.0, 1.0, "a --> b"), Cue(2, 1.0, 2.0, "<i>it</i> & <font color=\"#ff0000\">red</font> 1<2"),
            Cue(3, 2.0, 3.0, "&amp; stays &lt;escaped&gt; &#169;")]
    vtt = to_webvtt(cues)
    assert "a --&gt; b" in vtt and vtt.count("-->") == 3  # only the timing lines
    assert "<i>it</i> &amp; red 1&lt;2" in vtt
    assert "&amp; stays &lt;escaped&gt; &#169;" in vtt


def test_no_cues_is_still_a_webvtt_file() -> None:
    assert to_webvtt([]) == "WEBVTT\n\n"
