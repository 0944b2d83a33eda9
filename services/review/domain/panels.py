"""Expert panel rules (专家组评审): rubrics, who may sit on a panel, how experts score and the mean."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

from servicekit.errors import FailedPrecondition, InvalidArgument, PermissionDenied

# Which review kind each panel purpose reviews (seed 004: application; seed 002 annex 2: acceptance).
PANEL_KINDS: dict[str, str] = {"application": "project_application", "acceptance": "project_acceptance"}
PURPOSE_OF_KIND = {kind: purpose for purpose, kind in PANEL_KINDS.items()}
MIN_EXPERTS = 3
RUBRIC_TOTAL = 100
CONCLUSIONS = ("pass", "fail")
KEY_PATTERN = re.compile(r"[a-z_]+")


@dataclass(frozen=True)
class RubricItem:
    key: str
    group: str
    name: str
    max_points: int
    description: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def _item(key: str, group: str, name: str, points: int, description: str) -> RubricItem:
    return RubricItem(key, group, name, points, description)


# The platform defaults, answered as version 0 while a school has saved none.
DEFAULT_RUBRICS: dict[str, tuple[RubricItem, ...]] = {
    # seed 002, annex 2: the completion acceptance indicators 40 / 25 / 25 / 5 / 5
    "acceptance": (
        _item("materials_complete", "课程规范", "材料完整", 20,
              "材料包含教学视频、教学资料、随堂测验、课堂讨论、单元测试及作业、考试等"),
        _item("technical_norms", "课程规范", "技术规范", 20,
              "视频长度、清晰度、分辨率不低于720p、声音、字幕、文字符号公式符合国家标准"),
        _item("knowledge_completeness", "教学内容", "知识完整性", 15, "视频和教学资料覆盖教学大纲的章节内容"),
        _item("accuracy", "教学内容", "科学准确性", 10, "内容适当、准确，无科学性、政策性错误，理论联系实际"),
        _item("online", "课程上线", "课程上线", 25, "所有教学资源上传到课程平台"),
        _item("use", "课程使用", "课程使用", 5, "上线后用于学生在线学习或翻转课堂教学"),
        _item("effect", "教学效果", "教学效果", 5, "课程受学习者及同行良好评价"),
    ),
    # seed 004, annex 1: the parts of the application form
    "application": (
        _item("leader", "课程负责人", "课程负责人", 15, "负责人的教学经历、教学研究和课程建设经验"),
        _item("team", "教学团队", "教学团队", 15, "团队结构、分工与投入"),
        _item("foundation", "课程建设基础", "课程建设基础", 20, "课程已有的教学资源和应用基础"),
        _item("design", "课程设计", "课程设计", 25, "教学内容组织、教学活动和考核设计"),
        _item("plan", "建设目标和实施方案", "建设目标和实施方案", 15, "目标明确，进度和保障措施可行"),
        _item("results", "预期成果", "预期成果", 10, "预期建成的资源、运行和共享应用"),
    ),
}


def check_purpose(purpose: str) -> str:
    if purpose not in PANEL_KINDS:
        raise InvalidArgument(f"a panel's purpose is one of {', '.join(PANEL_KINDS)}")
    return purpose


def validate_rubric(items: Iterable[RubricItem]) -> tuple[RubricItem, ...]:
    """Keys unique and [a-z_]+, names non-empty, positive points adding up to exactly 100."""
    cleaned = tuple(
        RubricItem(i.key.strip(), i.group.strip(), i.name.strip(), i.max_points, i.description.strip()) for i in items
    )
    if not cleaned:
        raise InvalidArgument("a rubric needs at least one item")
    seen: set[str] = set()
    for item in cleaned:
        if not KEY_PATTERN.fullmatch(item.key):
            raise InvalidArgument(f"the key {item.key!r} must be lowercase letters and underscores")
        if item.key in seen:
            raise InvalidArgument(f"the key {item.key!r} appears twice")
        seen.add(item.key)
        if not item.name:
            raise InvalidArgument(f"the item {item.key!r} needs a name")
        if item.max_points <= 0:
            raise InvalidArgument(f"the item {item.key!r} must be worth more than 0 points")
    total = sum(i.max_points for i in cleaned)
    if total != RUBRIC_TOTAL:
        raise InvalidArgument(f"the items add up to {total} points, not {RUBRIC_TOTAL}")
    return cleaned


def conflicts_of(snapshot: Mapping) -> set[str]:
    """The users who may neither score nor decide an item: the project's leader and team (the owner says)."""
    conflicts = snapshot.get("conflicts") or []
    return {str(c) for c in conflicts} if isinstance(conflicts, list) else set()


def check_panel(experts: Mapping[str, str], leader_id: str, items: Iterable[tuple[str, Mapping]]) -> None:
    """experts: user id -> name; items: (title, snapshot). Refuses a panel too small, a leader from
    outside it, and an expert who sits in judgement of their own project."""
    if len(experts) < MIN_EXPERTS:
        raise InvalidArgument(f"a panel needs at least {MIN_EXPERTS} experts, not {len(experts)}")
    if leader_id not in experts:
        raise InvalidArgument("the panel leader must be one of the experts")
    for title, snapshot in items:
        clashing = sorted(experts[u] for u in conflicts_of(snapshot) & set(experts))
        if clashing:
            raise InvalidArgument(f"{', '.join(clashing)} cannot review '{title}': it is their own project")


def check_may_score(expert_id: str, snapshot: Mapping) -> None:
    if expert_id in conflicts_of(snapshot):
        raise PermissionDenied("you cannot score your own project")


def check_may_decide(user_id: str, snapshot: Mapping) -> None:
    if user_id in conflicts_of(snapshot):
        raise PermissionDenied("you cannot decide your own project")


def score_total(rubric: Iterable[RubricItem], scores: Iterable[tuple[str, float]]) -> float:
    """Every rubric key exactly once, each within 0..max; the total."""
    maxima = {i.key: i.max_points for i in rubric}
    given: dict[str, float] = {}
    for key, points in scores:
        if key not in maxima:
            raise InvalidArgument(f"the rubric has no item {key!r}")
        if key in given:
            raise InvalidArgument(f"the item {key!r} is scored twice")
        if not 0 <= points <= maxima[key]:
            raise InvalidArgument(f"{key} takes 0 to {maxima[key]} points, not {points:g}")
        given[key] = points
    missing = [k for k in maxima if k not in given]
    if missing:
        raise InvalidArgument(f"score every item; missing: {', '.join(missing)}")
    return round(sum(given.values()), 2)


def mean(totals: Iterable[float]) -> float:
    values = list(totals)
    return round(sum(values) / len(values), 2) if values else 0.0


def check_conclusion(conclusion: str, expert_ids: Iterable[str], scored_ids: Iterable[str]) -> None:
    if conclusion not in CONCLUSIONS:
        raise InvalidArgument("conclude 'pass' or 'fail'")
    waiting = set(expert_ids) - set(scored_ids)
    if waiting:
        raise FailedPrecondition(f"{len(waiting)} expert(s) have not scored yet")
