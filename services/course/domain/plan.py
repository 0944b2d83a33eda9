"""The teaching plan (教学计划): a tree of chapter → section → unit, at most three levels deep."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from servicekit.errors import FailedPrecondition, InvalidArgument, NotFound

MAX_PLAN_DEPTH = 3
MAX_TITLE_LENGTH = 100

CHAPTER = "chapter"
SECTION = "section"
UNIT = "unit"
NODE_KINDS = (CHAPTER, SECTION, UNIT)

UP = "up"
DOWN = "down"


@dataclass(frozen=True)
class PlanNode:
    id: str
    parent_id: str | None
    kind: str
    title: str
    position: int
    resource_id: str | None = None


def _by_id(nodes: Sequence[PlanNode]) -> dict[str, PlanNode]:
    return {node.id: node for node in nodes}


def _node(nodes: Sequence[PlanNode], node_id: str) -> PlanNode:
    for node in nodes:
        if node.id == node_id:
            return node
    raise NotFound(f"plan node {node_id!r} does not exist", reason="PLAN_NODE_NOT_FOUND")


def _children(nodes: Sequence[PlanNode], parent_id: str | None) -> list[PlanNode]:
    return sorted((n for n in nodes if n.parent_id == parent_id), key=lambda n: (n.position, n.id))


def _depth(by_id: Mapping[str, PlanNode], node: PlanNode) -> int:
    depth, seen = 1, {node.id}
    while node.parent_id is not None and node.parent_id in by_id:
        node = by_id[node.parent_id]
        if node.id in seen:  # a corrupt cycle: stop rather than loop forever
            break
        seen.add(node.id)
        depth += 1
    return depth


def check_title(title: str) -> str:
    """Return the stripped title; refuse an empty or over-long one."""
    cleaned = (title or "").strip()
    if not cleaned:
        raise InvalidArgument("a plan node needs a title", reason="EMPTY_TITLE")
    if len(cleaned) > MAX_TITLE_LENGTH:
        raise InvalidArgument(
            f"a plan node title has at most {MAX_TITLE_LENGTH} characters; this one has {len(cleaned)}",
            reason="TITLE_TOO_LONG",
        )
    return cleaned


def check_new_node(nodes: Sequence[PlanNode], parent_id: str | None, kind: str, title: str) -> None:
    """Refuse a node that would not fit the chapter → section → unit shape."""
    if kind not in NODE_KINDS:
        raise InvalidArgument(
            f"unknown plan node kind {kind!r}; use one of {', '.join(NODE_KINDS)}", reason="UNKNOWN_NODE_KIND"
        )
    check_title(title)
    if parent_id is None:
        if kind != CHAPTER:
            raise InvalidArgument(
                f"a {kind} must sit under a chapter; only chapters sit at the top", reason="BAD_PARENT"
            )
        return
    by_id = _by_id(nodes)
    parent = by_id.get(parent_id)
    if parent is None:
        raise NotFound(f"parent plan node {parent_id!r} does not exist", reason="PLAN_NODE_NOT_FOUND")
    if _depth(by_id, parent) >= MAX_PLAN_DEPTH:
        raise InvalidArgument(
            f"a teaching plan has at most {MAX_PLAN_DEPTH} levels: chapter → section → unit", reason="PLAN_TOO_DEEP"
        )
    if kind == CHAPTER:
        raise InvalidArgument(
            "a chapter sits only at the top of the plan, never under another node", reason="BAD_PARENT"
        )
    if kind == SECTION and parent.kind != CHAPTER:
        raise InvalidArgument(f"a section sits only under a chapter, not under a {parent.kind}", reason="BAD_PARENT")
    if parent.kind == UNIT:
        raise InvalidArgument(f"a unit has no children; a {kind} cannot sit under a unit", reason="BAD_PARENT")


def next_position(nodes: Sequence[PlanNode], parent_id: str | None) -> int:
    """The position that appends a new node after its siblings (1 for the first)."""
    return max((n.position for n in nodes if n.parent_id == parent_id), default=0) + 1


def check_parent_unchanged(node: PlanNode, new_parent_id: str | None) -> None:
    """Reordering stays among siblings: no move across chapters or sections."""
    if node.parent_id != new_parent_id:
        raise InvalidArgument("a node moves only among its siblings", reason="MOVE_ACROSS_PARENTS")


def moved(nodes: Sequence[PlanNode], node_id: str, direction: str) -> list[tuple[str, int]]:
    """The (node id, new position) pairs that swap a node with its previous or next sibling."""
    if direction not in (UP, DOWN):
        raise InvalidArgument(f"direction must be 'up' or 'down', not {direction!r}", reason="BAD_DIRECTION")
    node = _node(nodes, node_id)
    siblings = _children(nodes, node.parent_id)
    index = next(i for i, n in enumerate(siblings) if n.id == node_id)
    other = index - 1 if direction == UP else index + 1
    if other < 0:
        raise FailedPrecondition(f"{node.title!r} is already first and cannot move up", reason="ALREADY_FIRST")
    if other >= len(siblings):
        raise FailedPrecondition(f"{node.title!r} is already last and cannot move down", reason="ALREADY_LAST")
    neighbour = siblings[other]
    if neighbour.position != node.position:
        return [(node.id, neighbour.position), (neighbour.id, node.position)]
    # Equal positions cannot be swapped: renumber the siblings 1..n in the new order.
    order = [n.id for n in siblings]
    order[index], order[other] = order[other], order[index]
    current = {n.id: n.position for n in siblings}
    return [(sid, pos) for pos, sid in enumerate(order, start=1) if current[sid] != pos]


def subtree_ids(nodes: Sequence[PlanNode], node_id: str) -> list[str]:
    """The node's id first, then its descendants depth-first in position order."""
    _node(nodes, node_id)
    result: list[str] = []
    seen: set[str] = set()
    stack = [node_id]
    while stack:
        current = stack.pop()
        if current in seen:  # a corrupt cycle: visit each node once
            continue
        seen.add(current)
        result.append(current)
        stack.extend(reversed([c.id for c in _children(nodes, current)]))
    return result


def check_delete(nodes: Sequence[PlanNode], node_id: str, recursive: bool) -> list[str]:
    """The ids to delete; a node with children goes only when the caller asks for recursion."""
    ids = subtree_ids(nodes, node_id)
    children = len(_children(nodes, node_id))
    if children and not recursive:
        noun = "child" if children == 1 else "children"
        raise FailedPrecondition(
            f"this node has {children} {noun} ({len(ids) - 1} nodes below it in all); "
            "delete them first or delete recursively",
            reason="NODE_HAS_CHILDREN",
        )
    return ids


def video_minutes(
    nodes: Sequence[PlanNode], minutes_by_resource: Mapping[str, float]
) -> tuple[dict[str, float], float]:
    """Minutes per chapter and for the whole course; a resource counts once per chapter and once in total."""
    per_chapter: dict[str, float] = {}
    everywhere: set[str] = set()
    for chapter in _children(nodes, None):
        if chapter.kind != CHAPTER:
            continue
        resources = {
            n.resource_id
            for n in (_node(nodes, i) for i in subtree_ids(nodes, chapter.id))
            if n.kind == UNIT and n.resource_id is not None
        }
        everywhere |= resources
        per_chapter[chapter.id] = float(sum(minutes_by_resource.get(r, 0.0) for r in resources))
    total = float(sum(minutes_by_resource.get(r, 0.0) for r in everywhere))
    return per_chapter, total


def ordered(nodes: Sequence[PlanNode]) -> list[PlanNode]:
    """Every node reachable from the top, depth-first in position order (for display and copying)."""
    by_id = _by_id(nodes)
    result: list[PlanNode] = []
    for top in _children(nodes, None):
        result.extend(by_id[i] for i in subtree_ids(nodes, top.id))
    return result
