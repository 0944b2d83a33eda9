"""What the identity handlers share: configuration, results, and small lookups."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.identity.v1 import identity_pb2
from servicekit.db import Database
from servicekit.errors import AlreadyExists, NotFound
from servicekit.outbox import emit
from servicekit.pagination import fetch_page
from services.identity.adapters.orm import School, User, outbox

OWNER = "identity"


@dataclass(frozen=True)
class IdentityConfig:
    host_province: str
    access_token_ttl: timedelta = timedelta(minutes=15)
    refresh_token_ttl: timedelta = timedelta(days=14)
    public_url: str = "http://127.0.0.1:8080"  # where mailed links point (the web console)
    captcha_test_mode: bool = False  # the captcha's answer travels with it: tests only, never production


@dataclass(frozen=True)
class Issued:
    """Credentials made by the platform: shown once, never stored in clear."""

    user_id: str
    username: str
    initial_password: str


@dataclass(frozen=True)
class Page:
    items: list
    next_page_token: str
    total: int


async def read_page(db: Database, statement, page_size: int, page_token: str) -> Page:  # type: ignore[no-untyped-def]
    async with db.read() as session:
        return Page(*await fetch_page(session, statement, page_size, page_token))


async def load_user(session: AsyncSession, user_id: str) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("no such user")
    return user


async def refuse_taken(
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


async def announce_school(session: AsyncSession, school: School) -> None:
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
