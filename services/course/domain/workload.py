"""Teaching workload (工作量) of online runs: seed 004 四(三)4, the teacher in charge × class hours × coefficient.

Seed 004 四(三)4: each term the course leader names one teacher of the team in charge of the online teaching
(负责在线教学的教师); their workload is the course's class hours in the training programme (培养方案中该课程的学时),
multiplied by 4.0 for the course's first run, 3.0 for the second and 2.0 from the third on. Seed 002 四(八) bases
the workload on the teaching process and the number of students: the report shows the students beside the hours.
"""

from __future__ import annotations

from dataclasses import dataclass

from servicekit.errors import InvalidArgument, PermissionDenied
from services.course.domain import runs as run_rules

FIRST_RUN_COEFFICIENT = 4.0
SECOND_RUN_COEFFICIENT = 3.0
LATER_RUN_COEFFICIENT = 2.0
# Seed 002 annex 1 (三、课程要件): a credit stands for at least 16 class hours; used when neither the
# run nor its course records class hours and the school's policy names no class hours per credit.
CLASS_HOURS_PER_CREDIT = 16.0

# A run that actually ran in its term: approved (published), running or ended. Drafts, runs waiting for or refused
# review, and runs taken down earn nothing.
COUNTED_STATES = (run_rules.PUBLISHED, run_rules.RUNNING, run_rules.ENDED)


def run_coefficient(run_number: int) -> float:
    """4.0 for a course's first run, 3.0 for its second, 2.0 from the third on."""
    if run_number < 1:
        raise InvalidArgument(f"a run's number starts at 1; got {run_number}", reason="BAD_RUN_NUMBER")
    if run_number == 1:
        return FIRST_RUN_COEFFICIENT
    if run_number == 2:
        return SECOND_RUN_COEFFICIENT
    return LATER_RUN_COEFFICIENT


def counts_for_workload(state: str) -> bool:
    return state in COUNTED_STATES


@dataclass(frozen=True)
class ClassHours:
    hours: float
    basis: str  # how they were found, for the reader: "课程学时" or "2学分 × 16学时"


def class_hours(recorded_hours: float, credits: float, hours_per_credit: float | None) -> ClassHours:
    """The run's class hours in the training programme: the 学时 recorded on the run (copied from its course), else
    its credits × the policy's class hours per credit (seed 002: at least 16 per credit, the default here)."""
    if recorded_hours > 0:
        return ClassHours(recorded_hours, "课程学时")
    per_credit = hours_per_credit if hours_per_credit else CLASS_HOURS_PER_CREDIT
    return ClassHours(credits * per_credit, f"{_short(credits)}学分 × {_short(per_credit)}学时")


def workload_hours(hours: float, run_number: int) -> float:
    """The teacher in charge's workload for one run: class hours × the run's coefficient."""
    return round(hours * run_coefficient(run_number), 2)


def check_online_teacher(caller_id: str, leader_id: str, teacher_id: str, team_ids: set[str]) -> None:
    """Only the leader names the teacher in charge, and only the leader or a teacher on the run's team."""
    if caller_id != leader_id:
        raise PermissionDenied("only the course leader names the teacher in charge of the online teaching")
    if teacher_id != leader_id and teacher_id not in team_ids:
        raise InvalidArgument("the teacher in charge of the online teaching is the leader or a teacher on the "
                              "run's team; add them to the team first", reason="NOT_ON_TEAM")


def _short(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")
