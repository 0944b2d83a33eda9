"""Colleges (学院) against a real database: creating, listing with teacher counts, placing accounts, the token's
claim, and refusals that change nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import jwt
import pytest

from contracts.identity.v1 import identity_pb2
from servicekit.auth import Caller
from servicekit.db import Database
from servicekit.errors import AlreadyExists, InvalidArgument, NotFound, PermissionDenied
from servicekit.migrations import script_location
from services.identity.adapters.signing import TokenSigner
from services.identity.service_layer.handlers import IdentityConfig, IdentityHandlers

PLATFORM = Caller("platform", "platform_admin", None, None, "平台")


@pytest.fixture
async def identity(database_url, tmp_path):  # type: ignore[no-untyped-def]
    url, schema = database_url
    db = Database.from_url(url, schema)
    await db.migrate(script_location("identity"))
    signer = TokenSigner.from_file(tmp_path / "key.pem", "test", create_if_missing=True)
    handlers = IdentityHandlers.build(db, signer, IdentityConfig(host_province="33"),
                                      clock=lambda: datetime(2026, 12, 1, 9, tzinfo=UTC))
    yield handlers
    await db.dispose()


async def school_admin(handlers: IdentityHandlers, code: str) -> Caller:
    school = await handlers.schools.create_school(PLATFORM, code, f"测试大学{code}", "33")
    user, _, _ = await handlers.accounts.create_user(PLATFORM, identity_pb2.CreateUserRequest(
        role="school_admin", school_id=school.id, username=f"{code.lower()}-admin", name="教务处"))
    return Caller(user.id, "school_admin", school.id, "33", "教务处")


async def account(handlers: IdentityHandlers, admin: Caller, role: str, number: str, college_id: str = "") -> str:
    user, _, _ = await handlers.accounts.create_user(admin, identity_pb2.CreateUserRequest(
        role=role, school_id=admin.school_id, number=number, username=f"u-{number.lower()}", name=number,
        college_id=college_id))
    return user.id


async def test_colleges_are_made_counted_and_filled_by_the_school_admin(identity) -> None:  # type: ignore[no-untyped-def]
    handlers = identity
    admin = await school_admin(handlers, "CA")
    cs = (await handlers.colleges.create_college(admin, " 计算机学院 ")).college
    math = (await handlers.colleges.create_college(admin, "数学学院")).college
    assert cs.name == "计算机学院" and cs.school_id == admin.school_id
    with pytest.raises(AlreadyExists):
        await handlers.colleges.create_college(admin, "计算机学院")

    teacher = await account(handlers, admin, "teacher", "T1", cs.id)
    await account(handlers, admin, "teacher", "T2")
    secretary = await account(handlers, admin, "college_admin", "K1", math.id)
    counts = {c.college.name: c.teacher_count for c in await handlers.colleges.list_colleges(admin, "")}
    assert counts == {"计算机学院": 1, "数学学院": 0}  # college admins are not teachers

    moved = await handlers.colleges.set_user_college(admin, teacher, math.id)
    assert moved.college_id == math.id
    cleared = await handlers.colleges.set_user_college(admin, teacher, "")
    assert cleared.college_id is None
    with pytest.raises(InvalidArgument, match="college admin belongs to a college"):
        await handlers.colleges.set_user_college(admin, secretary, "")
    assert (await handlers.accounts.get_user(admin, secretary)).college_id == math.id
    assert (await handlers.colleges.names([math.id, None])) == {math.id: "数学学院"}


async def test_the_token_of_a_college_admin_names_their_college(identity) -> None:  # type: ignore[no-untyped-def]
    handlers = identity
    admin = await school_admin(handlers, "CB")
    college = (await handlers.colleges.create_college(admin, "外国语学院")).college
    _, issued, _ = await handlers.accounts.create_user(admin, identity_pb2.CreateUserRequest(
        role="college_admin", school_id=admin.school_id, username="cb-secretary", name="秘书", college_id=college.id))
    tokens = await handlers.sign_in.login("cb-secretary", issued.initial_password)
    claims = jwt.decode(tokens.access_token, options={"verify_signature": False})
    assert claims["role"] == "college_admin" and claims["college"] == college.id
    _, plain, _ = await handlers.accounts.create_user(admin, identity_pb2.CreateUserRequest(
        role="teacher", school_id=admin.school_id, number="T1", name="老师"))
    tokens = await handlers.sign_in.login(plain.username, plain.initial_password)
    assert "college" not in jwt.decode(tokens.access_token, options={"verify_signature": False})


async def test_refusals_change_nothing(identity) -> None:  # type: ignore[no-untyped-def]
    handlers = identity
    admin = await school_admin(handlers, "CC")
    other = await school_admin(handlers, "CD")
    college = (await handlers.colleges.create_college(admin, "化学学院")).college
    elsewhere = (await handlers.colleges.create_college(other, "化学学院")).college  # the name is per school
    teacher = await account(handlers, admin, "teacher", "T1")
    student = await account(handlers, admin, "student", "S1")
    teacher_caller = Caller(teacher, "teacher", admin.school_id, "33", "T1")

    with pytest.raises(PermissionDenied):
        await handlers.colleges.create_college(teacher_caller, "物理学院")
    with pytest.raises(InvalidArgument):
        await handlers.colleges.create_college(admin, "  ")
    with pytest.raises(PermissionDenied):
        await handlers.colleges.set_user_college(teacher_caller, teacher, college.id)
    with pytest.raises(PermissionDenied):
        await handlers.colleges.set_user_college(other, teacher, elsewhere.id)  # another school's teacher
    with pytest.raises(InvalidArgument, match="not one of the user's school's colleges"):
        await handlers.colleges.set_user_college(admin, teacher, elsewhere.id)
    with pytest.raises(NotFound):
        await handlers.colleges.set_user_college(admin, teacher, "no-such-college")
    with pytest.raises(InvalidArgument, match="only teachers and college admins"):
        await handlers.colleges.set_user_college(admin, student, college.id)
    with pytest.raises(PermissionDenied):
        await handlers.colleges.list_colleges(other, admin.school_id or "")
    with pytest.raises(PermissionDenied):
        await handlers.colleges.list_colleges(Caller("c", "center_admin", None, "33", "中心"), admin.school_id or "")
    assert [c.college.name for c in await handlers.colleges.list_colleges(PLATFORM, admin.school_id or "")] == [
        "化学学院"]
    assert [c.college.name for c in await handlers.colleges.list_colleges(teacher_caller, "")] == ["化学学院"]

    for bad in (identity_pb2.CreateUserRequest(role="college_admin", school_id=admin.school_id, username="k-none",
                                               name="秘书"),
                identity_pb2.CreateUserRequest(role="college_admin", school_id=admin.school_id, username="k-else",
                                               name="秘书", college_id=elsewhere.id),
                identity_pb2.CreateUserRequest(role="student", school_id=admin.school_id, number="S9", name="学生",
                                               college_id=college.id)):
        with pytest.raises(InvalidArgument):
            await handlers.accounts.create_user(admin, bad)
    listed = await handlers.accounts.list_users(admin, "", "", "", 100, "")
    assert {u.username for u in listed.items} == {"cc-admin", "u-t1", "u-s1"}
    assert all(u.college_id is None for u in listed.items)
