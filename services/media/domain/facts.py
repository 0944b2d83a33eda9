"""What the media service tells the course service about a course's videos for its acceptance facts: how tall
each is, whether it has subtitles, and who recorded (uploaded) it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

ASSET_FACTS_READER = "course"  # the one service whose key reads the facts (the course's acceptance facts)
MAX_ASSET_FACTS = 1000  # assets per call
RUNG_HEIGHT = re.compile(r"^(\d+)p$")
MEASURED_SIZE = re.compile(r"(\d+)\s*[×x]\s*(\d+)")


def video_height(renditions: Iterable[str], spec_report: Iterable[Mapping[str, object]]) -> int:
    """The height of the tallest rendition ("720p"), else of the source as probed (the spec report's resolution,
    "1280×720"); 0 when neither says."""
    heights = [int(match.group(1)) for rung in renditions if (match := RUNG_HEIGHT.match(str(rung)))]
    if heights:
        return max(heights)
    for rule in spec_report:
        if rule.get("rule") == "resolution" and (match := MEASURED_SIZE.search(str(rule.get("measured", "")))):
            return int(match.group(2))
    return 0
