"""Pinyin searches: "shujujiegou" and "sjjg" find 数据结构.

A searchable name keeps a normalised pinyin next to it (`search_key`, filled on every write): for each
name its full toneless pinyin and its initials, lowercase letters and digits only, names separated by a
space. A query of Latin letters (`pinyin_query`) is matched against it with the escaped substring LIKE of
`servicekit.search.contains`, so a user finds 数据结构 by "sjjg", "shujujiegou", "jiegou" or "shu ju".
Words are read as pypinyin reads them in context (重庆 is chongqing), one reading per character.
"""

from __future__ import annotations

import re
from typing import Any

from pypinyin import Style, lazy_pinyin
from sqlalchemy.sql.elements import ColumnElement

from servicekit.search import contains

_NOT_HAN = "\x00"
_KEEP = re.compile(r"[^a-z0-9]+")
_QUERY = re.compile(r"^[A-Za-z0-9' ]+$")  # what a pinyin query may hold: letters, digits, spaces, apostrophes


def _squash(parts: list[str]) -> str:
    return _KEEP.sub("", "".join(parts).lower())


def _as_is(text: str) -> str:
    return _NOT_HAN + text  # what is not Chinese stays as written, marked


def name_key(name: str) -> str:
    """One name's full pinyin and initials: 数据结构 -> "shujujiegou sjjg"; "" for a name without letters.
    Text that is not Chinese stays whole in both ("C语言" -> "cyuyan cyy")."""
    full, initials = [], []
    for part in lazy_pinyin(name or "", style=Style.NORMAL, errors=_as_is):
        if part.startswith(_NOT_HAN):
            full.append(part[1:])
            initials.append(part[1:])
        else:
            full.append(part)
            initials.append(part[:1])
    return " ".join(dict.fromkeys(part for part in (_squash(full), _squash(initials)) if part))


def search_key(*names: str) -> str:
    """The normalised pinyin of several names (a course, its leader, its school), space separated."""
    return " ".join(key for key in (name_key(name) for name in names) if key)


def pinyin_query(text: str) -> str | None:
    """The query as it is matched against a `search_key`, or None when it is not pinyin (Chinese characters
    or other signs are searched in the names themselves)."""
    text = (text or "").strip()
    if not text or not _QUERY.match(text):
        return None
    squashed = _KEEP.sub("", text.lower())
    return squashed or None


def matches(column: Any, text: str) -> ColumnElement[bool] | None:
    """`column` (a search_key) holds the pinyin `text`, or None when `text` is not a pinyin query."""
    query = pinyin_query(text)
    return None if query is None else contains(column, query)


def matches_any(column: Any, text: str) -> list[ColumnElement[bool]]:
    """`matches` as a list to spread into `or_(...)`: empty when `text` is not a pinyin query."""
    match = matches(column, text)
    return [] if match is None else [match]
