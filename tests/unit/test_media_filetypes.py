"""Uploads are typed by their content, not their name, and anything not on the list is refused."""

from __future__ import annotations

import random

from services.media.domain.filetypes import ALLOWED_VIDEO_FORMATS, FFMPEG_DEMUXER, detect


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\x00\x00\x02\x00" + b"".join(compatible)
    return (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body + b"\x00\x00\x00\x08free"


def kind(head: bytes, filename: str = "") -> tuple[str, str] | None:
    found = detect(head, filename)
    return (found.category, found.format) if found else None


SRT_TEXT = "1\n00:00:01,000 --> 00:00:03,500\n同学们好\n\n2\n00:00:04,000 --> 00:00:06,000\nHello\n"


# Video sources


def test_an_isom_mp4_is_an_mp4_video() -> None:
    found = detect(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 64, "lecture.mp4")
    assert found is not None
    assert (found.category, found.format, found.mime) == ("video", "mp4", "video/mp4")


def test_common_mp4_brands_are_mp4() -> None:
    for brand in (b"mp41", b"mp42", b"iso5", b"avc1", b"M4V ", b"dash", b"3gp4", b"3gp5", b"3g2a"):
        assert kind(ftyp(brand, b"isom")) == ("video", "mp4"), brand


def test_an_unknown_major_brand_that_is_compatible_with_isom_is_mp4() -> None:
    assert kind(ftyp(b"XYZW", b"isom", b"mp42")) == ("video", "mp4")


def test_an_ftyp_with_an_unknown_brand_and_nothing_compatible_is_refused() -> None:
    assert detect(ftyp(b"XYZW", b"XYZW")) is None


def test_a_quicktime_brand_is_mov() -> None:
    assert kind(ftyp(b"qt  ", b"qt  "), "clip.mp4") == ("video", "mov")


def test_a_quicktime_file_starting_with_its_movie_atom_is_mov() -> None:
    head = b"\x00\x00\x10\x00moov\x00\x00\x00\x6cmvhd" + b"\x00" * 200
    assert kind(head) == ("video", "mov")


def test_a_quicktime_file_starting_with_a_wide_atom_then_media_data_is_mov() -> None:
    assert kind(b"\x00\x00\x00\x08wide\x00\x10\x00\x00mdat" + b"\x00" * 64) == ("video", "mov")


def test_a_quicktime_file_starting_with_media_data_to_the_end_is_mov() -> None:
    assert kind(b"\x00\x00\x00\x00mdat" + bytes(range(256))) == ("video", "mov")


def test_a_movie_atom_without_a_movie_header_is_refused() -> None:
    assert detect(b"\x00\x00\x10\x00moovJUNKJUNK" + b"\x00" * 64) is None


def test_a_free_atom_followed_by_garbage_is_refused() -> None:
    assert detect(b"\x00\x00\x00\x08freeGARBAGE-AFTER-IT" + b"\x00" * 16) is None


def test_an_flv_is_an_flv_video() -> None:
    assert kind(b"FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00") == ("video", "flv")


def test_an_asf_header_is_a_wmv_video() -> None:
    head = bytes.fromhex("3026B2758E66CF11A6D900AA0062CE6C") + b"\x00" * 64
    assert kind(head, "lesson.wmv") == ("video", "wmv")


def test_a_matroska_file_is_an_mkv_video() -> None:
    head = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska" + b"\x00" * 32
    found = detect(head)
    assert found is not None and (found.category, found.format, found.mime) == ("video", "mkv", "video/x-matroska")


def test_a_webm_file_is_accepted_as_an_mkv_video_source() -> None:
    head = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm" + b"\x00" * 32
    found = detect(head)
    assert found is not None and (found.category, found.format, found.mime) == ("video", "mkv", "video/webm")


def test_every_allowed_video_format_has_a_forced_demuxer() -> None:
    assert set(FFMPEG_DEMUXER) == set(ALLOWED_VIDEO_FORMATS)
    assert FFMPEG_DEMUXER["wmv"] == "asf"
    assert FFMPEG_DEMUXER["mkv"] == "matroska"
    assert FFMPEG_DEMUXER["mp4"] == FFMPEG_DEMUXER["mov"] == "mov"


# Not videos, whatever the name says


def test_a_hls_playlist_named_mp4_is_refused() -> None:
    head = b"#EXTM3U\n#EXT-X-VERSION:3\n#EXTINF:10.0,\nhttp://169.254.169.254/latest/meta-data\n"
    assert detect(head, "lecture.mp4") is None


def test_an_ffmpeg_concat_list_named_mp4_is_refused() -> None:
    assert detect(b"ffconcat version 1.0\nfile '/etc/passwd'\n", "lecture.mp4") is None
    assert detect(b"file 'part1.mp4'\nfile 'part2.mp4'\n", "lecture.mp4") is None


def test_a_text_file_named_mp4_is_refused() -> None:
    assert detect("这不是视频 this is not a video\n".encode(), "lecture.mp4") is None


def test_an_empty_file_is_refused() -> None:
    assert detect(b"", "lecture.mp4") is None


def test_random_bytes_are_refused() -> None:
    noise = random.Random(7).randbytes(8192)
    assert noise[:2] != b"\xff\xd8"  # not by chance a JPEG start
    assert detect(noise, "lecture.mp4") is None


def test_an_executable_is_refused() -> None:
    assert detect(b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56, "lecture.mp4") is None


def test_a_zip_that_is_not_an_office_document_is_refused() -> None:
    entry = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 16 + b"\x0a\x00\x00\x00" + b"notes/a.md"
    assert detect(entry + b"\x00" * 32, "slides.pptx") is None


def test_a_zip_whose_entries_merely_contain_word_in_a_longer_name_is_refused() -> None:
    entry = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 16 + b"\x0e\x00\x00\x00" + b"password/a.txt"
    assert detect(entry + b"\x00" * 32, "a.docx") is None


def test_an_m4a_is_audio_not_video() -> None:
    found = detect(ftyp(b"M4A ", b"M4A ", b"mp42", b"isom"), "talk.mp4")
    assert found is not None and (found.category, found.format, found.mime) == ("audio", "m4a", "audio/mp4")


def test_a_heif_image_is_not_taken_for_a_video() -> None:
    assert detect(ftyp(b"heic", b"mif1", b"heic"), "photo.mp4") is None
    assert detect(ftyp(b"avif", b"avif", b"mif1", b"miaf", b"iso8"), "photo.mp4") is None


# Subtitles


def test_utf8_srt_is_a_subtitle() -> None:
    found = detect(SRT_TEXT.encode(), "zh.srt")
    assert found is not None
    assert (found.category, found.format, found.mime) == ("subtitle", "srt", "application/x-subrip")


def test_srt_with_a_bom_and_crlf_is_a_subtitle() -> None:
    assert kind(b"\xef\xbb\xbf" + SRT_TEXT.replace("\n", "\r\n").encode()) == ("subtitle", "srt")


def test_gb18030_srt_is_a_subtitle() -> None:
    assert kind(SRT_TEXT.encode("gb18030"), "zh.srt") == ("subtitle", "srt")


def test_srt_cut_mid_character_at_the_end_of_the_head_is_still_a_subtitle() -> None:
    data = (SRT_TEXT * 200).encode()
    cut = next(n for n in range(8192, 8400) if data[n] & 0xC0 == 0x80)  # inside a multi-byte character
    assert kind(data[:cut], "zh.srt") == ("subtitle", "srt")


def test_text_with_a_timing_line_but_no_cue_number_first_is_not_srt() -> None:
    assert detect(b"hello\n00:00:01,000 --> 00:00:02,000\nhi\n", "a.srt") is None


def test_webvtt_is_not_accepted_as_srt() -> None:
    assert detect(b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nhi\n", "a.srt") is None


# Documents


def test_a_pdf_is_a_document() -> None:
    assert kind(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "syllabus.pdf") == ("document", "pdf")


def test_a_legacy_office_file_is_a_doc_or_ppt_by_its_extension() -> None:
    head = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    assert kind(head, "教案.DOC") == ("document", "doc")
    assert kind(head, "slides.ppt") == ("document", "ppt")


def test_a_legacy_office_file_with_another_extension_is_refused() -> None:
    head = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    assert detect(head, "sheet.xls") is None
    assert detect(head, "") is None


def zip_with(*names: bytes) -> bytes:
    out = b""
    for name in names:
        out += b"PK\x03\x04\x14\x00\x06\x00\x08\x00" + b"\x00" * 16 + len(name).to_bytes(2, "little") + b"\x00\x00"
        out += name + b"\x00" * 40
    return out


def test_a_zip_with_word_entries_is_a_docx() -> None:
    found = detect(zip_with(b"[Content_Types].xml", b"_rels/.rels", b"word/document.xml"), "plan.docx")
    assert found is not None
    assert (found.category, found.format) == ("document", "docx")
    assert found.mime.endswith("wordprocessingml.document")


def test_a_zip_with_ppt_entries_is_a_pptx() -> None:
    assert kind(zip_with(b"[Content_Types].xml", b"ppt/presentation.xml"), "deck.pptx") == ("document", "pptx")


def test_an_xlsx_is_refused() -> None:
    assert detect(zip_with(b"[Content_Types].xml", b"xl/workbook.xml"), "grades.xlsx") is None


def test_rtf_is_a_document() -> None:
    assert kind(b"{\\rtf1\\ansi\\deff0 hello}") == ("document", "rtf")


def test_html_is_a_document_whatever_the_case_and_leading_whitespace() -> None:
    assert kind(b"\xef\xbb\xbf\n  <!DOCTYPE html>\n<html><body>hi</body></html>") == ("document", "html")
    assert kind(b"<HTML><body>hi</body></HTML>") == ("document", "html")


def test_plain_text_is_a_document_only_when_named_txt() -> None:
    text = "课程简介\nAn introduction.\n".encode()
    assert kind(text, "readme.txt") == ("document", "txt")
    assert kind(text.decode().encode("gb18030"), "README.TXT") == ("document", "txt")
    assert detect(text, "readme.md") is None


def test_a_txt_file_with_nul_bytes_is_refused() -> None:
    assert detect(b"abc\x00def\n", "notes.txt") is None


# Images and audio


def test_images_are_recognized() -> None:
    assert kind(b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR") == ("image", "png")
    assert kind(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00") == ("image", "jpeg")
    assert kind(b"GIF89a\x01\x00\x01\x00") == ("image", "gif")
    assert kind(b"GIF87a\x01\x00\x01\x00") == ("image", "gif")
    assert kind(b"RIFF\x24\x00\x00\x00WEBPVP8 ") == ("image", "webp")


def test_mp3_is_recognized_by_its_id3_tag_or_frame_header() -> None:
    assert kind(b"ID3\x04\x00\x00\x00\x00\x00\x00") == ("audio", "mp3")
    assert kind(b"\xff\xfb\x90\x64\x00\x00\x00\x00") == ("audio", "mp3")
    assert kind(b"\xff\xf3\x64\xc4\x00\x00\x00\x00") == ("audio", "mp3")


def test_wav_is_recognized() -> None:
    assert kind(b"RIFF\x24\x08\x00\x00WAVEfmt ") == ("audio", "wav")


def test_adts_aac_is_recognized() -> None:
    assert kind(b"\xff\xf1\x50\x80\x02\x1f\xfc") == ("audio", "aac")
    assert kind(b"\xff\xf9\x50\x80\x02\x1f\xfc") == ("audio", "aac")


def test_a_riff_file_of_another_kind_is_refused() -> None:
    assert detect(b"RIFF\x24\x08\x00\x00AVI LIST") is None
