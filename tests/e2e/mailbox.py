"""Reading the mails the embedded run's SMTP server kept in the data folder."""

from __future__ import annotations

import re
from email.message import EmailMessage

from devmesh.mesh import Mesh
from devmesh.smtp import read_mails
from tests.support import wait_until


def mails_to(mesh: Mesh, address: str) -> list[EmailMessage]:
    return [m for m in read_mails(mesh.mail_dir) if address in str(m["To"])]


def wait_for_mail(mesh: Mesh, address: str, count: int = 1, timeout: float = 20.0) -> EmailMessage:
    """The `count`-th mail to `address` (1 = the first), once it arrived."""
    mails = wait_until(lambda: (found := mails_to(mesh, address)) and len(found) >= count and found, timeout=timeout)
    return mails[count - 1]


def body_of(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()


def field(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    assert found, f"{pattern!r} not in {text!r}"
    return found.group(1)
