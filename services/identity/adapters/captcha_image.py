"""The graphic captcha: random characters drawn by the `captcha` library as a PNG."""

from __future__ import annotations

import secrets

from captcha.image import ImageCaptcha

from services.identity.domain.guards import CAPTCHA_ALPHABET, CAPTCHA_LENGTH

_image = ImageCaptcha(width=160, height=60)


def new_answer() -> str:
    return "".join(secrets.choice(CAPTCHA_ALPHABET) for _ in range(CAPTCHA_LENGTH))


def draw(answer: str) -> bytes:
    return _image.generate(answer, format="png").getvalue()
