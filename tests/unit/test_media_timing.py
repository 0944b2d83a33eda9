"""A video's real length comes from its frames; broken timestamps and overlong sources are refused; what a
teacher reads and what a browser receives carries no worker paths and no broken headers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from servicekit.objects import BlobStore, content_disposition
from services.media.domain import timing
from services.media.domain.timing import FrameScan
from services.media.service_layer.processing import MediaProcessor, public_reason

TWENTY_MINUTES = 20 * 60


def test_a_video_within_the_maximum_with_steady_frames_is_processed() -> None:
    assert timing.refusal(600.0, FrameScan(15_000, 0.0, 599.96, 0.04), TWENTY_MINUTES, "浙江省") == ""


def test_the_frames_decide_the_length_not_the_declared_duration() -> None:
    scan = FrameScan(31_500, 0.0, 1_260.0, 0.04)
    assert timing.real_duration(5.0, scan) == 1_260.0
    assert "lasts 21 min" in timing.refusal(5.0, scan, TWENTY_MINUTES, "浙江省")
    # a container declaring 10 hours is refused too, whatever its frames say
    assert "lasts 600 min" in timing.refusal(36_000.0, FrameScan(100, 0.0, 4.0, 0.04), TWENTY_MINUTES, "浙江省")


def test_a_second_frame_stamped_five_minutes_in_is_refused_as_broken_timestamps() -> None:
    reason = timing.refusal(300.04, FrameScan(2, 0.0, 300.0, 300.0), TWENTY_MINUTES, "浙江省")
    assert "300 s apart" in reason and "timestamps" in reason


def test_too_few_frames_for_the_duration_are_refused_even_without_one_big_gap() -> None:
    reason = timing.refusal(100.0, FrameScan(20, 0.0, 100.0, 5.0), TWENTY_MINUTES, "浙江省")
    assert "only 20 frames over 100 s" in reason
    assert timing.refusal(0.0, FrameScan(0, 0.0, 0.0, 0.0), TWENTY_MINUTES, "x") == "the video stream has no frames"


def test_the_encode_never_writes_more_frames_than_the_real_duration_needs() -> None:
    assert timing.max_output_frames(10.0, 25.0) == 275
    assert timing.max_scanned_frames(TWENTY_MINUTES) == 144_120


def test_failure_reasons_keep_no_worker_paths() -> None:
    reason = ("not a readable MKV/WebM file: file:/tmp/media-scratch-50173/media-abc-x1y2/source.mkv: "
              "Invalid data found when processing input | /var/lib/worker/out/hls/720p/index.m3u8 lists no segments")
    shown = public_reason(reason)
    assert "/tmp" not in shown and "/var" not in shown and "media-abc" not in shown and "scratch" not in shown
    assert shown == ("not a readable MKV/WebM file: the upload: Invalid data found when processing input | "
                     "index.m3u8 lists no segments")
    assert public_reason("the picture is 8000×8000 pixels") == "the picture is 8000×8000 pixels"


def test_content_disposition_survives_quotes_and_chinese_names() -> None:
    shape = re.compile(r"""^inline; filename="[ !#-\[\]-~]*"; filename\*=UTF-8''([A-Za-z0-9!#$&+\-.^_`|~%]+)$""")
    for name in ('a"b.pdf', "讲义 第1章.pdf", 'x";filename="evil.exe', "50% off\r\n.pdf"):
        header = content_disposition(name)
        match = shape.match(header)  # one quoted ASCII fallback, one RFC 5987 value, nothing injected
        assert match, header
        assert unquote(match.group(1), encoding="utf-8") == name


def test_a_part_url_signs_its_content_length() -> None:
    store = BlobStore("127.0.0.1:9000", "key", "secret", "bucket", public_endpoint="s3.example.edu.cn")
    url = store.presign_part("sources/s1/a1", "upload-1", 3, 1000, timedelta(hours=1),
                             now=datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert (parts.netloc, parts.path) == ("s3.example.edu.cn", "/bucket/sources/s1/a1")
    assert query["X-Amz-SignedHeaders"] == ["content-length;host"]
    assert query["partNumber"] == ["3"] and query["uploadId"] == ["upload-1"]
    other = store.presign_part("sources/s1/a1", "upload-1", 3, 1001, timedelta(hours=1),
                               now=datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    assert parse_qs(urlsplit(other).query)["X-Amz-Signature"] != query["X-Amz-Signature"]


def test_a_worker_empties_its_job_folders_at_start_and_nothing_else(tmp_path: Path) -> None:
    (tmp_path / "media-a1-x7").mkdir()
    (tmp_path / "media-a1-x7" / "source.mp4").write_bytes(b"x")
    (tmp_path / "media-a2-y8").mkdir()
    (tmp_path / "someone-elses.txt").write_text("kept")
    processor = MediaProcessor(db=None, store=None, policies=None, scratch=tmp_path)  # type: ignore[arg-type]
    assert processor.clean_scratch() == 2
    assert [p.name for p in tmp_path.iterdir()] == ["someone-elses.txt"]
    assert MediaProcessor(db=None, store=None, policies=None, scratch=tmp_path / "new").clean_scratch() == 0  # type: ignore[arg-type]
    assert (tmp_path / "new").is_dir()
