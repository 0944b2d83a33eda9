"""The pinyin search keys are back-filled for the names stored before their column existed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from servicekit.migrations import script_location
from tests.support import alembic_upgrade, empty_database

# service: (the revision before the keys, table, the names written, the key column, the expected key)
CASES = {
    "course": ("d7ea2a3ebcf3", "courses", {"name": "数据结构"}, "name_pinyin", "shujujiegou sjjg"),
    "identity": ("9d3e1a7c5b20", "schools", {"name": "重庆大学"}, "name_pinyin", "chongqingdaxue cqdx"),
    "sharing": ("52e8fa1a8fc1", "entries",
                {"course_name": "数据结构", "leader_name": "张三", "school_name": "浙江大学"}, "search_pinyin",
                "shujujiegou sjjg zhangsan zs zhejiangdaxue zjdx"),
}


def _filler(column: sa.Column) -> object:
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, (sa.Integer, sa.Float, sa.Numeric)):
        return 0
    if isinstance(kind, (sa.DateTime, sa.Date)):
        return datetime(2026, 1, 1, tzinfo=UTC).replace(tzinfo=None)
    return "x"


@pytest.mark.parametrize("service", sorted(CASES))
async def test_names_stored_before_the_migration_get_their_pinyin(service: str, database_url) -> None:  # type: ignore[no-untyped-def]
    before, table_name, names, key_column, expected = CASES[service]
    db = await empty_database(database_url)

    def insert_old_row(connection: sa.Connection) -> None:
        metadata = sa.MetaData()
        table = sa.Table(table_name, metadata, autoload_with=connection)
        if table_name == "entries":  # an entry belongs to a list
            lists = sa.Table("sharing_lists", metadata, autoload_with=connection)
            connection.execute(lists.insert().values(
                {c.name: _filler(c) for c in lists.columns if not c.nullable} | {"id": "L1"}))
        row = {c.name: _filler(c) for c in table.columns if not c.nullable and c.autoincrement is not True}
        row |= {"id": "R1", **names}
        if table_name == "entries":
            row["list_id"] = "L1"
        if table_name == "schools":
            row["province_code"] = "33"
        connection.execute(table.insert().values(row))

    async with db.engine.begin() as conn:
        await conn.run_sync(alembic_upgrade, service, before)
        await conn.run_sync(insert_old_row)
    await db.migrate(script_location(service))
    async with db.engine.connect() as conn:
        key = (await conn.execute(sa.text(f"SELECT {key_column} FROM {table_name} WHERE id = 'R1'"))).scalar_one()
    assert key == expected
    await db.dispose()
