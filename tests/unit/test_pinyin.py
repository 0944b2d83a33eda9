"""Pinyin search keys: what a user types in Latin letters finds the Chinese name."""

from __future__ import annotations

import pytest

from servicekit.pinyin import matches, name_key, pinyin_query, search_key


def test_a_name_keeps_its_full_pinyin_and_its_initials() -> None:
    assert name_key("数据结构") == "shujujiegou sjjg"
    assert name_key("重庆大学") == "chongqingdaxue cqdx"  # read in context: 重庆 is chongqing
    assert name_key("C语言程序设计（第2版）") == "cyuyanchengxushejidi2ban cyycxsjd2b"  # Latin text stays whole
    assert name_key("abc") == "abc" and name_key("") == "" and name_key("（）") == ""


def test_several_names_stay_apart() -> None:
    key = search_key("数据结构", "张三", "长沙理工大学")
    assert key == "shujujiegou sjjg zhangsan zs changshaligongdaxue cslgdx"
    assert "sjjgzs" not in key  # a query never runs across two names


@pytest.mark.parametrize(("typed", "query"), [("sjjg", "sjjg"), ("SJJG", "sjjg"), ("shu ju jie gou", "shujujiegou"),
                                               ("xi'an", "xian"), ("c2", "c2")])
def test_latin_letters_are_a_pinyin_query(typed: str, query: str) -> None:
    assert pinyin_query(typed) == query


@pytest.mark.parametrize("typed", ["数据", "sj结构", "50%", "a_b", "", "  ", "''"])
def test_chinese_and_signs_are_not_a_pinyin_query(typed: str) -> None:
    assert pinyin_query(typed) is None


def test_a_pinyin_query_is_an_escaped_substring_like() -> None:
    from sqlalchemy import column

    assert matches(column("k"), "数据") is None
    clause = matches(column("k"), "Shu Ju")
    assert clause is not None
    compiled = clause.compile(compile_kwargs={"literal_binds": True})
    assert str(compiled) == "k LIKE '%shuju%' ESCAPE '\\'"
