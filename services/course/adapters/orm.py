"""The course service's tables."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from servicekit.clock import utcnow
from servicekit.db import TYPE_ANNOTATION_MAP, new_id
from servicekit.grams import GramIndex, folded, gram_table
from servicekit.outbox import messaging_tables
from servicekit.pinyin import name_key


class Base(DeclarativeBase):
    metadata = MetaData()
    type_annotation_map = {**TYPE_ANNOTATION_MAP, date: Date}


outbox, inbox = messaging_tables(Base.metadata)


class RegistryEntry(Base):
    """A course filed in the MOOC registry (MOOC课程库) for provincial quality status."""

    __tablename__ = "registry_entries"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    school_id: Mapped[str] = mapped_column(String(36), index=True)
    province_code: Mapped[str] = mapped_column(String(6), index=True)
    name: Mapped[str] = mapped_column(String(100))
    leader_id: Mapped[str] = mapped_column(String(36), default="")  # a teacher of the school; "" for old entries
    leader_name: Mapped[str] = mapped_column(String(100))  # identity's name for the leader, for display
    status: Mapped[str] = mapped_column(String(20), default="pending")
    rejection_reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    changes: Mapped[list[RegistryChange]] = relationship(
        order_by="RegistryChange.requested_at", lazy="selectin", cascade="all, delete-orphan"
    )


class RegistryChange(Base):
    """A change request for a registered course's name or leader; kept as the entry's history."""

    __tablename__ = "registry_changes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    entry_id: Mapped[str] = mapped_column(ForeignKey("registry_entries.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    leader_id: Mapped[str] = mapped_column(String(36), default="")
    leader_name: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    requested_by: Mapped[str] = mapped_column(String(36))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]


class Category(Base):
    """A course category of a province's list, which its provincial center maintains; retired ones stay for the
    courses that have them."""

    __tablename__ = "categories"
    __table_args__ = (UniqueConstraint("province_code", "name", name="uq_categories_province_name"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    province_code: Mapped[str] = mapped_column(String(6), index=True)
    name: Mapped[str] = mapped_column(String(50))
    position: Mapped[int] = mapped_column(Integer)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Term(Base):
    """The provincial center's term calendar."""

    __tablename__ = "terms"
    province_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    starts_on: Mapped[date]
    ends_on: Mapped[date]


class Course(Base):
    """A parent course (母课)."""

    __tablename__ = "courses"
    __table_args__ = (Index("ix_courses_school_kind", "school_id", "kind"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    school_id: Mapped[str] = mapped_column(String(36))
    province_code: Mapped[str] = mapped_column(String(6))
    kind: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(100))
    name_pinyin: Mapped[str] = mapped_column(Text, default="")  # the name's pinyin and initials, set with it
    category: Mapped[str] = mapped_column(String(50))
    leader_id: Mapped[str] = mapped_column(String(36), index=True)
    leader_name: Mapped[str] = mapped_column(String(100))
    registry_entry_id: Mapped[str] = mapped_column(String(36), default="")
    source_run_id: Mapped[str] = mapped_column(String(36), default="")
    cover_asset_id: Mapped[str] = mapped_column(String(36), default="")
    online_credits: Mapped[float] = mapped_column(Float, default=0.0)
    total_credits: Mapped[float] = mapped_column(Float, default=0.0)
    class_hours: Mapped[float] = mapped_column(Float, default=0.0)  # 学时, where the policy counts them
    overview_json: Mapped[str] = mapped_column(Text)
    # Stopped from opening new runs by its school (student evaluation below good, seed 002 四(七)) until lifted.
    stopped_at: Mapped[datetime | None] = mapped_column(default=None)
    stop_reason: Mapped[str] = mapped_column(Text, default="")
    stopped_by: Mapped[str] = mapped_column(String(36), default="")
    # The title its course-building project earned at the completion acceptance (校级在线开放课程), and its loss.
    title: Mapped[str] = mapped_column(String(50), default="", server_default="")
    titled_at: Mapped[datetime | None] = mapped_column(default=None)
    title_revoked_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @validates("name")
    def _keep_pinyin(self, _key: str, name: str) -> str:
        self.name_pinyin = name_key(name)  # every write of the name, wherever it happens
        return name


class Material(Base):
    """A media asset the course (run_id empty) or one of its runs uses; references, not copies."""

    __tablename__ = "materials"
    __table_args__ = (UniqueConstraint("course_id", "run_id", "asset_id", name="uq_materials_asset"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    course_id: Mapped[str] = mapped_column(ForeignKey("courses.id"), index=True)
    run_id: Mapped[str] = mapped_column(String(36), default="")
    asset_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(255))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class PlanNode(Base):
    """A teaching plan node of a course (run_id empty) or of a run's own copy."""

    __tablename__ = "plan_nodes"
    __table_args__ = (Index("ix_plan_nodes_owner", "course_id", "run_id"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    course_id: Mapped[str] = mapped_column(ForeignKey("courses.id"))
    run_id: Mapped[str] = mapped_column(String(36), default="")
    parent_id: Mapped[str | None] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer)
    resource_id: Mapped[str | None] = mapped_column(String(36), index=True)
    resource_kind: Mapped[str] = mapped_column(String(30), default="")
    resource_minutes: Mapped[float] = mapped_column(Float, default=0.0)
    resource_usable: Mapped[bool] = mapped_column(Boolean, default=False)  # ready and approved, as media says
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class Run(Base):
    """One term's offering of a course (子课), with its own copy of info and plan."""

    __tablename__ = "runs"
    __table_args__ = (UniqueConstraint("course_id", "number", name="uq_runs_course_number"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    course_id: Mapped[str] = mapped_column(ForeignKey("courses.id"), index=True)
    school_id: Mapped[str] = mapped_column(String(36), index=True)
    number: Mapped[int] = mapped_column(Integer)
    term_code: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20), default="draft")
    reason: Mapped[str] = mapped_column(Text, default="")
    name: Mapped[str] = mapped_column(String(100))
    overview_json: Mapped[str] = mapped_column(Text)
    online_credits: Mapped[float] = mapped_column(Float, default=0.0)
    total_credits: Mapped[float] = mapped_column(Float, default=0.0)
    class_hours: Mapped[float] = mapped_column(Float, default=0.0)
    copied_from_run_id: Mapped[str] = mapped_column(String(36), default="")
    # The teacher the leader named in charge of the online teaching (seed 004 四(三)4); "": the leader.
    online_teacher_id: Mapped[str] = mapped_column(String(36), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CourseClass(Base):
    __tablename__ = "classes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    is_public: Mapped[bool] = mapped_column(Boolean, default=False)
    school_id: Mapped[str] = mapped_column(String(36))
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MoocApplication(Base):
    """An independent SPOC's application to become a MOOC."""

    __tablename__ = "mooc_applications"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    course_id: Mapped[str] = mapped_column(ForeignKey("courses.id"), index=True)
    school_id: Mapped[str] = mapped_column(String(36), index=True)
    approved_video_minutes: Mapped[float] = mapped_column(Float)
    run_count: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    reason: Mapped[str] = mapped_column(Text, default="")
    submitted_by: Mapped[str] = mapped_column(String(36))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]


class RunMember(Base):
    """A teacher on a run's team (a tutor teacher of another school included), with permissions."""

    __tablename__ = "run_members"
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    school_id: Mapped[str] = mapped_column(String(36))
    school_name: Mapped[str] = mapped_column(String(100))
    permissions_json: Mapped[str] = mapped_column(Text, default="[]")
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class ClassStudent(Base):
    """A student in a class; with the student's own school and its province (a public class takes students of any
    school, and public learners of none: ""), whose policy sets how many courses they take at once."""

    __tablename__ = "class_students"
    class_id: Mapped[str] = mapped_column(ForeignKey("classes.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)
    number: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    school_id: Mapped[str] = mapped_column(String(36), default="")
    province_code: Mapped[str] = mapped_column(String(6), default="")
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChapterRelease(Base):
    """When a chapter opens to a class."""

    __tablename__ = "chapter_releases"
    class_id: Mapped[str] = mapped_column(ForeignKey("classes.id"), primary_key=True)
    chapter_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    release_at: Mapped[datetime]


class PolicyVersion(Base):
    """One version of a province's or a school's policy layer: the numbers it sets (JSON, null = not counted),
    effective from a term of the province's calendar ("" = from the start). Versions are never changed."""

    __tablename__ = "policy_versions"
    __table_args__ = (UniqueConstraint("level", "scope_id", "version", name="uq_policy_versions_layer_version"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    level: Mapped[str] = mapped_column(String(10))        # province, school
    scope_id: Mapped[str] = mapped_column(String(36))     # the province code, the school id
    province_code: Mapped[str] = mapped_column(String(6), index=True)  # whose term calendar
    version: Mapped[int] = mapped_column(Integer)
    values_json: Mapped[str] = mapped_column(Text)
    effective_from_term: Mapped[str] = mapped_column(String(20), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SchoolReport(Base):
    """A school's yearly report (update ratio, courses' use), once its academic affairs office published it."""

    __tablename__ = "school_reports"
    school_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    school_year: Mapped[int] = mapped_column(Integer, primary_key=True)  # 2026: 2026-09-01 .. 2027-08-31
    province_code: Mapped[str] = mapped_column(String(6), index=True)
    published_at: Mapped[datetime]
    published_by: Mapped[str] = mapped_column(String(36))


class Project(Base):
    """A course-building project (在线开放课程立项建设, seed 004 四): its form, where it stands, its money."""

    __tablename__ = "projects"
    __table_args__ = (Index("ix_projects_school_state", "school_id", "state"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    school_id: Mapped[str] = mapped_column(String(36))
    province_code: Mapped[str] = mapped_column(String(6))
    college_id: Mapped[str] = mapped_column(String(36), index=True)
    college_name: Mapped[str] = mapped_column(String(100), default="")
    course_id: Mapped[str] = mapped_column(ForeignKey("courses.id"), index=True)
    leader_id: Mapped[str] = mapped_column(String(36), index=True)
    leader_name: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(20))
    form_json: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text, default="")
    applied_at: Mapped[datetime]
    approved_at: Mapped[datetime | None] = mapped_column(default=None)
    build_deadline: Mapped[datetime | None] = mapped_column(default=None)
    period_end: Mapped[datetime | None] = mapped_column(default=None)
    rectify_by: Mapped[datetime | None] = mapped_column(default=None)
    terminated_at: Mapped[datetime | None] = mapped_column(default=None)
    accepted_at: Mapped[datetime | None] = mapped_column(default=None)
    prelaunch_failures: Mapped[int] = mapped_column(Integer, default=0)
    runs_since_check: Mapped[int] = mapped_column(Integer, default=0)
    application_score: Mapped[float] = mapped_column(Float, default=0.0)
    acceptance_score: Mapped[float] = mapped_column(Float, default=0.0)
    budget: Mapped[float] = mapped_column(Float, default=0.0)
    tranches: Mapped[list[ProjectTranche]] = relationship(order_by="ProjectTranche.position", lazy="selectin",
                                                          cascade="all, delete-orphan")
    spendings: Mapped[list[ProjectSpending]] = relationship(order_by="ProjectSpending.at", lazy="selectin",
                                                            cascade="all, delete-orphan")
    history: Mapped[list[ProjectEvent]] = relationship(order_by="ProjectEvent.at", lazy="selectin",
                                                       cascade="all, delete-orphan")


class ProjectTranche(Base):
    """One tranche of a project's funding (seed 004 四(三)3), released when its milestone is reached."""

    __tablename__ = "project_tranches"
    __table_args__ = (UniqueConstraint("project_id", "milestone", name="uq_project_tranches_milestone"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    milestone: Mapped[str] = mapped_column(String(20))
    amount: Mapped[float] = mapped_column(Float)
    released_at: Mapped[datetime | None] = mapped_column(default=None)


class ProjectSpending(Base):
    """Money spent from a project's released funds, by category; never changed."""

    __tablename__ = "project_spendings"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    category: Mapped[str] = mapped_column(String(30))
    amount: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(36))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ProjectEvent(Base):
    """What happened to a project, who did it and why; the review service keeps the panels' every score."""

    __tablename__ = "project_events"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    action: Mapped[str] = mapped_column(String(30))
    actor_id: Mapped[str] = mapped_column(String(36), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    panel_mean: Mapped[float] = mapped_column(Float, default=0.0)
    panel_conclusion: Mapped[str] = mapped_column(String(10), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class LeaderBar(Base):
    """A leader barred from course-building applications until a day (seed 004 四(二)3)."""

    __tablename__ = "leader_bars"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    leader_id: Mapped[str] = mapped_column(String(36), index=True)
    school_id: Mapped[str] = mapped_column(String(36))
    project_id: Mapped[str] = mapped_column(String(36))
    until: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text, default="")


# The course and registry searches' gram indexes (servicekit.grams), each in one scope and unranked: a search takes
# the candidates' ids and keeps its own order. Courses: the folded name (field 0) and its pinyin (field 1);
# registry entries: the folded name (0) and leader's name (1).
COURSES_SCOPE, REGISTRY_SCOPE = "courses", "registry"
course_grams = gram_table(Base.metadata, "course_grams", rank_length=1)
COURSE_GRAMS = GramIndex(course_grams, None, Course, scope_of=lambda _course: COURSES_SCOPE,
                         rank_of=lambda _course: "",
                         texts_of=lambda course: (folded(course.name), course.name_pinyin)).watch()
registry_grams = gram_table(Base.metadata, "registry_grams", rank_length=1)
REGISTRY_GRAMS = GramIndex(registry_grams, None, RegistryEntry,
                           scope_of=lambda _entry: REGISTRY_SCOPE, rank_of=lambda _entry: "",
                           texts_of=lambda entry: (folded(entry.name), folded(entry.leader_name))).watch()
