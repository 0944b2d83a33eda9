"""Identity use cases: one method per command or event. No gRPC in here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.identity.v1 import identity_pb2
from contracts.review.v1 import review_pb2
from contracts.sharing.v1 import sharing_pb2
from servicekit.auth import Caller
from servicekit.clock import utcnow
from servicekit.consumer import EventMeta
from servicekit.db import Database, new_id
from servicekit.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from servicekit.outbox import emit
from servicekit.pagination import fetch_page
from servicekit.reviews import ScopeType, request_review
from servicekit.spreadsheets import read_rows
from services.identity.adapters import credentials
from services.identity.adapters.orm import (
    Province,
    RefreshToken,
    RosterGrant,
    School,
    SchoolApplication,
    User,
    outbox,
)
from services.identity.adapters.signing import TokenSigner
from services.identity.domain import rules
from services.identity.domain.importing import AccountRow, RowProblem, validate_rows
from services.identity.domain.rules import ApplicationStatus, UserStatus

OWNER = "identity"
KIND_TEACHER_REGISTRATION = "teacher_registration"
KIND_SCHOOL_APPLICATION = "school_application"
WRONG_CREDENTIALS = "wrong username, phone number or password"


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    must_change_password: bool


@dataclass(frozen=True)
class Issued:
    """Credentials made by the platform: shown once, never stored in clear."""

    user_id: str
    username: str
    initial_password: str


@dataclass
class ImportOutcome:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    imported: bool = False
    problems: list[RowProblem] = field(default_factory=list)
    credentials: list[tuple[int, Issued]] = field(default_factory=list)
    accounts: list[tuple[int, str, str]] = field(default_factory=list)  # line, number, user id


@dataclass(frozen=True)
class Page:
    items: list
    next_page_token: str
    total: int


@dataclass(frozen=True)
class IdentityConfig:
    host_province: str
    access_token_ttl: timedelta = timedelta(minutes=15)
    refresh_token_ttl: timedelta = timedelta(days=14)


class IdentityHandlers:
    def __init__(
        self,
        db: Database,
        signer: TokenSigner,
        config: IdentityConfig,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.signer = signer
        self.config = config
        self.clock = clock

    # ---- signing in -------------------------------------------------------------------

    async def login(self, login: str, password: str) -> TokenPair:
        login = login.strip()
        if not login or not password:
            raise InvalidArgument("give a username or phone number, and a password")
        async with self.db.transaction() as session:
            column = User.phone if rules.PHONE_PATTERN.match(login) else User.username
            user = await session.scalar(select(User).where(column == login))
        if user is None:
            await credentials.waste_a_verification(password)  # as slow as a real check
            raise Unauthenticated(WRONG_CREDENTIALS)
        now = self.clock()
        attempt = rules.LoginAttempt(user.failed_attempts, user.locked_until)
        if rules.is_locked(attempt, now):
            raise PermissionDenied(
                f"too many failed sign-ins: the account is locked until "
                f"{user.locked_until:%Y-%m-%d %H:%M} UTC",
                reason="ACCOUNT_LOCKED",
            )
        if user.password_hash:
            correct = await credentials.verify_password(user.password_hash, password)
        else:
            correct = bool(user.initial_secret_hash) and credentials.matches_digest(
                password, user.initial_secret_hash or ""
            )
        async with self.db.transaction() as session:
            user = await session.get(User, user.id, with_for_update=True)
            assert user is not None
            if not correct:
                after = rules.after_failed_login(
                    rules.LoginAttempt(user.failed_attempts, user.locked_until), now
                )
                user.failed_attempts, user.locked_until = after.failed_attempts, after.locked_until
        if not correct:
            raise Unauthenticated(WRONG_CREDENTIALS)
        async with self.db.transaction() as session:
            user = await session.get(User, user.id)
            assert user is not None
            self._require_active(user)
            user.failed_attempts, user.locked_until = 0, None
            return await self._issue_tokens(session, user, family_id=new_id())

    @staticmethod
    def _require_active(user: User) -> None:
        if user.status == UserStatus.PENDING:
            raise FailedPrecondition(
                "your registration is waiting for your school's academic affairs office to approve it",
                reason="REGISTRATION_PENDING",
            )
        if user.status == UserStatus.REJECTED:
            raise FailedPrecondition(
                f"your registration was rejected: {user.rejection_reason}", reason="REGISTRATION_REJECTED"
            )

    async def _issue_tokens(self, session: AsyncSession, user: User, family_id: str) -> TokenPair:
        now = self.clock()
        province = user.province_code
        if user.school_id and not province:
            province = await session.scalar(
                select(School.province_code).where(School.id == user.school_id)
            )
        claims = {
            "sub": user.id,
            "role": user.role,
            "school": user.school_id or "",
            "province": province or "",
            "name": user.name,
            "mcp": user.must_change_password,
        }
        access = self.signer.access_token(claims, now, self.config.access_token_ttl)
        refresh = credentials.new_refresh_token()
        session.add(
            RefreshToken(
                user_id=user.id,
                token_hash=credentials.digest(refresh),
                family_id=family_id,
                expires_at=now + self.config.refresh_token_ttl,
            )
        )
        return TokenPair(
            access, refresh, int(self.config.access_token_ttl.total_seconds()), user.must_change_password
        )

    async def refresh(self, refresh_token: str) -> TokenPair:
        now = self.clock()
        async with self.db.transaction() as session:
            stored = await session.scalar(
                select(RefreshToken).where(RefreshToken.token_hash == credentials.digest(refresh_token))
            )
            if stored is None:
                raise Unauthenticated("unknown refresh token; sign in again")
            if stored.revoked_at is not None:
                # A revoked token used again means it leaked: end the whole session family.
                await self._revoke_family(session, stored.family_id, now)
                reused = True
            else:
                reused = False
        if reused:
            raise Unauthenticated("this refresh token was already used or revoked; sign in again")
        async with self.db.transaction() as session:
            stored = await session.get(RefreshToken, stored.id)
            assert stored is not None
            if stored.expires_at <= now:
                raise Unauthenticated("the session expired; sign in again")
            user = await session.get(User, stored.user_id)
            if user is None or user.status != UserStatus.ACTIVE:
                raise Unauthenticated("the account is not active")
            stored.revoked_at = now
            return await self._issue_tokens(session, user, stored.family_id)

    @staticmethod
    async def _revoke_family(session: AsyncSession, family_id: str, now: datetime) -> None:
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def logout(self, caller: Caller, refresh_token: str) -> None:
        async with self.db.transaction() as session:
            stored = await session.scalar(
                select(RefreshToken).where(RefreshToken.token_hash == credentials.digest(refresh_token))
            )
            if stored is None or stored.user_id != caller.user_id:
                raise InvalidArgument("that refresh token is not one of your sessions")
            await self._revoke_family(session, stored.family_id, self.clock())

    async def change_password(
        self, caller: Caller, old_password: str, new_password: str, refresh_token: str
    ) -> TokenPair:
        async with self.db.transaction() as session:
            user = await self._user(session, caller.user_id)
        if user.password_hash:
            correct = await credentials.verify_password(user.password_hash, old_password)
        else:
            correct = credentials.matches_digest(old_password, user.initial_secret_hash or "")
        if not correct:
            raise InvalidArgument("the current password is wrong")
        if old_password == new_password:
            raise InvalidArgument("the new password must differ from the current one")
        rules.check_new_password(new_password, username=user.username, phone=user.phone or "")
        new_hash = await credentials.hash_password(new_password)
        now = self.clock()
        async with self.db.transaction() as session:
            user = await self._user(session, caller.user_id)
            user.password_hash = new_hash
            user.initial_secret_hash = None
            user.must_change_password = False
            # Every other session ends with the old password.
            await session.execute(
                update(RefreshToken)
                .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            return await self._issue_tokens(session, user, family_id=new_id())

    async def me(self, caller: Caller) -> User:
        async with self.db.read() as session:
            return await self._user(session, caller.user_id)

    def jwks(self) -> str:
        return self.signer.jwks_json()

    @staticmethod
    async def _user(session: AsyncSession, user_id: str) -> User:
        user = await session.get(User, user_id)
        if user is None:
            raise NotFound("no such user")
        return user

    # ---- provinces and schools ------------------------------------------------------

    async def list_provinces(self) -> list[Province]:
        async with self.db.read() as session:
            return list(await session.scalars(select(Province).order_by(Province.code)))

    async def list_schools(self, province_code: str, query: str, page_size: int, page_token: str) -> Page:
        statement = select(School)
        if province_code:
            statement = statement.where(School.province_code == province_code)
        if query:
            pattern = f"%{query.strip()}%"
            statement = statement.where(or_(School.name.like(pattern), School.code.like(pattern)))
        return await self._page(statement.order_by(School.code), page_size, page_token)

    async def _page(self, statement, page_size: int, page_token: str) -> Page:  # type: ignore[no-untyped-def]
        async with self.db.read() as session:
            return Page(*await fetch_page(session, statement, page_size, page_token))

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
            await self._school_created(session, school)
            return school

    @staticmethod
    async def _school_created(session: AsyncSession, school: School) -> None:
        await emit(
            session,
            outbox,
            "identity.school.created",
            identity_pb2.SchoolCreated(
                school=identity_pb2.School(
                    id=school.id,
                    code=school.code,
                    name=school.name,
                    province_code=school.province_code,
                    host_province=school.host_province,
                )
            ),
        )

    # ---- accounts made by admins ----------------------------------------------------

    async def ensure_platform_admin(self, username: str, password: str) -> None:
        """The first platform admin, from the deployment's secret; nothing happens if it exists."""
        rules.validate_username(username)
        rules.check_new_password(password, username=username)
        async with self.db.transaction() as session:
            if await session.scalar(select(User.id).where(User.username == username)):
                return
        password_hash = await credentials.hash_password(password)
        async with self.db.transaction() as session:
            session.add(User(username=username, name="Platform administrator", role="platform_admin",
                             password_hash=password_hash))

    async def create_user(self, caller: Caller, request: identity_pb2.CreateUserRequest) -> tuple[User, Issued]:
        role = request.role
        if role not in ("student", "teacher", "school_admin", "center_admin", "platform_admin"):
            raise InvalidArgument(f"unknown role '{role}'")
        self._may_create(caller, role, request.school_id, request.province_code)
        name = rules.require_text(request.name, "name")
        phone = request.phone.strip() or None
        if phone:
            rules.validate_phone(phone)
        rules.validate_email(request.email.strip())
        async with self.db.transaction() as session:
            school = None
            if role in rules.ROLES_WITH_A_SCHOOL:
                school = await session.get(School, request.school_id)
                if school is None:
                    raise NotFound("no such school")
                if caller.role == "center_admin" and school.province_code != caller.province_code:
                    raise PermissionDenied("the provincial center manages schools of its own province only")
            number = request.number.strip() or None
            if role in rules.IMPORTABLE_ROLES and not number:
                raise InvalidArgument("a student or teacher needs a student or staff number")
            if number and not rules.NUMBER_PATTERN.match(number):
                raise InvalidArgument("a number has 1 to 32 letters, digits, '_' or '-'")
            username = request.username.strip() or (f"{school.code}-{number}" if school and number else "")
            rules.validate_username(username)
            await self._refuse_taken(session, username=username, phone=phone, school=school, number=number)
            secret = credentials.new_one_time_secret()
            user = User(
                username=username,
                name=name,
                phone=phone,
                email=request.email.strip(),
                role=role,
                school_id=school.id if school else None,
                province_code=school.province_code if school else (request.province_code or None),
                number=number,
                class_name=request.class_name.strip(),
                initial_secret_hash=credentials.digest(secret),
                must_change_password=True,
            )
            session.add(user)
            await session.flush()
            return user, Issued(user.id, username, secret)

    def _may_create(self, caller: Caller, role: str, school_id: str, province_code: str) -> None:
        if caller.role == "platform_admin":
            if role == "center_admin" and not province_code:
                raise InvalidArgument("a center admin needs a province_code")
            return
        if caller.role == "center_admin" and role == "school_admin":
            return  # the school's province is checked once the school is loaded
        if caller.role == "school_admin" and role in rules.ROLES_A_SCHOOL_ADMIN_CREATES:
            if school_id != caller.school_id:
                raise PermissionDenied("school admins create accounts of their own school only")
            return
        raise PermissionDenied(f"a {caller.role} cannot create {role} accounts")

    @staticmethod
    async def _refuse_taken(
        session: AsyncSession, *, username: str, phone: str | None, school: School | None, number: str | None
    ) -> None:
        if await session.scalar(select(User.id).where(User.username == username)):
            raise AlreadyExists(f"the username {username} is taken")
        if phone and await session.scalar(select(User.id).where(User.phone == phone)):
            raise AlreadyExists(f"the phone number {phone} belongs to another account")
        if school and number and await session.scalar(
            select(User.id).where(User.school_id == school.id, User.number == number)
        ):
            raise AlreadyExists(f"{school.name} already has an account with the number {number}")

    async def list_users(
        self, caller: Caller, school_id: str, role: str, query: str, page_size: int, page_token: str
    ) -> Page:
        if caller.role == "school_admin":
            school_id = school_id or caller.school_id or ""
            if school_id != caller.school_id:
                raise PermissionDenied("school admins see the accounts of their own school only")
        elif caller.role != "platform_admin":
            raise PermissionDenied("only admins list accounts")
        statement = select(User)
        if school_id:
            statement = statement.where(User.school_id == school_id)
        if role:
            statement = statement.where(User.role == role)
        if query:
            pattern = f"%{query.strip()}%"
            statement = statement.where(
                or_(User.name.like(pattern), User.username.like(pattern), User.phone.like(pattern),
                    User.number.like(pattern))
            )
        return await self._page(statement.order_by(User.username), page_size, page_token)

    # ---- bulk import ----------------------------------------------------------------

    async def import_accounts(
        self,
        caller: Caller,
        school_id: str,
        role: str,
        filename: str,
        content: bytes,
        import_valid_rows: bool,
    ) -> ImportOutcome:
        if role not in rules.IMPORTABLE_ROLES:
            raise InvalidArgument("import students or teachers")
        if not (caller.role == "teacher" and role == "student" and caller.school_id == school_id):
            caller.require_school_admin_of(school_id)  # teachers import their own school's students only
        good, problems = validate_rows(read_rows(filename, content))
        outcome = ImportOutcome(rows=len(good) + len({p.line for p in problems}))
        async with self.db.transaction() as session:
            school = await session.get(School, school_id)
            if school is None:
                raise NotFound("no such school")
            existing = {
                user.number: user
                for user in await session.scalars(select(User).where(User.school_id == school_id))
            }
            phone_owner = await self._phone_owners(session, [row.phone for row in good])
            accepted: list[AccountRow] = []
            for row in good:
                current = existing.get(row.number)
                if current is not None and current.role != role:
                    problems.append(
                        RowProblem(row.line, "number", f"{row.number} belongs to a {current.role} of this school")
                    )
                elif phone_owner.get(row.phone) not in (None, current.id if current else None):
                    problems.append(RowProblem(row.line, "phone", f"{row.phone} belongs to another account"))
                else:
                    accepted.append(row)
            problems.sort(key=lambda p: p.line)
            outcome.problems = problems
            if problems and not import_valid_rows:
                return outcome  # a file with bad rows imports nothing
            new_users, changes = [], []
            for row in accepted:
                current = existing.get(row.number)
                if current is None:
                    secret = credentials.new_one_time_secret()
                    user_id = new_id()
                    username = f"{school.code}-{row.number}"
                    new_users.append(
                        {
                            "id": user_id,
                            "username": username,
                            "name": row.name,
                            "phone": row.phone,
                            "email": row.email,
                            "role": role,
                            "school_id": school_id,
                            "number": row.number,
                            "class_name": row.class_name,
                            "status": UserStatus.ACTIVE,
                            "rejection_reason": "",
                            "initial_secret_hash": credentials.digest(secret),
                            "must_change_password": True,
                            "failed_attempts": 0,
                        }
                    )
                    outcome.credentials.append((row.line, Issued(user_id, username, secret)))
                    outcome.accounts.append((row.line, row.number, user_id))
                    continue
                outcome.accounts.append((row.line, row.number, current.id))
                if (current.name, current.phone, current.email, current.class_name) != (
                    row.name, row.phone, row.email, row.class_name
                ):
                    changes.append(
                        {"id": current.id, "name": row.name, "phone": row.phone, "email": row.email,
                         "class_name": row.class_name, "updated_at": self.clock()}
                    )
                else:
                    outcome.unchanged += 1
            try:
                if changes:
                    await session.execute(update(User), changes)
                if new_users:
                    now = self.clock()
                    for values in new_users:
                        values["created_at"] = values["updated_at"] = now
                    await session.execute(User.__table__.insert(), new_users)
            except IntegrityError as error:
                raise FailedPrecondition(
                    "another change to these accounts happened at the same time; import again"
                ) from error
            outcome.created, outcome.updated = len(new_users), len(changes)
            outcome.imported = True
            return outcome

    @staticmethod
    async def _phone_owners(session: AsyncSession, phones: list[str]) -> dict[str, str]:
        owners: dict[str, str] = {}
        for start in range(0, len(phones), 500):
            chunk = phones[start : start + 500]
            for phone, user_id in await session.execute(
                select(User.phone, User.id).where(User.phone.in_(chunk))
            ):
                owners[phone] = user_id
        return owners

    async def grant_roster(self, session: AsyncSession, accepted: sharing_pb2.AdoptionAccepted,
                           meta: EventMeta) -> None:
        if accepted.tutor_id:
            return  # the adopting school's tutor teaches its students
        if await session.get(RosterGrant, (accepted.leader_id, accepted.adopting_school_id)) is None:
            session.add(RosterGrant(leader_id=accepted.leader_id, school_id=accepted.adopting_school_id,
                                    adoption_id=accepted.adoption_id, granted_at=self.clock()))

    # ---- lookups for other services ----------------------------------------------------------

    async def get_user(self, caller: Caller, user_id: str) -> User:
        async with self.db.read() as session:
            user = await session.get(User, user_id)
        allowed = user is not None and (
            caller.user_id == user.id or caller.role == "platform_admin"
            or (caller.role == "school_admin" and caller.school_id == user.school_id))
        if not allowed:
            raise NotFound("no such user")
        assert user is not None
        return user

    async def get_school(self, school_id: str) -> School:
        async with self.db.read() as session:
            school = await session.get(School, school_id)
        if school is None:
            raise NotFound("no such school")
        return school

    # ---- lookups for teams and classes ---------------------------------------------------

    async def find_teachers(self, caller: Caller, query: str) -> list[tuple[User, School]]:
        """Teachers of any school, for course teams: exact id, username or phone, or part of the name."""
        caller.require_role("teacher", "school_admin", "center_admin", "platform_admin")
        query = query.strip()
        if len(query) < 2:
            raise InvalidArgument("search with at least 2 characters")
        async with self.db.transaction() as session:
            rows = await session.execute(
                select(User, School).join(School, School.id == User.school_id).where(
                    User.role == "teacher", User.status == UserStatus.ACTIVE,
                    or_(User.id == query, User.username == query, User.phone == query,
                        User.name.like(f"%{query}%")),
                ).order_by(User.name).limit(20))
            return [(user, school) for user, school in rows]

    async def resolve_students(
        self, caller: Caller, school_id: str, numbers: list[str]
    ) -> tuple[list[User], list[str]]:
        """A school's student accounts by student number; the numbers nobody has come back too."""
        if caller.role not in ("teacher", "school_admin"):
            raise PermissionDenied("teachers and admins look up students")
        if caller.school_id != school_id:
            async with self.db.transaction() as session:
                granted = await session.get(RosterGrant, (caller.user_id, school_id))
            if granted is None:
                raise PermissionDenied("teachers look up their own school's students (or an adopting school's, "
                                       "once its adoption without a tutor was accepted)")
        wanted = list(dict.fromkeys(n.strip() for n in numbers if n.strip()))
        if len(wanted) > 5000:
            raise InvalidArgument("look up at most 5000 numbers at once")
        found: dict[str, User] = {}
        async with self.db.transaction() as session:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start:start + 500]
                for user in await session.scalars(select(User).where(
                        User.school_id == school_id, User.role == "student", User.number.in_(chunk))):
                    found[user.number or ""] = user
        return [found[n] for n in wanted if n in found], [n for n in wanted if n not in found]

    # ---- teacher self-registration ---------------------------------------------------

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
            await self._refuse_taken(session, username=username, phone=phone, school=school, number=number)
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

    # ---- out-of-province school applications -----------------------------------------

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
        return await self._page(statement.order_by(SchoolApplication.submitted_at), page_size, page_token)

    async def get_school_application(self, caller: Caller, application_id: str) -> SchoolApplication:
        caller.require_role("platform_admin")
        async with self.db.transaction() as session:
            application = await session.get(SchoolApplication, application_id)
        if application is None:
            raise NotFound("no such application")
        return application

    async def issue_school_admin_credentials(self, caller: Caller, application_id: str) -> Issued:
        """The first admin's one-time password: issued while that admin has never signed in."""
        caller.require_role("platform_admin")
        async with self.db.transaction() as session:
            application = await session.get(SchoolApplication, application_id)
            if application is None:
                raise NotFound("no such application")
            if application.status != ApplicationStatus.APPROVED or not application.admin_user_id:
                raise FailedPrecondition(f"the application is {application.status}, not approved")
            admin = await self._user(session, application.admin_user_id)
            if admin.password_hash:
                raise FailedPrecondition("the school's admin has already set a password")
            secret = credentials.new_one_time_secret()
            admin.initial_secret_hash = credentials.digest(secret)
            admin.must_change_password = True
            return Issued(admin.id, admin.username, secret)

    # ---- review decisions (event handler) ---------------------------------------------

    async def apply_review_decision(
        self, session: AsyncSession, decided: review_pb2.ReviewDecided, meta: EventMeta
    ) -> None:
        approved = decided.decision == "approved"
        if decided.kind == KIND_TEACHER_REGISTRATION:
            user = await session.get(User, decided.subject_id)
            if user is None or user.status != UserStatus.PENDING:
                return  # decided already, or gone
            user.status = UserStatus.ACTIVE if approved else UserStatus.REJECTED
            user.rejection_reason = "" if approved else decided.reason
        elif decided.kind == KIND_SCHOOL_APPLICATION:
            application = await session.get(SchoolApplication, decided.subject_id)
            if application is None or application.status != ApplicationStatus.PENDING:
                return
            application.decided_at = decided.decided_at.ToDatetime(tzinfo=UTC)
            application.decided_by = decided.decided_by
            if approved and await session.scalar(
                select(School.id).where(School.name == application.school_name)
            ):
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
            must_change_password=True,  # no secret until a platform admin issues one
        )
        session.add(admin)
        await session.flush()
        application.status = ApplicationStatus.APPROVED
        application.school_id = school.id
        application.admin_user_id = admin.id
        await self._school_created(session, school)

