"""Accounts and schools: sign-in, sessions, registration, imports, out-of-province applications."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import grpc
from fastapi import File, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from contracts.identity.v1 import identity_pb2 as pb
from gateway.openapi_types import Documented, extend, page_of, returns
from gateway.problems import Problem, problem, rpc_reason
from gateway.ratelimit import limit
from gateway.routes.deps import (
    TIMEOUT,
    Backends,
    Paging,
    SignedIn,
    SignedInCaller,
    as_json,
    download,
    json_off_loop,
    page_json,
    sheet_url,
)
from gateway.routing import Router

router = Router()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class CaptchaAnswer(Documented):
    """A captcha to answer with the next sign-in."""

    id: str
    image: str = Field(description="data:image/png;base64,...")
    expires_at: datetime
    answer: str = Field(None, description="test mode only")


class Notice(Documented):
    detail: str


_SheetWithUrl = extend(pb.CredentialSheet, "IdentityCredentialSheetWithUrl", "Where to download it, once.",
                       download_url=(str, None))
CreatedUserAnswer = extend(pb.CreatedUser, "IdentityCreatedUserWithSheetUrl", credentials_sheet=(_SheetWithUrl, None))
IssuedCredentialsAnswer = extend(pb.IssuedCredentials, "IdentityIssuedCredentialsWithSheetUrl",
                                 credentials_sheet=(_SheetWithUrl, None))
ImportReportAnswer = extend(pb.ImportReport, "IdentityImportReportWithSheetUrl",
                            credentials_sheet=(_SheetWithUrl, None))


class LoginBody(BaseModel):
    login: str = Field(description="username, phone number, or a public learner's e-mail address", max_length=200)
    password: str = Field(max_length=200)
    captcha_id: str = Field("", max_length=36, description="after repeated failures: the captcha's id")
    captcha_answer: str = Field("", max_length=20, description="the characters in the captcha's picture")


class CaptchaBody(BaseModel):
    login: str = Field(description="the username, phone number or e-mail address signing in", max_length=200)


class PasswordResetBody(BaseModel):
    email: str = Field(max_length=200)


class PasswordResetConfirmBody(BaseModel):
    token: str = Field(max_length=200, description="the code from the mailed link")
    new_password: str = Field(max_length=200)


class RefreshBody(BaseModel):
    refresh_token: str = Field(max_length=200)


class ChangePasswordBody(BaseModel):
    old_password: str = Field(max_length=200)
    new_password: str = Field(max_length=200)
    refresh_token: str = Field("", max_length=200)


class SchoolBody(BaseModel):
    code: str = Field(max_length=20)
    name: str = Field(max_length=100)
    province_code: str = Field("", max_length=6, description="defaults to the host province")


class UserBody(BaseModel):
    role: Literal["student", "teacher", "college_admin", "school_admin", "center_admin", "platform_admin"]
    name: str = Field(max_length=100)
    school_id: str = Field("", max_length=36)
    province_code: str = Field("", max_length=6)
    username: str = Field("", max_length=64, description="defaults to <school code>-<number>")
    phone: str = Field("", max_length=20)
    email: str = Field("", max_length=200)
    number: str = Field("", max_length=32, description="student or staff number")
    class_name: str = Field("", max_length=100)
    college_id: str = Field("", max_length=36, description="the college (学院): required for a college_admin, "
                            "optional for a teacher")


class CollegeBody(BaseModel):
    name: str = Field(max_length=100)


class UserCollegeBody(BaseModel):
    college_id: str = Field(max_length=36, description="one of the school's colleges; empty: none (teachers only)")


class TeacherRegistrationBody(BaseModel):
    school_id: str = Field(max_length=36)
    username: str = Field(max_length=64)
    password: str = Field(max_length=200)
    name: str = Field(max_length=100)
    phone: str = Field(max_length=20)
    email: str = Field("", max_length=200)
    staff_number: str = Field(max_length=32)


class LearnerBody(BaseModel):
    email: str = Field(max_length=200, description="signs in with it; the verification code is mailed to it")
    name: str = Field(max_length=100)
    password: str = Field(max_length=200, description="at least 8 characters, letters and digits")


class LearnerEmailBody(BaseModel):
    email: str = Field(max_length=200)


class LearnerVerificationBody(BaseModel):
    email: str = Field(max_length=200)
    code: str = Field(max_length=20, description="the 6 digits from the mail")


class SchoolApplicationBody(BaseModel):
    school_name: str = Field(max_length=100)
    province_code: str = Field(max_length=6)
    contact_name: str = Field(max_length=100)
    phone: str = Field(max_length=20)
    email: str = Field(max_length=200)
    reason: str = Field(max_length=2000)


# ---- sign-in and sessions --------------------------------------------------------------


@router.post("/auth/login", tags=["auth"], dependencies=[limit("login", "login")], **returns(pb.TokenPair))
async def login(body: LoginBody, backends: Backends) -> Any:
    """Sign in with a username, phone number or (public learners) e-mail address. After three failures in a
    row the answer is 401 with reason `CAPTCHA_REQUIRED` and a `captcha` (id and PNG): send its characters with
    the next try. Five failures in a row lock the account for 15 minutes."""
    try:
        reply = await backends.identity.Login(pb.LoginRequest(**body.model_dump()), timeout=TIMEOUT)
    except grpc.aio.AioRpcError as error:
        reason = rpc_reason(error)
        if reason not in ("CAPTCHA_REQUIRED", "CAPTCHA_WRONG"):
            raise
        challenge = await backends.identity.NewCaptcha(pb.NewCaptchaRequest(login=body.login), timeout=TIMEOUT)
        return problem(401, error.details() or reason, reason, captcha=captcha_json(challenge))
    return as_json(reply)


def captcha_json(challenge: pb.Captcha) -> dict[str, Any]:
    answer = {"answer": challenge.answer} if challenge.answer else {}  # test mode only
    return {
        "id": challenge.id,
        "image": "data:image/png;base64," + base64.b64encode(challenge.png).decode(),
        "expires_at": challenge.expires_at.ToDatetime(tzinfo=UTC).isoformat(),
        **answer,
    }


@router.post("/auth/captcha", tags=["auth"], dependencies=[limit("login", "login")], **returns(CaptchaAnswer))
async def new_captcha(body: CaptchaBody, backends: Backends) -> dict[str, Any]:
    """A fresh captcha for signing in as `login` (one try each, valid 5 minutes)."""
    challenge = await backends.identity.NewCaptcha(pb.NewCaptchaRequest(login=body.login), timeout=TIMEOUT)
    return captcha_json(challenge)


@router.post("/auth/password-reset", tags=["auth"],
             dependencies=[limit("password_reset", "email")], **returns(Notice, 202))
async def request_password_reset(body: PasswordResetBody, backends: Backends) -> dict[str, Any]:
    """Mails a single-use reset link (valid 30 minutes) to the accounts with this address. The answer is
    the same whether or not an account has it."""
    await backends.identity.RequestPasswordReset(pb.RequestPasswordResetRequest(email=body.email), timeout=TIMEOUT)
    return {"detail": "if an account has this e-mail address, a reset link is on its way: it works once, "
                      "within 30 minutes"}


@router.post("/auth/password-reset/confirm", tags=["auth"], status_code=204)
async def confirm_password_reset(body: PasswordResetConfirmBody, backends: Backends) -> None:
    """Sets a new password with the mailed code; every session of the account ends, a lock lifts."""
    await backends.identity.ConfirmPasswordReset(pb.ConfirmPasswordResetRequest(**body.model_dump()), timeout=TIMEOUT)


def with_sheet_url(reply: Any) -> dict[str, Any]:
    """The answer, with where to download its credentials sheet (once)."""
    body = as_json(reply)
    sheet = body.get("credentials_sheet")
    if sheet and sheet.get("id"):
        sheet["download_url"] = sheet_url(sheet["id"], sheet["key"])
    return body


@router.get("/credential-sheets/{sheet_id}", tags=["users"], response_class=Response,
            responses={200: {"content": {XLSX: {}}}, 410: {"description": "downloaded already, or expired"}})
async def download_credential_sheet(
    sheet_id: str, backends: Backends, me: SignedIn, key: Annotated[str, Query(max_length=100)]
) -> Response:
    """The one-time passwords of the accounts you created (or whose passwords you reset), as XLSX: once,
    by you, within 7 days. The server keeps the sheet only encrypted with `key`, and deletes it here."""
    try:
        reply = await backends.identity.DownloadCredentialSheet(
            pb.DownloadCredentialSheetRequest(id=sheet_id, key=key), metadata=me.metadata, timeout=TIMEOUT)
    except grpc.aio.AioRpcError as error:
        reason = rpc_reason(error)
        if reason in ("SHEET_ALREADY_DOWNLOADED", "SHEET_EXPIRED"):
            return problem(410, error.details() or reason, reason)
        raise
    return download(reply.content, XLSX, reply.filename, **{"Cache-Control": "no-store"})


@router.post("/auth/refresh", tags=["auth"], **returns(pb.TokenPair))
async def refresh(body: RefreshBody, backends: Backends) -> dict[str, Any]:
    """A new token pair for a refresh token; the old refresh token stops working."""
    reply = await backends.identity.Refresh(pb.RefreshRequest(refresh_token=body.refresh_token), timeout=TIMEOUT)
    return as_json(reply)


@router.post("/auth/logout", tags=["auth"], status_code=204)
async def logout(body: RefreshBody, backends: Backends, me: SignedIn) -> None:
    """Revokes the session's refresh tokens."""
    await backends.identity.Logout(
        pb.LogoutRequest(refresh_token=body.refresh_token), metadata=me.metadata, timeout=TIMEOUT
    )


@router.post("/auth/password", tags=["auth"], **returns(pb.TokenPair))
async def change_password(body: ChangePasswordBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """Change the password (required at first sign-in for accounts an admin created); returns new tokens."""
    reply = await backends.identity.ChangePassword(
        pb.ChangePasswordRequest(**body.model_dump()), metadata=me.metadata, timeout=TIMEOUT
    )
    return as_json(reply)


@router.get("/me", tags=["auth"], **returns(pb.User))
async def get_me(backends: Backends, me: SignedIn) -> dict[str, Any]:
    return as_json(await backends.identity.GetMe(pb.GetMeRequest(), metadata=me.metadata, timeout=TIMEOUT))


# ---- provinces, schools, users ----------------------------------------------------------


@router.get("/provinces", tags=["schools"], **returns(page_of(pb.Province)))
async def list_provinces(backends: Backends) -> dict[str, Any]:
    reply = await backends.identity.ListProvinces(pb.ListProvincesRequest(), timeout=TIMEOUT)
    return {"items": [as_json(p) for p in reply.provinces], "next_page_token": "", "total": len(reply.provinces)}


@router.get("/schools", tags=["schools"], **returns(page_of(pb.School)))
async def list_schools(
    backends: Backends, paging: Paging, province_code: str = "", query: str = ""
) -> dict[str, Any]:
    reply = await backends.identity.ListSchools(
        pb.ListSchoolsRequest(
            province_code=province_code, query=query, page_size=paging.page_size, page_token=paging.page_token
        ),
        timeout=TIMEOUT,
    )
    return page_json(list(reply.schools), reply.next_page_token, reply.total)


@router.post("/schools", tags=["schools"], **returns(pb.School, 201))
async def create_school(body: SchoolBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """Platform admins, or the provincial center for its own province."""
    reply = await backends.identity.CreateSchool(
        pb.CreateSchoolRequest(**body.model_dump()), metadata=me.metadata, timeout=TIMEOUT
    )
    return as_json(reply)


@router.get("/users", tags=["users"], **returns(page_of(pb.User)))
async def list_users(
    backends: Backends, me: SignedIn, paging: Paging, school_id: str = "", role: str = "", query: str = ""
) -> dict[str, Any]:
    reply = await backends.identity.ListUsers(
        pb.ListUsersRequest(
            school_id=school_id, role=role, query=query, page_size=paging.page_size, page_token=paging.page_token
        ),
        metadata=me.metadata,
        timeout=TIMEOUT,
    )
    return page_json(list(reply.users), reply.next_page_token, reply.total)


@router.post("/users", tags=["users"], **returns(CreatedUserAnswer, 201))
async def create_user(body: UserBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """Creates an account with a one-time initial password, shown once in the answer and on a credentials
    sheet (XLSX) its creator downloads once from `credentials_sheet.download_url`."""
    reply = await backends.identity.CreateUser(
        pb.CreateUserRequest(**body.model_dump()), metadata=me.metadata, timeout=TIMEOUT
    )
    return with_sheet_url(reply)


@router.post("/users/{user_id}/password-reset", tags=["users"], **returns(IssuedCredentialsAnswer))
async def reset_password(user_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """A new one-time password, to be changed at the next sign-in (sessions end, a lock lifts): school admins
    for their school's students and teachers, teachers for the students of their own classes."""
    reply = await backends.identity.ResetPassword(
        pb.ResetPasswordRequest(user_id=user_id), metadata=me.metadata, timeout=TIMEOUT)
    return with_sheet_url(reply)


@router.post("/schools/{school_id}/imports", tags=["users"], **returns(ImportReportAnswer))
async def import_accounts(
    school_id: str,
    backends: Backends,
    me: SignedIn,
    file: Annotated[UploadFile, File(description="CSV or XLSX: number, name, phone, email, class_name")],
    role: Annotated[Literal["student", "teacher"], Query()] = "student",
    import_valid_rows: Annotated[
        bool, Query(description="import the good rows even when some rows are bad")
    ] = False,
) -> dict[str, Any]:
    """Bulk import by the school's admin. A file with bad rows imports nothing unless
    `import_valid_rows=true`; every bad row is listed with its line number. Importing the
    same file again creates no duplicates. New accounts' one-time passwords are in the answer and on one
    credentials sheet (`credentials_sheet.download_url`, once). Teachers import their school's students:
    a row naming an existing student with another name, phone or e-mail is refused (only admins change them)."""
    content = await file.read()
    reply = await backends.identity.ImportAccounts(
        pb.ImportAccountsRequest(
            school_id=school_id,
            role=role,
            filename=file.filename or "",
            content=content,
            import_valid_rows=import_valid_rows,
        ),
        metadata=me.metadata,
        timeout=120,
    )
    return await json_off_loop(lambda: with_sheet_url(reply))  # type: ignore[return-value]


# ---- colleges (学院/教学单位) ------------------------------------------------------------------


async def _call(backends: Any, method: str, request: Any, me: SignedInCaller) -> Any:
    return await getattr(backends.identity, method)(request, metadata=me.metadata, timeout=TIMEOUT)


@router.get("/schools/{school_id}/colleges", tags=["colleges"], **returns(page_of(pb.College)))
async def list_colleges(school_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The school's colleges by name, each with its number of teachers: for the school's own members and
    platform admins."""
    reply = await _call(backends, "ListColleges", pb.ListCollegesRequest(school_id=school_id), me)
    return page_json(list(reply.colleges), "", len(reply.colleges))


@router.post("/schools/{school_id}/colleges", tags=["colleges"], **returns(pb.College, 201))
async def create_college(school_id: str, body: CollegeBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The school's admin adds a college; a name is used once per school (409 otherwise)."""
    if me.caller.school_id != school_id:
        raise Problem(403, "school admins create the colleges of their own school only")
    return as_json(await _call(backends, "CreateCollege", pb.CreateCollegeRequest(name=body.name), me))


@router.put("/users/{user_id}/college", tags=["colleges"], **returns(pb.User))
async def set_user_college(user_id: str, body: UserCollegeBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The school's admin puts one of the school's teachers or college admins in one of its colleges (an empty
    `college_id` takes a teacher out of theirs; a college admin always has one). A college admin moved to another
    college signs in again."""
    reply = await _call(backends, "SetUserCollege",
                        pb.SetUserCollegeRequest(user_id=user_id, college_id=body.college_id), me)
    return as_json(reply)


# ---- teacher self-registration ------------------------------------------------------------


@router.post("/registrations/teachers", tags=["registration"],
             dependencies=[limit("teacher_registration", "phone", "username")], **returns(pb.Registration, 201))
async def register_teacher(body: TeacherRegistrationBody, backends: Backends) -> dict[str, Any]:
    """The account stays pending until the school's admin approves it in the review queue."""
    reply = await backends.identity.RegisterTeacher(pb.RegisterTeacherRequest(**body.model_dump()), timeout=TIMEOUT)
    return as_json(reply)


# ---- public learners (社会学习者) -------------------------------------------------------------


@router.post("/learners", tags=["registration"],
             dependencies=[limit("learner_registration", "email")], **returns(pb.LearnerRegistration, 201))
async def register_learner(body: LearnerBody, backends: Backends) -> dict[str, Any]:
    """A public learner registers: a student account of no school, `unverified` until the 6-digit code mailed
    to the address (valid 30 minutes, 5 tries) is sent to `/learners/verify`; then they sign in with the
    address. An address an account already has: 409 `EMAIL_TAKEN`. Public learners join the public classes
    of MOOC runs only."""
    reply = await backends.identity.RegisterLearner(pb.RegisterLearnerRequest(**body.model_dump()), timeout=TIMEOUT)
    return as_json(reply)


@router.post("/learners/verification-code", tags=["registration"],
             dependencies=[limit("learner_registration", "email")], **returns(pb.LearnerRegistration, 202))
async def resend_learner_code(body: LearnerEmailBody, backends: Backends) -> Any:
    """Mails a new code (the previous one stops working): at most 5 an hour, and a minute apart while the
    last one still works; else 429 `VERIFICATION_CODE_RATE_LIMITED`."""
    try:
        reply = await backends.identity.ResendLearnerCode(pb.ResendLearnerCodeRequest(email=body.email),
                                                          timeout=TIMEOUT)
    except grpc.aio.AioRpcError as error:
        if rpc_reason(error) != "VERIFICATION_CODE_RATE_LIMITED":
            raise
        detail = error.details() or "too many codes asked for"
        wait = re.search(r"in (\d+) s\b", detail)
        response = problem(429, detail, "VERIFICATION_CODE_RATE_LIMITED")
        response.headers["Retry-After"] = wait.group(1) if wait else "3600"
        return response
    return as_json(reply)


@router.post("/learners/verify", tags=["registration"], dependencies=[limit("learner_verification", "email")],
             **returns(pb.LearnerRegistration))
async def verify_learner(body: LearnerVerificationBody, backends: Backends) -> dict[str, Any]:
    """Activates the registration with the mailed code. Wrong: 400 `VERIFICATION_CODE_WRONG` (tries left in
    the detail); after 5 wrong tries 409 `VERIFICATION_TRIES_EXHAUSTED`; too late 409
    `VERIFICATION_CODE_EXPIRED` (ask for a new code either way)."""
    reply = await backends.identity.VerifyLearner(pb.VerifyLearnerRequest(**body.model_dump()), timeout=TIMEOUT)
    return as_json(reply)


# ---- out-of-province schools ---------------------------------------------------------------


@router.post("/school-applications", tags=["school applications"],
             dependencies=[limit("school_application", "school_name")], **returns(pb.SchoolApplication, 201))
async def submit_school_application(body: SchoolApplicationBody, backends: Backends) -> dict[str, Any]:
    """Anyone may apply; the platform answers within 2 working days (answer_due_at)."""
    reply = await backends.identity.SubmitSchoolApplication(
        pb.SubmitSchoolApplicationRequest(**body.model_dump()), timeout=TIMEOUT
    )
    return as_json(reply)


@router.get("/school-applications", tags=["school applications"], **returns(page_of(pb.SchoolApplication)))
async def list_school_applications(
    backends: Backends, me: SignedIn, paging: Paging, status: str = "", overdue_only: bool = False
) -> dict[str, Any]:
    """Platform admins; `overdue_only=true` lists pending applications past their answer deadline."""
    reply = await backends.identity.ListSchoolApplications(
        pb.ListSchoolApplicationsRequest(
            status=status, overdue_only=overdue_only, page_size=paging.page_size, page_token=paging.page_token
        ),
        metadata=me.metadata,
        timeout=TIMEOUT,
    )
    return page_json(list(reply.applications), reply.next_page_token, reply.total)


@router.get("/school-applications/{application_id}", tags=["school applications"], **returns(pb.SchoolApplication))
async def get_school_application(application_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    reply = await backends.identity.GetSchoolApplication(
        pb.GetSchoolApplicationRequest(id=application_id), metadata=me.metadata, timeout=TIMEOUT
    )
    return as_json(reply)


@router.post("/school-applications/{application_id}/admin-credentials", tags=["school applications"],
             **returns(IssuedCredentialsAnswer))
async def issue_admin_credentials(application_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """A new one-time password for an approved school's first admin, until that admin sets a password: mailed
    to the application's address (as at the approval) and on a credentials sheet for you."""
    reply = await backends.identity.IssueSchoolAdminCredentials(
        pb.IssueSchoolAdminCredentialsRequest(application_id=application_id), metadata=me.metadata, timeout=TIMEOUT
    )
    return with_sheet_url(reply)
