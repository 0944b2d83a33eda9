"""The teaching plan tree: shape, ordering, deletion, minutes."""

from __future__ import annotations

import pytest

from servicekit.errors import FailedPrecondition, InvalidArgument, NotFound
from services.course.domain.plan import (
    MAX_PLAN_DEPTH,
    PlanNode,
    check_delete,
    check_new_node,
    check_parent_unchanged,
    moved,
    next_position,
    ordered,
    subtree_ids,
    video_minutes,
)


def chapter(node_id: str, position: int) -> PlanNode:
    return PlanNode(node_id, None, "chapter", f"第{position}章", position)


def section(node_id: str, parent: str, position: int) -> PlanNode:
    return PlanNode(node_id, parent, "section", f"section {node_id}", position)


def unit(node_id: str, parent: str, position: int, resource: str | None = None) -> PlanNode:
    return PlanNode(node_id, parent, "unit", f"unit {node_id}", position, resource)


PLAN = [
    chapter("c2", 2),
    chapter("c1", 1),
    section("s1", "c1", 1),
    unit("u1", "s1", 1, "r1"),
    unit("u2", "s1", 2, "r2"),
    unit("u3", "c1", 2, "r3"),
    unit("u4", "c2", 1, "r1"),
]


def test_the_plan_is_at_most_three_levels_deep() -> None:
    assert MAX_PLAN_DEPTH == 3


def test_chapter_section_and_unit_fit_the_plan() -> None:
    check_new_node(PLAN, None, "chapter", "week 1")
    check_new_node(PLAN, "c1", "section", "第一节")
    check_new_node(PLAN, "c1", "unit", "intro video")
    check_new_node(PLAN, "s1", "unit", "lecture")


def test_a_fourth_plan_level_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="at most 3 levels: chapter → section → unit"):
        check_new_node(PLAN, "u1", "unit", "too deep")


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="unknown plan node kind 'lesson'"):
        check_new_node(PLAN, "c1", "lesson", "x")


def test_an_unknown_parent_is_not_found() -> None:
    with pytest.raises(NotFound):
        check_new_node(PLAN, "nope", "unit", "x")


def test_a_chapter_sits_only_at_the_top() -> None:
    with pytest.raises(InvalidArgument, match="chapter"):
        check_new_node(PLAN, "c1", "chapter", "x")


def test_a_section_sits_only_under_a_chapter() -> None:
    with pytest.raises(InvalidArgument, match="section"):
        check_new_node(PLAN, None, "section", "x")
    with pytest.raises(InvalidArgument, match="only under a chapter"):
        check_new_node(PLAN, "s1", "section", "x")


def test_a_section_cannot_sit_under_a_unit() -> None:
    with pytest.raises(InvalidArgument, match="not under a unit"):
        check_new_node(PLAN, "u3", "section", "x")


def test_a_unit_cannot_sit_under_a_unit() -> None:
    with pytest.raises(InvalidArgument, match="a unit has no children"):
        check_new_node(PLAN, "u3", "unit", "x")


def test_a_unit_needs_a_parent() -> None:
    with pytest.raises(InvalidArgument):
        check_new_node(PLAN, None, "unit", "x")


def test_an_empty_or_over_long_title_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="needs a title"):
        check_new_node(PLAN, None, "chapter", "   ")
    with pytest.raises(InvalidArgument, match="at most 100"):
        check_new_node(PLAN, None, "chapter", "x" * 101)
    check_new_node(PLAN, None, "chapter", "x" * 100)


def test_a_new_node_goes_after_its_siblings() -> None:
    assert next_position(PLAN, None) == 3
    assert next_position(PLAN, "s1") == 3
    assert next_position(PLAN, "u1") == 1


def test_moving_up_swaps_with_the_previous_sibling() -> None:
    assert sorted(moved(PLAN, "u2", "up")) == [("u1", 2), ("u2", 1)]


def test_moving_down_swaps_with_the_next_sibling() -> None:
    assert sorted(moved(PLAN, "c1", "down")) == [("c1", 2), ("c2", 1)]


def test_the_first_node_cannot_move_up() -> None:
    with pytest.raises(FailedPrecondition, match="cannot move up"):
        moved(PLAN, "s1", "up")


def test_the_last_node_cannot_move_down() -> None:
    with pytest.raises(FailedPrecondition, match="cannot move down"):
        moved(PLAN, "u4", "down")


def test_an_unknown_direction_is_refused() -> None:
    with pytest.raises(InvalidArgument):
        moved(PLAN, "u1", "left")


def test_siblings_with_equal_positions_are_renumbered_when_moved() -> None:
    nodes = [chapter("a", 1), chapter("b", 1), chapter("c", 1)]
    assert sorted(moved(nodes, "b", "up")) == [("a", 2), ("c", 3)]


def test_a_node_moves_only_among_its_siblings() -> None:
    check_parent_unchanged(PLAN[3], "s1")
    with pytest.raises(InvalidArgument, match="a node moves only among its siblings"):
        check_parent_unchanged(PLAN[3], "c2")


def test_a_subtree_lists_the_node_first_then_its_descendants() -> None:
    assert subtree_ids(PLAN, "c1") == ["c1", "s1", "u1", "u2", "u3"]
    assert subtree_ids(PLAN, "u4") == ["u4"]


def test_a_node_with_children_is_deleted_only_when_asked() -> None:
    with pytest.raises(FailedPrecondition, match="2 children"):
        check_delete(PLAN, "c1", recursive=False)
    assert check_delete(PLAN, "c1", recursive=True) == ["c1", "s1", "u1", "u2", "u3"]


def test_a_leaf_is_deleted_without_recursion() -> None:
    assert check_delete(PLAN, "u3", recursive=False) == ["u3"]


def test_deleting_an_unknown_node_is_not_found() -> None:
    with pytest.raises(NotFound):
        check_delete(PLAN, "ghost", recursive=True)


def test_minutes_add_up_per_chapter_and_course() -> None:
    per_chapter, total = video_minutes(PLAN, {"r1": 10.0, "r2": 12.5, "r3": 7.5})
    assert per_chapter == {"c1": 30.0, "c2": 10.0}
    assert total == 30.0


def test_a_resource_referenced_twice_in_a_chapter_counts_once() -> None:
    nodes = [*PLAN, unit("u5", "c1", 3, "r1")]
    per_chapter, total = video_minutes(nodes, {"r1": 10.0, "r2": 12.5, "r3": 7.5})
    assert per_chapter["c1"] == 30.0
    assert total == 30.0


def test_a_chapter_without_units_has_zero_minutes() -> None:
    per_chapter, total = video_minutes([chapter("c", 1)], {})
    assert per_chapter == {"c": 0.0}
    assert total == 0.0


def test_the_plan_is_ordered_depth_first_by_position() -> None:
    assert [n.id for n in ordered(PLAN)] == ["c1", "s1", "u1", "u2", "u3", "c2", "u4"]
