"""SRT subtitles: read as UTF-8 or GB18030, checked cue by cue, stored as canonical UTF-8."""

from __future__ import annotations

import pytest

from services.media.domain.subtitles import (
    LANGUAGES,
    Cue,
    SubtitleProblem,
    TraditionalLine,
    decode_text,
    describe_traditional,
    parse_srt,
    traditional_lines,
)

TWO_CUES = "1\n00:00:01,000 --> 00:00:03,500\n同学们好\n\n2\n00:00:04,000 --> 00:00:06,250\n今天讲第一章\n"


def reasons(problems: list[SubtitleProblem]) -> list[str]:
    return [p.reason for p in problems]


def test_a_well_formed_file_parses_into_cues_in_seconds() -> None:
    cues, problems, _ = parse_srt(TWO_CUES.encode())
    assert problems == []
    assert cues == [Cue(1, 1.0, 3.5, "同学们好"), Cue(2, 4.0, 6.25, "今天讲第一章")]


def test_the_stored_text_is_canonical_srt() -> None:
    _, _, text = parse_srt(TWO_CUES.encode())
    assert text == TWO_CUES + "\n"


def test_gb18030_subtitles_are_read_and_stored_as_utf8() -> None:
    cues, problems, text = parse_srt(TWO_CUES.encode("gb18030"))
    assert problems == []
    assert cues[0].text == "同学们好"
    assert text == TWO_CUES + "\n"  # a str, written out as UTF-8 by whoever stores it


def test_a_utf8_bom_is_dropped() -> None:
    cues, problems, text = parse_srt(b"\xef\xbb\xbf" + TWO_CUES.encode())
    assert problems == []
    assert cues[0].index == 1
    assert not text.startswith("\ufeff")


def test_crlf_line_endings_are_read_and_stored_as_lf() -> None:
    cues, problems, text = parse_srt(TWO_CUES.replace("\n", "\r\n").encode())
    assert problems == []
    assert len(cues) == 2
    assert "\r" not in text


def test_trailing_blank_lines_are_ignored() -> None:
    cues, problems, _ = parse_srt((TWO_CUES + "\n\n\n   \n").encode())
    assert problems == [] and len(cues) == 2


def test_a_cue_keeps_its_lines_of_text() -> None:
    cues, problems, text = parse_srt(b"1\n00:00:01,000 --> 00:00:02,000\nfirst line\nsecond line\n")
    assert problems == []
    assert cues[0].text == "first line\nsecond line"
    assert "first line\nsecond line\n" in text


def test_a_dot_before_the_milliseconds_is_tolerated_and_stored_as_a_comma() -> None:
    cues, problems, text = parse_srt(b"1\n00:00:01.200 --> 00:00:02.000\nhi\n")
    assert problems == []
    assert cues[0].start == 1.2
    assert "00:00:01,200 --> 00:00:02,000" in text


def test_cues_are_renumbered_in_the_stored_text() -> None:
    cues, problems, text = parse_srt(b"7\n00:00:01,000 --> 00:00:02,000\na\n\n9\n00:00:03,000 --> 00:00:04,000\nb\n")
    assert problems == []
    assert [c.index for c in cues] == [7, 9]
    assert text.startswith("1\n") and "\n2\n00:00:03,000" in text


def test_hours_are_read() -> None:
    cues, _, _ = parse_srt(b"1\n01:02:03,004 --> 01:02:04,000\nhi\n")
    assert cues[0].start == 3723.004


def test_a_block_without_a_cue_number_is_reported_with_its_line() -> None:
    data = TWO_CUES + "\n00:00:07,000 --> 00:00:08,000\nno number\n"
    cues, problems, _ = parse_srt(data.encode())
    assert len(cues) == 2
    assert [p.line for p in problems] == [9]
    assert "cue number" in problems[0].reason


def test_a_malformed_timing_line_is_reported_with_its_line() -> None:
    data = "1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:03 --> 00:00:04\nbad\n"
    cues, problems, _ = parse_srt(data.encode())
    assert [c.index for c in cues] == [1]
    assert [p.line for p in problems] == [6]
    assert "HH:MM:SS,mmm --> HH:MM:SS,mmm" in problems[0].reason


def test_a_cue_number_with_nothing_after_it_is_reported() -> None:
    _, problems, _ = parse_srt((TWO_CUES + "\n3\n").encode())
    assert [p.line for p in problems] == [9]
    assert "no timing line" in problems[0].reason


def test_seconds_of_sixty_or_more_are_malformed() -> None:
    _, problems, _ = parse_srt(b"1\n00:00:61,000 --> 00:01:02,000\nhi\n")
    assert (problems[0].line, problems[0].reason) == (2, "cue 1: minutes and seconds must be below 60")
    assert reasons(problems)[1:] == ["no cues found"]


def test_a_cue_ending_before_it_starts_is_reported_with_its_line() -> None:
    _, problems, _ = parse_srt(b"1\n00:00:05,000 --> 00:00:04,000\nhi\n")
    assert [p.line for p in problems] == [2]
    assert "ends at or before its start" in problems[0].reason


def test_a_cue_of_no_length_is_reported() -> None:
    _, problems, _ = parse_srt(b"1\n00:00:05,000 --> 00:00:05,000\nhi\n")
    assert "ends at or before its start" in reasons(problems)[0]


def test_overlapping_cues_are_reported_with_their_line() -> None:
    data = "1\n00:00:01,000 --> 00:00:04,000\na\n\n2\n00:00:03,000 --> 00:00:05,000\nb\n"
    _, problems, _ = parse_srt(data.encode())
    assert [p.line for p in problems] == [6]
    assert "overlaps" in problems[0].reason


def test_a_cue_starting_where_the_previous_ends_does_not_overlap() -> None:
    data = "1\n00:00:01,000 --> 00:00:04,000\na\n\n2\n00:00:04,000 --> 00:00:05,000\nb\n"
    assert parse_srt(data.encode())[1] == []


def test_cues_out_of_order_are_reported_with_their_line() -> None:
    data = "1\n00:00:05,000 --> 00:00:06,000\na\n\n2\n00:00:01,000 --> 00:00:02,000\nb\n"
    _, problems, _ = parse_srt(data.encode())
    assert [p.line for p in problems] == [6]
    assert "not in order" in problems[0].reason


def test_a_cue_ending_after_the_video_is_reported() -> None:
    _, problems, _ = parse_srt(TWO_CUES.encode(), video_duration=5.0)
    assert [p.line for p in problems] == [6]
    assert "after the video" in problems[0].reason


def test_a_cue_ending_within_half_a_second_of_the_video_end_is_allowed() -> None:
    assert parse_srt(TWO_CUES.encode(), video_duration=5.8)[1] == []


def test_without_a_video_duration_the_end_is_not_checked() -> None:
    assert parse_srt(TWO_CUES.encode(), video_duration=None)[1] == []


def test_an_empty_file_is_reported() -> None:
    cues, problems, text = parse_srt(b"")
    assert cues == [] and text == ""
    assert reasons(problems) == ["the file is empty"]


def test_a_file_of_blank_lines_is_empty() -> None:
    assert reasons(parse_srt(b"\xef\xbb\xbf\r\n\r\n")[1]) == ["the file is empty"]


def test_a_file_without_any_cue_is_reported() -> None:
    _, problems, _ = parse_srt("这不是字幕\n".encode())
    assert "no cues found" in reasons(problems)


def test_a_blank_line_inside_cue_text_ends_the_cue_and_the_rest_is_reported() -> None:
    data = "1\n00:00:01,000 --> 00:00:02,000\nline one\n\nline two\n"
    cues, problems, _ = parse_srt(data.encode())
    assert cues[0].text == "line one"
    assert [p.line for p in problems] == [5]


def test_utf8_text_is_decoded_and_its_bom_dropped() -> None:
    assert decode_text("\ufeff字幕".encode()) == "字幕"


def test_gb18030_text_is_decoded() -> None:
    assert decode_text("中文字幕".encode("gb18030")) == "中文字幕"


def test_text_in_another_encoding_is_refused() -> None:
    with pytest.raises(ValueError, match="neither UTF-8 nor GB18030"):
        decode_text("字幕".encode("utf-16"))
    with pytest.raises(ValueError, match="neither UTF-8 nor GB18030"):
        parse_srt(b"\xff\xfe\x00\x00")


def test_chinese_and_english_are_separate_subtitle_languages() -> None:
    assert LANGUAGES == {"zh": "中文", "en": "English"}


# ---- simplified characters only (seed 002: 不出现繁体字) ----------------------------------------------------

TRADITIONAL = "1\n00:00:00,000 --> 00:00:02,000\n同学们好\n\n2\n00:00:02,500 --> 00:00:04,000\n這裡講第一章\n"


def test_traditional_characters_are_found_with_their_line_and_simplified_form() -> None:
    found = traditional_lines(TRADITIONAL.encode())
    assert found == [TraditionalLine(7, (("這", "这"), ("裡", "里"), ("講", "讲")))]
    assert describe_traditional(found) == "line 7: 這→这, 裡→里, 講→讲"


def test_simplified_text_has_no_traditional_characters() -> None:
    # characters that look traditional-adjacent but are standard simplified ones stay unflagged
    text = "1\n00:00:00,000 --> 00:00:02,000\n数据结构 乾坤 头发 皇后 只有 干净 面条 里面\n"
    assert traditional_lines(text.encode()) == []
    assert traditional_lines(text.encode("gb18030")) == []


def test_traditional_lines_in_gb18030_are_found_too() -> None:
    assert [found.line for found in traditional_lines(TRADITIONAL.encode("gb18030"))] == [7]


def test_a_repeated_character_is_named_once_per_line() -> None:
    found = traditional_lines("這個這個".encode())
    assert found[0].characters == (("這", "这"), ("個", "个"))


def test_many_lines_are_summarised_after_the_first_ten() -> None:
    text = "\n".join("後" for _ in range(12))
    summary = describe_traditional(traditional_lines(text.encode()))
    assert summary.startswith("line 1: 後→后; line 2: 後→后") and summary.endswith("; and 2 more line(s)")
