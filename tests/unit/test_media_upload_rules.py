"""Upload requests: the size refusal says the size with enough digits to differ from the limit."""

from __future__ import annotations

import pytest

from servicekit.errors import InvalidArgument
from services.media.domain.rules import check_upload_request, megabytes_apart
from services.media.domain.spec import PROFILES, check_video
from services.media.service_layer.handlers import MediaConfig
from tests.unit.test_media_spec import probe

LIMIT = 200_000_000


def refusal(size: int) -> str:
    with pytest.raises(InvalidArgument) as raised:
        check_upload_request("course_video", size, "", LIMIT)
    return str(raised.value)


def test_one_byte_over_200_mb_reads_over_200_mb() -> None:
    assert refusal(200_000_001) == "the file is 200.000001 MB; one file may be at most 200 MB"


def test_the_size_shows_only_the_digits_it_needs() -> None:
    assert refusal(250_000_000) == "the file is 250 MB; one file may be at most 200 MB"
    assert refusal(200_400_000) == "the file is 200.4 MB; one file may be at most 200 MB"
    assert refusal(2 * 1024**3).startswith("the file is 2147 MB")


def test_the_size_is_cut_never_rounded_up_to_look_bigger() -> None:
    assert megabytes_apart(209_715_200, LIMIT) == ("209", "200")
    assert megabytes_apart(1_500_001, 1_500_000) == ("1.500001", "1.5")


def test_exactly_the_limit_is_accepted() -> None:
    check_upload_request("course_video", LIMIT, "", LIMIT)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_the_upload_limit_and_the_spec_checks_size_line_agree_to_the_byte(profile: str) -> None:
    """The maximum passes both; one byte more is refused at upload and fails the spec check, in the same words."""
    maximum = MediaConfig().max_upload_bytes
    assert PROFILES[profile].max_file_bytes == maximum
    check_upload_request("course_video", maximum, "", maximum)
    assert check_video(PROFILES[profile], probe(size_bytes=maximum), "mp4").result("file_size").status == "pass"
    assert refusal(maximum + 1) == "the file is 200.000001 MB; one file may be at most 200 MB"
    over = check_video(PROFILES[profile], probe(size_bytes=maximum + 1), "mp4").result("file_size")
    assert (over.status, over.measured, over.limit) == ("fail", "200.000001 MB", "≤ 200 MB")
