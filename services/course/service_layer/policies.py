"""Policy layers: the provincial center edits its province's, the school admin its school's; every edit is a new
version effective from a term of the province's calendar; the course service and others read the policy in force."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from servicekit.auth import Caller
from servicekit.clock import utcnow
from servicekit.db import Database
from servicekit.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from servicekit.service_keys import SERVICE_ROLE
from services.course.adapters.orm import PolicyVersion, Term
from services.course.domain import policy as rules

# The province of a school (the identity service's word); NotFound for an unknown school.
SchoolProvince = Callable[[str], Awaitable[str]]

EDITABLE_LEVELS = (rules.PROVINCE, rules.SCHOOL)
# Services that read any school's policy in force with their own credential (servicekit.service_keys), where no
# user is behind the call: the media service checks a video against its school's spec; the learning service reads
# the pass mark and the video completion slack.
POLICY_READING_SERVICES = ("media", "learning")


@dataclass(frozen=True)
class Resolved:
    policy: rules.EffectivePolicy
    school_id: str
    province_code: str
    term_code: str  # the term it was resolved for ("" when today falls in no term)
    on: date


class PolicyHandlers:
    def __init__(self, db: Database, school_province: SchoolProvince,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.school_province = school_province
        self.clock = clock

    # ---- resolution (also used by the course handlers, inside their transaction) ----------------

    async def resolve(self, session: AsyncSession, school_id: str, province_code: str,
                      term_code: str = "") -> Resolved:
        """The policy in force for a school in a term (its first day), or today when no term is named."""
        terms = {t.code: t for t in await session.scalars(select(Term).where(Term.province_code == province_code))}
        if term_code:
            term = terms.get(term_code)
            if term is None:
                raise InvalidArgument(f"{term_code} is not in the provincial center's term calendar",
                                      reason="UNKNOWN_TERM")
            on = term.starts_on
        else:
            on = self.clock().date()
            term_code = next((t.code for t in terms.values() if t.starts_on <= on <= t.ends_on), "")
        policy = await self._policy_on(session, school_id, province_code, on, terms)
        return Resolved(policy, school_id, province_code, term_code, on)

    async def resolve_on(self, session: AsyncSession, school_id: str, province_code: str,
                         on: date) -> rules.EffectivePolicy:
        """The policy in force for a school on a day: another province's run's term is not in the school's
        calendar, its first day is (a school's student on an adopted run). No school: the province's layer and
        the platform defaults."""
        terms = {t.code: t for t in await session.scalars(select(Term).where(Term.province_code == province_code))}
        return await self._policy_on(session, school_id, province_code, on, terms)

    async def _policy_on(self, session: AsyncSession, school_id: str, province_code: str, on: date,
                         terms: dict[str, Term]) -> rules.EffectivePolicy:
        rows = list(await session.scalars(select(PolicyVersion).where(or_(
            (PolicyVersion.level == rules.PROVINCE) & (PolicyVersion.scope_id == province_code),
            (PolicyVersion.level == rules.SCHOOL) & (PolicyVersion.scope_id == school_id)))))
        versions = [self._layer_version(row, terms) for row in rows
                    if row.level == rules.PROVINCE or school_id]
        return rules.resolve([v for v in versions if v.level == rules.PROVINCE],
                             [v for v in versions if v.level == rules.SCHOOL], on)

    @staticmethod
    def _layer_version(row: PolicyVersion, terms: dict[str, Term]) -> rules.LayerVersion:
        term = terms.get(row.effective_from_term)
        start = term.starts_on if term else (None if not row.effective_from_term else date.max)
        return rules.LayerVersion(row.level, row.scope_id, row.version, json.loads(row.values_json),
                                  row.effective_from_term, start)

    # ---- who sees and edits what --------------------------------------------------------------

    async def _province_of(self, caller: Caller, school_id: str) -> str:
        if not school_id:
            raise InvalidArgument("name the school (school_id)")
        if caller.school_id == school_id and caller.province_code:
            return caller.province_code
        return await self.school_province(school_id)

    async def _may_read_school(self, caller: Caller, school_id: str) -> str:
        """A school's policy: its own users, its province's center, platform admins, and the services granted
        the read (the media service). Returns its province."""
        if caller.role == SERVICE_ROLE:
            if caller.name not in POLICY_READING_SERVICES:
                raise PermissionDenied(f"the {caller.name} service does not read schools' policies")
            return await self._province_of(caller, school_id)
        if caller.role == "platform_admin" or caller.school_id == school_id:
            return await self._province_of(caller, school_id)
        if caller.role == "center_admin":
            province = await self._province_of(caller, school_id)
            if province == caller.province_code:
                return province
            raise PermissionDenied("a provincial center reads the policies of its own province's schools")
        raise PermissionDenied("a school's policy is read by its own users, its province's center and the platform")

    @staticmethod
    def _may_read_province(caller: Caller, province_code: str) -> None:
        if caller.role == "platform_admin":
            return
        if caller.role in ("center_admin", "school_admin") and caller.province_code == province_code:
            return
        raise PermissionDenied("a province's policy layer is read by its center, its schools' admins and the platform")

    # ---- queries --------------------------------------------------------------------------------

    async def effective(self, caller: Caller, school_id: str, term_code: str) -> Resolved:
        province = await self._may_read_school(caller, school_id)
        async with self.db.transaction() as session:
            return await self.resolve(session, school_id, province, term_code)

    async def layer(self, caller: Caller, level: str, scope_id: str) -> tuple[list[PolicyVersion], int]:
        """Every version of a layer, newest first, and the version in force today (0: none)."""
        self._check_level(level)
        if level == rules.PROVINCE:
            self._may_read_province(caller, scope_id)
            province = scope_id
        else:
            caller_school = caller.school_id == scope_id and caller.role == "school_admin"
            if not caller_school and caller.role not in ("center_admin", "platform_admin"):
                raise PermissionDenied("a school's policy layer is read by its admin, its center and the platform")
            province = await self._may_read_school(caller, scope_id)
        async with self.db.transaction() as session:
            rows = list(await session.scalars(select(PolicyVersion).where(
                PolicyVersion.level == level, PolicyVersion.scope_id == scope_id
            ).order_by(PolicyVersion.version.desc())))
            terms = {t.code: t for t in await session.scalars(select(Term).where(Term.province_code == province))}
        current = rules.in_force([self._layer_version(r, terms) for r in rows], self.clock().date())
        return rows, current.version if current else 0

    # ---- edits ----------------------------------------------------------------------------------

    @staticmethod
    def _check_level(level: str) -> None:
        if level not in EDITABLE_LEVELS:
            raise InvalidArgument(f"a policy layer is {' or '.join(EDITABLE_LEVELS)} (the platform defaults are "
                                  "fixed)", reason="UNKNOWN_POLICY_LAYER")

    async def put_layer(self, caller: Caller, level: str, scope_id: str, values: dict[str, rules.Value],
                        effective_from_term: str, note: str) -> PolicyVersion:
        """A new version of the layer (the old ones stay), effective from a term that is not over."""
        self._check_level(level)
        if level == rules.PROVINCE:
            caller.require_role("center_admin")
            if caller.province_code != scope_id:
                raise PermissionDenied("a provincial center edits only its own province's policy")
            province, school_id = scope_id, ""
        else:
            caller.require_school_admin_of(scope_id)
            province, school_id = caller.province_code or "", scope_id
        checked = rules.check_values(values)
        if not effective_from_term:
            raise InvalidArgument("a policy version is effective from a term (effective_from_term)",
                                  reason="UNKNOWN_TERM")
        if len(note) > 2000:
            raise InvalidArgument("a note has at most 2000 characters")
        async with self.db.transaction() as session:
            term = await session.get(Term, (province, effective_from_term))
            if term is None:
                raise InvalidArgument(f"{effective_from_term} is not in the provincial center's term calendar",
                                      reason="UNKNOWN_TERM")
            if term.ends_on < self.clock().date():
                raise FailedPrecondition(f"the term {effective_from_term} is over; a policy applies from now on",
                                         reason="TERM_OVER")
            latest = await session.scalar(select(func.max(PolicyVersion.version)).where(
                PolicyVersion.level == level, PolicyVersion.scope_id == scope_id)) or 0
            row = PolicyVersion(level=level, scope_id=scope_id, province_code=province, version=latest + 1,
                                values_json=json.dumps(checked), effective_from_term=effective_from_term,
                                note=note.strip(), created_by=caller.user_id, created_at=self.clock())
            session.add(row)
            try:
                await session.flush()
            except IntegrityError as error:  # the same version number, filed by a concurrent edit
                raise FailedPrecondition(f"another edit of this {level} layer was filed at the same time; "
                                         "read it and try again", reason="CONCURRENT_POLICY_EDIT") from error
            # The policy this version puts in force must hold together (for a school: with its province's).
            resolved = await self.resolve(session, school_id, province, effective_from_term)
            rules.check_consistent(resolved.policy)
            return row


def version_numbers(row: PolicyVersion) -> dict[str, rules.Value]:
    return json.loads(row.values_json)

