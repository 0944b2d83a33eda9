"""Free text as the services accept it: stripped, required unless said otherwise, and bounded; and Chinese text in
simplified characters (subtitles are checked for traditional ones, blocked words match either)."""

from __future__ import annotations

import functools

import opencc

from servicekit.errors import InvalidArgument


@functools.cache
def _t2s() -> opencc.OpenCC:
    # OpenCC's t2s: traditional to simplified, by phrase then by character (its dictionaries, not a hand list).
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    return _t2s().convert(text)


def check_text(value: str, what: str, limit: int, required: bool = True) -> str:
    """`value` stripped; InvalidArgument naming `what` when it is required and empty or longer than `limit`."""
    text = value.strip()
    if required and not text:
        raise InvalidArgument(f"{what} is required")
    if len(text) > limit:
        raise InvalidArgument(f"{what} has at most {limit} characters")
    return text
