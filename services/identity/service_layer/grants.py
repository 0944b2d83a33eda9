"""Roster grants: which other school's students a course leader may look up, for which run, and the lookup."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.sharing.v1 import sharing_pb2
from servicekit.auth import Caller
from servicekit.clock import utcnow
from servicekit.consumer import EventMeta
from servicekit.db import Database
from servicekit.errors import InvalidArgument, PermissionDenied
from services.identity.adapters.orm import RosterGrant, User


class GrantHandlers:
    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock

    async def grant_roster(self, session: AsyncSession, accepted: sharing_pb2.AdoptionAccepted,
                           meta: EventMeta) -> None:
        if accepted.tutor_id:
            return  # the adopting school's tutor teaches its students
        key = (accepted.leader_id, accepted.adopting_school_id, accepted.run_id)
        if await session.get(RosterGrant, key) is None:
            session.add(RosterGrant(leader_id=accepted.leader_id, school_id=accepted.adopting_school_id,
                                    run_id=accepted.run_id, adoption_id=accepted.adoption_id,
                                    granted_at=self.clock()))

    async def resolve_students(
        self, caller: Caller, school_id: str, numbers: list[str], run_id: str = ""
    ) -> tuple[list[User], list[str]]:
        """A school's student accounts by student number; the numbers nobody has come back too. Another
        school's students only for the run of the caller's grant (its adoption of that run)."""
        if caller.role not in ("teacher", "school_admin"):
            raise PermissionDenied("teachers and admins look up students")
        if caller.school_id != school_id:
            async with self.db.read() as session:
                granted = await session.get(RosterGrant, (caller.user_id, school_id, run_id)) if run_id else None
            if granted is None:
                raise PermissionDenied("teachers look up their own school's students (or, for an adopted run, "
                                       "the adopting school's, once its adoption without a tutor was accepted)")
        wanted = list(dict.fromkeys(n.strip() for n in numbers if n.strip()))
        if len(wanted) > 5000:
            raise InvalidArgument("look up at most 5000 numbers at once")
        found: dict[str, User] = {}
        async with self.db.read() as session:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start:start + 500]
                for user in await session.scalars(select(User).where(
                        User.school_id == school_id, User.role == "student", User.number.in_(chunk))):
                    found[user.number or ""] = user
        return [found[n] for n in wanted if n in found], [n for n in wanted if n not in found]

