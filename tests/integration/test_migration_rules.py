"""Expand-then-contract (docs/upgrade.md): a revision written after the rule came in either only adds (expand), or
says it is a contract step (`step = "contract"`), so a rolling upgrade never breaks the version still running.

Read off each revision's source (its `upgrade()`), so it needs no database.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REVISIONS = sorted(ROOT.glob("services/*/migrations/versions/*.py"))

# The revisions written before the rule: the platform was not yet upgraded while running, so they stay as they are.
BEFORE_THE_RULE = frozenset({
    "16871f093f76", "1e0a00000002", "1e0a00000003", "1e0a00000004", "1e0a00000005", "1e0a00000006", "1e0a00000007",
    "1e0a00000008", "1e0a00000009", "1e0a0000000a", "1e0a0000000b", "1f6d55ac3983", "342baf056256", "392f2fb78584",
    "3f6a9b1c7d42", "51fc096b017d", "52e8fa1a8fc1", "5b0c2f9e7a41", "68cb764a8ad0", "7c1e2a9d4b10", "8c41d2e6f0a3",
    "9d3e1a7c5b20", "a5e2c8d14b67", "a620f8bc70bc", "b65e17f47592", "c011e6e50001", "c0ffee000001", "c0ffee000002",
    "c0ffee000003", "c0ffee000004", "c0ffee000005", "c3a91f0e7b21", "ca2f5eb3ecfe", "d7ea2a3ebcf3", "e76478e62c67",
})
CONTRACT = "contract"

# Operations the running (older) version cannot live with: it still reads and writes what they remove or rename.
DESTRUCTIVE_CALLS = {"drop_column", "drop_table", "rename_table"}
DESTRUCTIVE_SQL = re.compile(r"\b(DROP\s+(TABLE|COLUMN|SCHEMA)|RENAME\s+(TO|COLUMN)|SET\s+NOT\s+NULL|TRUNCATE)\b",
                             re.IGNORECASE)


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _is_false(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


def destructive_operations(source: str) -> list[str]:
    """What a revision's upgrade() does that an older version of the code running beside it would break on."""
    tree = ast.parse(source)
    upgrade = next((node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "upgrade"),
                   None)
    if upgrade is None:
        return []
    found = []
    for node in ast.walk(upgrade):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        name, line = node.func.attr, f"line {node.lineno}"
        if name in DESTRUCTIVE_CALLS:
            found.append(f"{name} ({line})")
        elif name == "alter_column":
            if _keyword(node, "new_column_name") is not None:
                found.append(f"alter_column renaming a column ({line})")
            if _keyword(node, "type_") is not None:
                found.append(f"alter_column changing a type ({line})")
            if _is_false(_keyword(node, "nullable")) and _keyword(node, "server_default") is None:
                found.append(f"alter_column to NOT NULL without a server default ({line})")
        elif name == "add_column" or name == "create_table":
            for column in ast.walk(node):  # a new NOT NULL column the old version does not fill must have a default
                if (isinstance(column, ast.Call) and getattr(column.func, "attr", getattr(column.func, "id", ""))
                        == "Column" and _is_false(_keyword(column, "nullable")) and name == "add_column"
                        and _keyword(column, "server_default") is None):
                    found.append(f"add_column NOT NULL without a server default ({line})")
        elif name in ("execute", "exec_driver_sql"):
            text = " ".join(a.value for a in ast.walk(node) if isinstance(a, ast.Constant) and isinstance(a.value, str))
            if DESTRUCTIVE_SQL.search(text):
                found.append(f"SQL {DESTRUCTIVE_SQL.search(text).group(0)!r} ({line})")  # type: ignore[union-attr]
    return found


def module_constant(source: str, name: str) -> object:
    for node in ast.parse(source).body:
        targets = [node.target] if isinstance(node, ast.AnnAssign) else getattr(node, "targets", [])
        if any(isinstance(t, ast.Name) and t.id == name for t in targets) and isinstance(node.value, ast.Constant):
            return node.value.value
    return None


def test_every_revision_is_found_with_its_id() -> None:
    assert len(REVISIONS) >= len(BEFORE_THE_RULE)
    for path in REVISIONS:
        assert isinstance(module_constant(path.read_text(encoding="utf-8"), "revision"), str), path


@pytest.mark.parametrize("path", REVISIONS, ids=lambda p: f"{p.parts[-4]}/{p.stem}")
def test_revisions_after_the_rule_only_expand_unless_marked_as_contract_steps(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    if module_constant(source, "revision") in BEFORE_THE_RULE:
        return
    step = module_constant(source, "step")
    assert step in (None, "expand", CONTRACT), f"{path.name}: step is 'expand' or 'contract', not {step!r}"
    destructive = destructive_operations(source)
    if step != CONTRACT:
        assert not destructive, (
            f"{path.relative_to(ROOT)} removes or renames what the running version still uses: "
            f"{', '.join(destructive)}. Expand first (add, backfill, write both), ship, and do this in a later "
            f"revision marked step = \"contract\" (docs/upgrade.md)")


# ---- the checker itself ----------------------------------------------------------------------------------

EXPAND = '''
revision = "aaaa00000001"
def upgrade():
    op.add_column("t", sa.Column("c", sa.String(), nullable=True))
    op.add_column("t", sa.Column("d", sa.Integer(), nullable=False, server_default="0"))
    op.create_table("u", sa.Column("id", sa.String(), nullable=False))
    op.create_index("ix", "t", ["c"])
def downgrade():
    op.drop_column("t", "c")
    op.drop_table("u")
'''


@pytest.mark.parametrize("body, expected", [
    ('op.drop_column("t", "c")', "drop_column"),
    ('with op.batch_alter_table("t") as batch:\n        batch.drop_column("c")', "drop_column"),
    ('op.drop_table("t")', "drop_table"),
    ('op.rename_table("t", "u")', "rename_table"),
    ('op.alter_column("t", "c", new_column_name="d")', "renaming a column"),
    ('op.alter_column("t", "c", nullable=False)', "NOT NULL without a server default"),
    ('op.alter_column("t", "c", type_=sa.Integer())', "changing a type"),
    ('op.add_column("t", sa.Column("c", sa.String(), nullable=False))', "add_column NOT NULL"),
    ('op.execute("ALTER TABLE t DROP COLUMN c")', "DROP COLUMN"),
    ('op.execute(sa.text("ALTER TABLE t RENAME COLUMN c TO d"))', "RENAME"),
])
def test_the_checker_finds_destructive_operations(body: str, expected: str) -> None:
    source = f'revision = "aaaa00000002"\ndef upgrade():\n    {body}\n'
    found = destructive_operations(source)
    assert any(expected in item for item in found), found


def test_the_checker_lets_expansions_and_downgrades_through() -> None:
    assert destructive_operations(EXPAND) == []
    assert module_constant('revision = "x"\nstep: str = "contract"\n', "step") == CONTRACT
