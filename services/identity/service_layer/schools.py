"""Provinces, schools, and out-of-province schools' applications to join (with their first admin)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.identity.v1 import identity_pb2
from contracts.review.v1 import review_pb2
from servicekit.auth import Caller
from servicekit.clock import utcnow
from servicekit.db import Database
from servicekit.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from servicekit.grams import fetch_search_page, folded
from servicekit.pinyin import matches_any as pinyin_matches
from servicekit.pinyin import pinyin_query
from servicekit.reviews import ScopeType, request_review
from servicekit.search import contains
from services.identity.adapters import credentials
from services.identity.adapters.orm import (
    SCHOOL_GRAMS,
    SCHOOLS_SCOPE,
    Province,
    School,
    SchoolApplication,
    User,
    outbox,
)
from services.identity.adapters.sheets import SheetRow
from services.identity.domain import rules
from services.identity.domain.rules import ApplicationStatus
from services.identity.service_layer.common import (
    OWNER,
    IdentityConfig,
    Issued,
    Page,
    announce_school,
    load_user,
    read_page,
)
from services.identity.service_layer.handover import SheetTicket, issue_sheet, queue_mail

KIND_SCHOOL_APPLICATION = "school_application"


class SchoolHandlers:
    def __init__(self, db: Database, config: IdentityConfig, mail_enabled: bool = False,
                 mail_written: Callable[[], None] = lambda: None, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.config = config
        self.mail_enabled = mail_enabled  # without a mail server nothing is queued (no password waits unsent)
        self.mail_written = mail_written  # wakes the mail relay
        self.clock = clock

    async def list_provinces(self) -> list[Province]:
        async with self.db.read() as session:
            return list(await session.scalars(select(Province).order_by(Province.code)))

    async def list_schools(self, province_code: str, query: str, page_size: int, page_token: str) -> Page:
        statement = select(School)
        if province_code:
            statement = statement.where(School.province_code == province_code)
        text = query.strip()
        if not text:
            return await read_page(self.db, statement.order_by(School.code), page_size, page_token)
        # The gram index gives the candidates (servicekit.grams), the LIKE as before verifies them.
        statement = statement.where(or_(contains(School.name, text), contains(School.code, text),
                                        *pinyin_matches(School.name_pinyin, text))).order_by(School.code)
        async with self.db.read() as session:
            candidates = await SCHOOL_GRAMS.candidates(session, SCHOOLS_SCOPE, {
                0: folded(text), 1: folded(text), 2: pinyin_query(text)})
            return Page(*await fetch_search_page(session, statement, School.id, candidates, page_size, page_token))

    async def create_school(self, caller: Caller, code: str, name: str, province_code: str) -> School:
        caller.require_role("platform_admin", "center_admin")
        code = code.strip().upper()
        if not rules.SCHOOL_CODE_PATTERN.match(code):
            raise InvalidArgument("a school code has 2 to 20 letters or digits")
        name = rules.require_text(name, "name")
        province_code = province_code or self.config.host_province
        if caller.role == "center_admin" and province_code != caller.province_code:
            raise PermissionDenied("the provincial center creates schools of its own province only")
        async with self.db.transaction() as session:
            if await session.get(Province, province_code) is None:
                raise InvalidArgument(f"unknown province code {province_code}")
            if await session.scalar(select(School.id).where(or_(School.code == code, School.name == name))):
                raise AlreadyExists(f"a school with the code {code} or the name {name} exists")
            school = School(
                code=code,
                name=name,
                province_code=province_code,
                host_province=province_code == self.config.host_province,
            )
            session.add(school)
            await session.flush()
            await announce_school(session, school)
            return school

    async def get_school(self, school_id: str) -> School:
        async with self.db.read() as session:
            school = await session.get(School, school_id)
        if school is None:
            raise NotFound("no such school")
        return school

    async def submit_school_application(
        self, request: identity_pb2.SubmitSchoolApplicationRequest
    ) -> SchoolApplication:
        school_name = rules.require_text(request.school_name, "school_name")
        contact = rules.require_text(request.contact_name, "contact_name")
        reason = rules.require_text(request.reason, "reason", max_length=2000)
        phone = request.phone.strip()
        rules.validate_phone(phone)
        email = rules.require_text(request.email, "email", max_length=200)
        rules.validate_email(email)
        if request.province_code == self.config.host_province:
            raise InvalidArgument(
                "schools of the host province are set up by the provincial center, not by application"
            )
        now = self.clock()
        async with self.db.transaction() as session:
            province = await session.get(Province, request.province_code)
            if province is None:
                raise InvalidArgument(f"unknown province code '{request.province_code}'")
            if await session.scalar(select(School.id).where(School.name == school_name)):
                raise AlreadyExists(f"{school_name} is already on the platform")
            if await session.scalar(
                select(SchoolApplication.id).where(
                    SchoolApplication.school_name == school_name,
                    SchoolApplication.status == ApplicationStatus.PENDING,
                )
            ):
                raise AlreadyExists(f"an application for {school_name} is already waiting for an answer")
            application = SchoolApplication(
                school_name=school_name,
                province_code=province.code,
                contact_name=contact,
                phone=phone,
                email=email,
                reason=reason,
                status=ApplicationStatus.PENDING,
                submitted_at=now,
                answer_due_at=rules.answer_due(now),
            )
            session.add(application)
            await session.flush()
            await request_review(
                session,
                outbox,
                owner=OWNER,
                kind=KIND_SCHOOL_APPLICATION,
                subject_id=application.id,
                scope_type=ScopeType.PLATFORM,
                scope_id="",
                title=f"外省院校申请 school application: {school_name} ({province.name})",
                snapshot={
                    "school_name": school_name,
                    "province": province.name,
                    "contact_name": contact,
                    "phone": phone,
                    "email": email,
                    "reason": reason,
                    "answer_due_at": application.answer_due_at.isoformat(),
                },
                requested_by="",
            )
            return application

    def is_overdue(self, application: SchoolApplication) -> bool:
        return application.status == ApplicationStatus.PENDING and application.answer_due_at < self.clock()

    async def list_school_applications(
        self, caller: Caller, status: str, overdue_only: bool, page_size: int, page_token: str
    ) -> Page:
        caller.require_role("platform_admin")
        statement = select(SchoolApplication)
        if status:
            statement = statement.where(SchoolApplication.status == status)
        if overdue_only:
            statement = statement.where(
                SchoolApplication.status == ApplicationStatus.PENDING,
                SchoolApplication.answer_due_at < self.clock(),
            )
        return await read_page(self.db, statement.order_by(SchoolApplication.submitted_at), page_size, page_token)

    async def get_school_application(self, caller: Caller, application_id: str) -> SchoolApplication:
        caller.require_role("platform_admin")
        async with self.db.transaction() as session:
            application = await session.get(SchoolApplication, application_id)
        if application is None:
            raise NotFound("no such application")
        return application

    async def issue_school_admin_credentials(self, caller: Caller, application_id: str) -> tuple[Issued, SheetTicket]:
        """A new one-time password for the first admin, while that admin has never signed in: mailed to the
        application's address again, and on a credentials sheet for the platform admin."""
        caller.require_role("platform_admin")
        async with self.db.transaction() as session:
            application = await session.get(SchoolApplication, application_id)
            if application is None:
                raise NotFound("no such application")
            if application.status != ApplicationStatus.APPROVED or not application.admin_user_id:
                raise FailedPrecondition(f"the application is {application.status}, not approved")
            admin = await load_user(session, application.admin_user_id)
            if admin.password_hash:
                raise FailedPrecondition("the school's admin has already set a password")
            secret = credentials.new_one_time_secret()
            admin.initial_secret_hash = credentials.digest(secret)
            admin.must_change_password = True
            now = self.clock()
            self._mail_first_admin(session, application, admin, secret, now)
            ticket = await issue_sheet(session, caller.user_id, [SheetRow(admin.username, admin.name, "", secret)], now)
        self.mail_written()
        return Issued(admin.id, admin.username, secret), ticket

    def _mail_first_admin(self, session: AsyncSession, application: SchoolApplication, admin: User, secret: str,
                          now: datetime) -> None:
        """Seed 000 §4.3: the platform mails the admin account to the applicant's address."""
        if not self.mail_enabled:
            return  # the platform admin hands it over with a credentials sheet (issue_school_admin_credentials)
        queue_mail(session, application.email, f"学校管理员账号 Your school admin account: {application.school_name}", (
            f"{application.contact_name}，您好：\n\n{application.school_name} 加入平台的申请已通过。"
            f"学校管理员账号如下，首次登录须修改密码：\n\n"
            f"  登录地址 Sign in at: {self.config.public_url}\n"
            f"  用户名 Username: {admin.username}\n"
            f"  一次性密码 One-time password: {secret}\n\n"
            f"The application of {application.school_name} was approved. Sign in with the account above and choose "
            f"your own password; then create your teachers' and students' accounts.\n"), now)

    async def apply_decision(self, session: AsyncSession, decided: review_pb2.ReviewDecided) -> None:
        """The platform's answer to an application: approval onboards the school and its first admin."""
        if decided.kind != KIND_SCHOOL_APPLICATION:
            return
        approved = decided.decision == "approved"
        application = await session.get(SchoolApplication, decided.subject_id)
        if application is None or application.status != ApplicationStatus.PENDING:
            return
        application.decided_at = decided.decided_at.ToDatetime(tzinfo=UTC)
        application.decided_by = decided.decided_by
        if approved and await session.scalar(select(School.id).where(School.name == application.school_name)):
            approved = False
            decided_reason = "a school of this name joined the platform meanwhile"
        else:
            decided_reason = decided.reason
        if not approved:
            application.status = ApplicationStatus.REJECTED
            application.rejection_reason = decided_reason
            return
        await self._onboard_school(session, application)

    async def _onboard_school(self, session: AsyncSession, application: SchoolApplication) -> None:
        count = await session.scalar(
            select(func.count()).select_from(School).where(School.province_code == application.province_code)
        )
        code = f"P{application.province_code}{(count or 0) + 1:04d}"
        while await session.scalar(select(School.id).where(School.code == code)):
            code += "X"
        school = School(
            code=code,
            name=application.school_name,
            province_code=application.province_code,
            host_province=False,
        )
        session.add(school)
        await session.flush()
        phone_free = not await session.scalar(select(User.id).where(User.phone == application.phone))
        admin = User(
            username=f"{code.lower()}-admin",
            name=application.contact_name,
            phone=application.phone if phone_free else None,
            email=application.email,
            role="school_admin",
            school_id=school.id,
            province_code=school.province_code,
            must_change_password=True,
        )
        secret = credentials.new_one_time_secret()
        admin.initial_secret_hash = credentials.digest(secret)
        session.add(admin)
        await session.flush()
        self._mail_first_admin(session, application, admin, secret, self.clock())
        self.mail_written()
        application.status = ApplicationStatus.APPROVED
        application.school_id = school.id
        application.admin_user_id = admin.id
        await announce_school(session, school)

