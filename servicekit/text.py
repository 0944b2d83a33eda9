"""Free text as the services accept it: stripped, required unless said otherwise, and bounded."""

from __future__ import annotations

from servicekit.errors import InvalidArgument


def check_text(value: str, what: str, limit: int, required: bool = True) -> str:
    """`value` stripped; InvalidArgument naming `what` when it is required and empty or longer than `limit`."""
    text = value.strip()
    if required and not text:
        raise InvalidArgument(f"{what} is required")
    if len(text) > limit:
        raise InvalidArgument(f"{what} has at most {limit} characters")
    return text
