"""Accounts and schools: sign-in, sessions, registration, imports, out-of-province applications."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Query, UploadFile
from pydantic import BaseModel, Field

from contracts.identity.v1 import identity_pb2 as pb
from gateway.routes.deps import TIMEOUT, Backends, Paging, SignedIn, as_json, page_json

router = APIRouter()


class LoginBody(BaseModel):
    login: str = Field(description="username or phone number", max_length=64)
    password: str = Field(max_length=200)


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
    role: Literal["student", "teacher", "school_admin", "center_admin", "platform_admin"]
    name: str = Field(max_length=100)
    school_id: str = Field("", max_length=36)
    province_code: str = Field("", max_length=6)
    username: str = Field("", max_length=64, description="defaults to <school code>-<number>")
    phone: str = Field("", max_length=20)
    email: str = Field("", max_length=200)
    number: str = Field("", max_length=32, description="student or staff number")
    class_name: str = Field("", max_length=100)


class TeacherRegistrationBody(BaseModel):
    school_id: str = Field(max_length=36)
    username: str = Field(max_length=64)
    password: str = Field(max_length=200)
    name: str = Field(max_length=100)
    phone: str = Field(max_length=20)
    email: str = Field("", max_length=200)
    staff_number: str = Field(max_length=32)


class SchoolApplicationBody(BaseModel):
    school_name: str = Field(max_length=100)
    province_code: str = Field(max_length=6)
    contact_name: str = Field(max_length=100)
    phone: str = Field(max_length=20)
    email: str = Field(max_length=200)
    reason: str = Field(max_length=2000)


# ---- sign-in and sessions --------------------------------------------------------------


@router.post("/auth/login", tags=["auth"])
async def login(body: LoginBody, backends: Backends) -> dict[str, Any]:
    """Sign in with a username or phone number. Five failures in a row lock the account for 15 minutes."""
    reply = await backends.identity.Login(pb.LoginRequest(login=body.login, password=body.password), timeout=TIMEOUT)
    return as_json(reply)


@router.post("/auth/refresh", tags=["auth"])
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


@router.post("/auth/password", tags=["auth"])
async def change_password(body: ChangePasswordBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """Change the password (required at first sign-in for accounts an admin created); returns new tokens."""
    reply = await backends.identity.ChangePassword(
        pb.ChangePasswordRequest(**body.model_dump()), metadata=me.metadata, timeout=TIMEOUT
    )
    return as_json(reply)


@router.get("/me", tags=["auth"])
async def get_me(backends: Backends, me: SignedIn) -> dict[str, Any]:
    return as_json(await backends.identity.GetMe(pb.GetMeRequest(), metadata=me.metadata, timeout=TIMEOUT))


# ---- provinces, schools, users ----------------------------------------------------------


@router.get("/provinces", tags=["schools"])
async def list_provinces(backends: Backends) -> dict[str, Any]:
    reply = await backends.identity.ListProvinces(pb.ListProvincesRequest(), timeout=TIMEOUT)
    return {"items": [as_json(p) for p in reply.provinces], "next_page_token": "", "total": len(reply.provinces)}


@router.get("/schools", tags=["schools"])
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


@router.post("/schools", tags=["schools"], status_code=201)
async def create_school(body: SchoolBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """Platform admins, or the provincial center for its own province."""
    reply = await backends.identity.CreateSchool(
        pb.CreateSchoolRequest(**body.model_dump()), metadata=me.metadata, timeout=TIMEOUT
    )
    return as_json(reply)


@router.get("/users", tags=["users"])
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


@router.post("/users", tags=["users"], status_code=201)
async def create_user(body: UserBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """Creates an account with a one-time initial password, shown once in the answer."""
    reply = await backends.identity.CreateUser(
        pb.CreateUserRequest(**body.model_dump()), metadata=me.metadata, timeout=TIMEOUT
    )
    return as_json(reply)


@router.post("/schools/{school_id}/imports", tags=["users"])
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
    same file again creates no duplicates. New accounts' one-time passwords are in the answer."""
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
    return as_json(reply)


# ---- teacher self-registration ------------------------------------------------------------


@router.post("/registrations/teachers", tags=["registration"], status_code=201)
async def register_teacher(body: TeacherRegistrationBody, backends: Backends) -> dict[str, Any]:
    """The account stays pending until the school's admin approves it in the review queue."""
    reply = await backends.identity.RegisterTeacher(pb.RegisterTeacherRequest(**body.model_dump()), timeout=TIMEOUT)
    return as_json(reply)


# ---- out-of-province schools ---------------------------------------------------------------


@router.post("/school-applications", tags=["school applications"], status_code=201)
async def submit_school_application(body: SchoolApplicationBody, backends: Backends) -> dict[str, Any]:
    """Anyone may apply; the platform answers within 2 working days (answer_due_at)."""
    reply = await backends.identity.SubmitSchoolApplication(
        pb.SubmitSchoolApplicationRequest(**body.model_dump()), timeout=TIMEOUT
    )
    return as_json(reply)


@router.get("/school-applications", tags=["school applications"])
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


@router.get("/school-applications/{application_id}", tags=["school applications"])
async def get_school_application(application_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    reply = await backends.identity.GetSchoolApplication(
        pb.GetSchoolApplicationRequest(id=application_id), metadata=me.metadata, timeout=TIMEOUT
    )
    return as_json(reply)


@router.post("/school-applications/{application_id}/admin-credentials", tags=["school applications"])
async def issue_admin_credentials(application_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """One-time credentials of an approved school's first admin, until that admin sets a password."""
    reply = await backends.identity.IssueSchoolAdminCredentials(
        pb.IssueSchoolAdminCredentialsRequest(application_id=application_id), metadata=me.metadata, timeout=TIMEOUT
    )
    return as_json(reply)
