"""Translates identity.v1 requests into handler calls and results back into messages."""

from __future__ import annotations

from datetime import datetime

from contracts.identity.v1 import identity_pb2 as pb
from contracts.identity.v1 import identity_pb2_grpc
from servicekit.auth import require_caller
from services.identity.adapters.orm import School, SchoolApplication, User
from services.identity.service_layer.colleges import CollegeCard
from services.identity.service_layer.common import Issued
from services.identity.service_layer.handlers import IdentityHandlers
from services.identity.service_layer.handover import SheetTicket
from services.identity.service_layer.learners import LearnerRegistration
from services.identity.service_layer.sign_in import TokenPair

SERVICE = "identity.v1.IdentityService"
PUBLIC_METHODS = {
    f"/{SERVICE}/{name}"
    for name in (
        "Login",
        "Refresh",
        "GetJwks",
        "ListProvinces",
        "ListSchools",
        "RegisterTeacher",
        "SubmitSchoolApplication",
        "GetSchool",
        "NewCaptcha",
        "RequestPasswordReset",
        "ConfirmPasswordReset",
        "RegisterLearner",
        "ResendLearnerCode",
        "VerifyLearner",
    )
}
PASSWORD_CHANGE_METHODS = {f"/{SERVICE}/{name}" for name in ("ChangePassword", "GetMe", "Logout")}


def token_pair(pair: TokenPair) -> pb.TokenPair:
    return pb.TokenPair(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in,
        must_change_password=pair.must_change_password,
    )


def user_message(user: User, college_names: dict[str, str] | None = None) -> pb.User:
    """The account; `college_names` (by id) names its college."""
    return pb.User(
        id=user.id,
        username=user.username,
        name=user.name,
        phone=user.phone or "",
        email=user.email,
        role=user.role,
        school_id=user.school_id or "",
        province_code=user.province_code or "",
        number=user.number or "",
        class_name=user.class_name,
        status=user.status,
        must_change_password=user.must_change_password,
        rejection_reason=user.rejection_reason,
        college_id=user.college_id or "",
        college_name=(college_names or {}).get(user.college_id or "", ""),
    )


def college_message(card: CollegeCard) -> pb.College:
    return pb.College(id=card.college.id, school_id=card.college.school_id, name=card.college.name,
                      teacher_count=card.teacher_count)


def learner_registration_message(registration: LearnerRegistration) -> pb.LearnerRegistration:
    user = registration.user
    message = pb.LearnerRegistration(user_id=user.id, username=user.username, email=user.email, status=user.status)
    _set_time(message.code_expires_at, registration.code_expires_at)
    return message


def school_message(school: School) -> pb.School:
    return pb.School(
        id=school.id,
        code=school.code,
        name=school.name,
        province_code=school.province_code,
        host_province=school.host_province,
    )


def issued_message(issued: Issued) -> pb.InitialCredentials:
    return pb.InitialCredentials(
        user_id=issued.user_id, username=issued.username, initial_password=issued.initial_password
    )


def _set_time(field, value: datetime | None) -> None:  # type: ignore[no-untyped-def]
    if value is not None:
        field.FromDatetime(value)


def sheet_message(ticket: SheetTicket) -> pb.CredentialSheet:
    message = pb.CredentialSheet(id=ticket.id, key=ticket.key, accounts=ticket.accounts)
    if ticket.id:
        message.expires_at.FromDatetime(ticket.expires_at)
    return message


class IdentityServicer(identity_pb2_grpc.IdentityServiceServicer):
    def __init__(self, handlers: IdentityHandlers) -> None:
        self.handlers = handlers

    async def users(self, users: list[User]) -> list[pb.User]:
        """Accounts as messages, their colleges named."""
        names = await self.handlers.colleges.names(user.college_id for user in users)
        return [user_message(user, names) for user in users]

    async def user(self, user: User) -> pb.User:
        return (await self.users([user]))[0]

    def application_message(self, application: SchoolApplication) -> pb.SchoolApplication:
        message = pb.SchoolApplication(
            id=application.id,
            school_name=application.school_name,
            province_code=application.province_code,
            contact_name=application.contact_name,
            phone=application.phone,
            email=application.email,
            reason=application.reason,
            status=application.status,
            overdue=self.handlers.schools.is_overdue(application),
            rejection_reason=application.rejection_reason,
            school_id=application.school_id or "",
            admin_user_id=application.admin_user_id or "",
        )
        _set_time(message.submitted_at, application.submitted_at)
        _set_time(message.answer_due_at, application.answer_due_at)
        _set_time(message.decided_at, application.decided_at)
        return message

    async def Login(self, request, context):  # type: ignore[no-untyped-def]
        return token_pair(await self.handlers.sign_in.login(
            request.login, request.password, request.captcha_id, request.captcha_answer))

    async def NewCaptcha(self, request, context):  # type: ignore[no-untyped-def]
        challenge, png, answer = await self.handlers.sign_in.new_captcha(request.login)
        message = pb.Captcha(id=challenge.id, png=png, answer=answer)
        message.expires_at.FromDatetime(challenge.expires_at)
        return message

    async def RequestPasswordReset(self, request, context):  # type: ignore[no-untyped-def]
        await self.handlers.passwords.request_reset(request.email)
        return pb.RequestPasswordResetResponse()

    async def ConfirmPasswordReset(self, request, context):  # type: ignore[no-untyped-def]
        await self.handlers.passwords.confirm_reset(request.token, request.new_password)
        return pb.ConfirmPasswordResetResponse()

    async def ResetPassword(self, request, context):  # type: ignore[no-untyped-def]
        issued, ticket = await self.handlers.passwords.reset_password(require_caller(), request.user_id)
        return pb.IssuedCredentials(credentials=issued_message(issued), credentials_sheet=sheet_message(ticket))

    async def DownloadCredentialSheet(self, request, context):  # type: ignore[no-untyped-def]
        sheet = await self.handlers.passwords.download_sheet(require_caller(), request.id, request.key)
        return pb.CredentialSheetFile(filename=sheet.filename, content=sheet.content)

    async def Refresh(self, request, context):  # type: ignore[no-untyped-def]
        return token_pair(await self.handlers.sign_in.refresh(request.refresh_token))

    async def Logout(self, request, context):  # type: ignore[no-untyped-def]
        await self.handlers.sign_in.logout(require_caller(), request.refresh_token)
        return pb.LogoutResponse()

    async def GetJwks(self, request, context):  # type: ignore[no-untyped-def]
        return pb.Jwks(json=self.handlers.sign_in.jwks())

    async def ChangePassword(self, request, context):  # type: ignore[no-untyped-def]
        pair = await self.handlers.sign_in.change_password(
            require_caller(), request.old_password, request.new_password, request.refresh_token
        )
        return token_pair(pair)

    async def GetMe(self, request, context):  # type: ignore[no-untyped-def]
        return await self.user(await self.handlers.sign_in.me(require_caller()))

    async def ListProvinces(self, request, context):  # type: ignore[no-untyped-def]
        provinces = await self.handlers.schools.list_provinces()
        return pb.ListProvincesResponse(provinces=[pb.Province(code=p.code, name=p.name) for p in provinces])

    async def ListSchools(self, request, context):  # type: ignore[no-untyped-def]
        page = await self.handlers.schools.list_schools(
            request.province_code, request.query, request.page_size, request.page_token
        )
        return pb.ListSchoolsResponse(
            schools=[school_message(s) for s in page.items],
            next_page_token=page.next_page_token,
            total=page.total,
        )

    async def CreateSchool(self, request, context):  # type: ignore[no-untyped-def]
        school = await self.handlers.schools.create_school(
            require_caller(), request.code, request.name, request.province_code
        )
        return school_message(school)

    async def CreateUser(self, request, context):  # type: ignore[no-untyped-def]
        user, issued, ticket = await self.handlers.accounts.create_user(require_caller(), request)
        return pb.CreatedUser(user=await self.user(user), credentials=issued_message(issued),
                              credentials_sheet=sheet_message(ticket))

    async def ListUsers(self, request, context):  # type: ignore[no-untyped-def]
        page = await self.handlers.accounts.list_users(
            require_caller(),
            request.school_id,
            request.role,
            request.query,
            request.page_size,
            request.page_token,
        )
        return pb.ListUsersResponse(
            users=await self.users(page.items), next_page_token=page.next_page_token, total=page.total
        )

    async def ImportAccounts(self, request, context):  # type: ignore[no-untyped-def]
        outcome = await self.handlers.imports.import_accounts(
            require_caller(),
            request.school_id,
            request.role,
            request.filename,
            request.content,
            request.import_valid_rows,
        )
        return pb.ImportReport(
            rows=outcome.rows,
            created=outcome.created,
            updated=outcome.updated,
            unchanged=outcome.unchanged,
            imported=outcome.imported,
            errors=[pb.RowError(line=p.line, field=p.field, reason=p.reason) for p in outcome.problems],
            credentials=[issued_message(issued) for _, issued in outcome.credentials],
            accounts=[pb.ImportedAccount(line=line, number=number, user_id=user_id)
                      for line, number, user_id in outcome.accounts],
            credentials_sheet=sheet_message(outcome.sheet),
        )

    async def FindTeachers(self, request, context):  # type: ignore[no-untyped-def]
        found = await self.handlers.accounts.find_teachers(require_caller(), request.query)
        return pb.FindTeachersResponse(teachers=[
            pb.TeacherCard(user_id=user.id, name=user.name, username=user.username, school_id=school.id,
                           school_name=school.name) for user, school in found])

    async def ResolveStudents(self, request, context):  # type: ignore[no-untyped-def]
        students, unknown = await self.handlers.grants.resolve_students(
            require_caller(), request.school_id, list(request.numbers), request.run_id)
        return pb.ResolveStudentsResponse(
            students=[pb.ResolvedStudent(number=u.number or "", user_id=u.id, name=u.name) for u in students],
            unknown_numbers=unknown)

    async def ResolveTeachers(self, request, context):  # type: ignore[no-untyped-def]
        found, unknown = await self.handlers.accounts.resolve_teachers(
            require_caller(), request.school_id, list(request.keys))
        return pb.ResolveTeachersResponse(
            teachers=[pb.ResolvedTeacher(key=key, user_id=u.id, name=u.name, username=u.username,
                                         number=u.number or "") for key, u in found],
            unknown_keys=unknown)

    async def RegisterTeacher(self, request, context):  # type: ignore[no-untyped-def]
        user = await self.handlers.registrations.register_teacher(request)
        return pb.Registration(user_id=user.id, status=user.status)

    async def RegisterLearner(self, request, context):  # type: ignore[no-untyped-def]
        return learner_registration_message(
            await self.handlers.learners.register(request.email, request.name, request.password))

    async def ResendLearnerCode(self, request, context):  # type: ignore[no-untyped-def]
        return learner_registration_message(await self.handlers.learners.resend_code(request.email))

    async def VerifyLearner(self, request, context):  # type: ignore[no-untyped-def]
        return learner_registration_message(await self.handlers.learners.verify(request.email, request.code))

    async def SubmitSchoolApplication(self, request, context):  # type: ignore[no-untyped-def]
        return self.application_message(await self.handlers.schools.submit_school_application(request))

    async def ListSchoolApplications(self, request, context):  # type: ignore[no-untyped-def]
        page = await self.handlers.schools.list_school_applications(
            require_caller(), request.status, request.overdue_only, request.page_size, request.page_token
        )
        return pb.ListSchoolApplicationsResponse(
            applications=[self.application_message(a) for a in page.items],
            next_page_token=page.next_page_token,
            total=page.total,
        )

    async def GetSchoolApplication(self, request, context):  # type: ignore[no-untyped-def]
        return self.application_message(
            await self.handlers.schools.get_school_application(require_caller(), request.id)
        )

    async def IssueSchoolAdminCredentials(self, request, context):  # type: ignore[no-untyped-def]
        issued, ticket = await self.handlers.schools.issue_school_admin_credentials(
            require_caller(), request.application_id)
        return pb.IssuedCredentials(credentials=issued_message(issued), credentials_sheet=sheet_message(ticket),
                                    mailed=self.handlers.schools.mail_enabled)

    async def GetUser(self, request, context):  # type: ignore[no-untyped-def]
        return await self.user(await self.handlers.accounts.get_user(require_caller(), request.id))

    async def GetSchool(self, request, context):  # type: ignore[no-untyped-def]
        return school_message(await self.handlers.schools.get_school(request.id))

    async def CreateCollege(self, request, context):  # type: ignore[no-untyped-def]
        return college_message(await self.handlers.colleges.create_college(require_caller(), request.name))

    async def ListColleges(self, request, context):  # type: ignore[no-untyped-def]
        cards = await self.handlers.colleges.list_colleges(require_caller(), request.school_id)
        return pb.ListCollegesResponse(colleges=[college_message(card) for card in cards])

    async def SetUserCollege(self, request, context):  # type: ignore[no-untyped-def]
        user = await self.handlers.colleges.set_user_college(require_caller(), request.user_id, request.college_id)
        return await self.user(user)
