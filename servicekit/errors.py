"""Domain errors. Services raise these; the gRPC interceptor maps them to status codes."""


class DomainError(Exception):
    """A refusal with a readable message and an optional machine-readable reason."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


class InvalidArgument(DomainError):
    """The request itself is wrong."""


class NotFound(DomainError):
    """The subject does not exist, or the caller may not know it exists."""


class AlreadyExists(DomainError):
    """Creating something that is already there."""


class FailedPrecondition(DomainError):
    """The request is well formed but the subject's state does not allow it."""


class PermissionDenied(DomainError):
    """The caller is known but may not do this."""


class Unauthenticated(DomainError):
    """No valid credentials."""


class Unavailable(DomainError):
    """A service this one needs did not answer; the same request may succeed later."""
