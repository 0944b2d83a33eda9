"""The gram index's grams: a text holds every gram of every query it contains; the candidate query's shape."""

from __future__ import annotations

import random

from sqlalchemy import Column, MetaData, String
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase

from servicekit.grams import GramIndex, Totals, bigram, gram_tables, query_grams, text_grams, unigram


def test_a_text_has_its_characters_and_adjacent_pairs() -> None:
    assert text_grams("数据结构") == {unigram(c) for c in "数据结构"} | {
        bigram("数", "据"), bigram("据", "结"), bigram("结", "构")}
    assert text_grams("") == set()
    assert text_grams("aa") == {unigram("a"), bigram("a", "a")}


def test_a_query_asks_for_its_bigrams_or_its_one_character() -> None:
    assert query_grams("数") == [unigram("数")]
    assert query_grams("数据") == [bigram("数", "据")]
    assert query_grams("abab") == sorted({bigram("a", "b"), bigram("b", "a")})


def test_fields_unigrams_and_bigrams_never_share_a_gram() -> None:
    # A unigram of field 1 is not a bigram of field 0, the highest code points included.
    highest = chr(0x10FFFF)
    grams = [unigram("a", 0), unigram("a", 1), bigram("\x00", "a", 0), bigram("\x00", "a", 1),
             unigram(highest, 0), bigram(highest, highest, 0), unigram(highest, 1), bigram(highest, highest, 1)]
    assert len(set(grams)) == len(grams)
    assert max(grams) < 2**63  # a BIGINT on PostgreSQL, an INTEGER on SQLite


def test_every_substring_finds_its_text_among_the_candidates() -> None:
    """The index gives a superset of the LIKE's matches: every gram a query asks for is in a text containing it."""
    rng = random.Random(14)
    alphabet = "数据结构王老师杭州大学ab_%C 　"
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 30)))
        start = rng.randrange(len(text))
        query = text[start:start + rng.randrange(1, 8)]
        assert set(query_grams(query, 1)) <= text_grams(text, 1)
        assert not set(query_grams(query, 1)) & text_grams(text, 0)  # fields kept apart


def test_totals_keep_the_most_recently_used() -> None:
    totals = Totals(size=2)
    totals.put("a", 1)
    totals.put("b", 2)
    assert totals.get("a") == 1
    totals.put("c", 3)  # "b" was used least recently
    assert (totals.get("a"), totals.get("b"), totals.get("c")) == (1, None, 3)


class _Base(DeclarativeBase):
    metadata = MetaData()


class _Thing(_Base):
    __tablename__ = "things"
    id = Column(String(36), primary_key=True)
    box = Column(String(36))
    name = Column(String(100))


def test_the_candidates_read_the_rarest_posting_in_rank_order_and_probe_the_others() -> None:
    grams, scopes = gram_tables(_Base.metadata, "thing_grams")
    index = GramIndex(grams, scopes, _Thing, scope_of=lambda t: t.box, rank_of=lambda t: t.name,
                      texts_of=lambda t: (t.name,))
    rarest, other = query_grams("abc")
    statement = index.select_plan("box-1", ((other, rarest),))
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        sql = str(statement.compile(dialect=dialect))
        assert sql.count("FROM thing_grams AS driver") == 1
        # The other gram probed by owner (a scalar subquery PostgreSQL cannot turn into a join), not read whole.
        assert sql.count("FROM thing_grams AS probe0") == 1 and "IS NOT NULL" in sql
        assert "probe0.owner_id = driver.owner_id" in sql and "EXISTS" not in sql
    compiled = statement.compile(dialect=sqlite.dialect())
    assert compiled.params["gram_1"] == other  # the plan's first (rarest) gram drives


def test_a_plan_without_fields_finds_nobody() -> None:
    grams, scopes = gram_tables(MetaData(), "other_grams")
    index = GramIndex(grams, scopes, _Thing, scope_of=lambda t: t.box, rank_of=lambda t: t.name,
                      texts_of=lambda t: (t.name,))
    assert index.select_plan("box-1", ()) is None


def test_folding_lowercases_what_sqlite_like_folds_and_nothing_else() -> None:
    from servicekit.grams import folded

    assert folded("Zhejiang ÄÖ Ｃ语言 C++") == "zhejiang ÄÖ Ｃ语言 c++"  # A-Z only, as SQLite's LIKE compares
    assert folded(None) == ""
