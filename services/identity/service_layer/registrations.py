"""Teacher self-registration, approved by the school's academic affairs office."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.identity.v1 import identity_pb2
from contracts.review.v1 import review_pb2
from servicekit.db import Database
from servicekit.errors import InvalidArgument, NotFound
from servicekit.reviews import ScopeType, request_review
from services.identity.adapters import credentials
from services.identity.adapters.orm import School, User, outbox
from services.identity.domain import rules
from services.identity.domain.rules import UserStatus
from services.identity.service_layer.common import OWNER, refuse_taken

KIND_TEACHER_REGISTRATION = "teacher_registration"


class RegistrationHandlers:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def register_teacher(self, request: identity_pb2.RegisterTeacherRequest) -> User:
        name = rules.require_text(request.name, "name")
        username = request.username.strip()
        rules.validate_username(username)
        phone = request.phone.strip()
        rules.validate_phone(phone)
        rules.validate_email(request.email.strip())
        number = request.staff_number.strip()
        if not rules.NUMBER_PATTERN.match(number):
            raise InvalidArgument("the staff number has 1 to 32 letters, digits, '_' or '-'")
        rules.check_new_password(request.password, username=username, phone=phone)
        password_hash = await credentials.hash_password(request.password)
        async with self.db.transaction() as session:
            school = await session.get(School, request.school_id)
            if school is None:
                raise NotFound("no such school")
            await refuse_taken(session, username=username, phone=phone, school=school, number=number)
            user = User(
                username=username,
                name=name,
                phone=phone,
                email=request.email.strip(),
                role="teacher",
                school_id=school.id,
                number=number,
                status=UserStatus.PENDING,
                password_hash=password_hash,
            )
            session.add(user)
            await session.flush()
            await request_review(
                session,
                outbox,
                owner=OWNER,
                kind=KIND_TEACHER_REGISTRATION,
                subject_id=user.id,
                scope_type=ScopeType.SCHOOL,
                scope_id=school.id,
                title=f"教师注册 teacher registration: {name} ({school.name})",
                snapshot={
                    "name": name,
                    "username": username,
                    "phone": phone,
                    "email": user.email,
                    "staff_number": number,
                    "school": school.name,
                },
                requested_by=user.id,
            )
            return user

    @staticmethod
    async def apply_decision(session: AsyncSession, decided: review_pb2.ReviewDecided) -> None:
        """The school admin's decision activates or rejects the pending teacher."""
        if decided.kind != KIND_TEACHER_REGISTRATION:
            return
        user = await session.get(User, decided.subject_id)
        if user is None or user.status != UserStatus.PENDING:
            return  # decided already, or gone
        approved = decided.decision == "approved"
        user.status = UserStatus.ACTIVE if approved else UserStatus.REJECTED
        user.rejection_reason = "" if approved else decided.reason
