"""The identity service's handlers, one class per aggregate, wired together once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.review.v1 import review_pb2
from servicekit.clock import utcnow
from servicekit.consumer import EventMeta
from servicekit.db import Database
from services.identity.adapters.signing import TokenSigner
from services.identity.service_layer.accounts import AccountHandlers
from services.identity.service_layer.colleges import CollegeHandlers
from services.identity.service_layer.common import OWNER, IdentityConfig
from services.identity.service_layer.grants import GrantHandlers
from services.identity.service_layer.imports import ImportHandlers
from services.identity.service_layer.learners import LearnerHandlers
from services.identity.service_layer.passwords import PasswordHandlers, TeachesStudent
from services.identity.service_layer.registrations import RegistrationHandlers
from services.identity.service_layer.schools import SchoolHandlers
from services.identity.service_layer.sign_in import SignInHandlers

__all__ = ["OWNER", "IdentityConfig", "IdentityHandlers"]


async def _teaches_nobody(student_id: str) -> bool:
    return False


@dataclass(frozen=True)
class IdentityHandlers:
    sign_in: SignInHandlers
    accounts: AccountHandlers
    schools: SchoolHandlers
    imports: ImportHandlers
    registrations: RegistrationHandlers
    grants: GrantHandlers
    passwords: PasswordHandlers
    learners: LearnerHandlers
    colleges: CollegeHandlers

    @classmethod
    def build(
        cls,
        db: Database,
        signer: TokenSigner,
        config: IdentityConfig,
        clock: Callable[[], datetime] = utcnow,
        teaches_student: TeachesStudent = _teaches_nobody,
        mail_enabled: bool = False,
        mail_written: Callable[[], None] = lambda: None,
    ) -> IdentityHandlers:
        return cls(
            sign_in=SignInHandlers(db, signer, config, clock),
            accounts=AccountHandlers(db, clock),
            schools=SchoolHandlers(db, config, mail_enabled, mail_written, clock),
            imports=ImportHandlers(db, clock),
            registrations=RegistrationHandlers(db),
            grants=GrantHandlers(db, clock),
            passwords=PasswordHandlers(db, config, teaches_student, mail_enabled, mail_written, clock),
            learners=LearnerHandlers(db, mail_enabled, mail_written, clock),
            colleges=CollegeHandlers(db, clock),
        )

    async def apply_review_decision(
        self, session: AsyncSession, decided: review_pb2.ReviewDecided, meta: EventMeta
    ) -> None:
        await self.registrations.apply_decision(session, decided)
        await self.schools.apply_decision(session, decided)
