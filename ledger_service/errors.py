"""Errors a person can act on.

Every failure the ledger reports is one of these, carrying the HTTP status the REST face answers with and a
message that says what was wrong and where, so that the CLI and the API tell the same story.
"""


class LedgerError(Exception):
    status_code = 400
    kind = "ledger_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(LedgerError):
    status_code = 404
    kind = "not_found"


class Conflict(LedgerError):
    """The request contradicts what the ledger already holds (same idempotency key, other content; double reversal)."""

    status_code = 409
    kind = "conflict"

    def __init__(self, message: str, idempotency_key: str | None = None):
        super().__init__(message)
        self.idempotency_key = idempotency_key  # the key whose recorded content differs, when that is the conflict


class Invalid(LedgerError):
    """The input cannot be posted as it is (unbalanced entry, unknown account, bad amount)."""

    status_code = 422
    kind = "invalid"


class UnbalancedEntry(Invalid):
    kind = "unbalanced_entry"


class Unauthorized(LedgerError):
    """No credentials, or credentials the ledger does not accept (unknown, malformed or revoked token)."""

    status_code = 401
    kind = "unauthorized"

    def __init__(self, message: str, invalid_token: bool = False):
        super().__init__(message)
        # RFC 6750: a missing token gets the bare challenge; a rejected one says so, so that a client knows to
        # replace its token rather than retry
        self.headers = {"WWW-Authenticate": 'Bearer error="invalid_token"' if invalid_token else "Bearer"}


class Forbidden(LedgerError):
    """Known credentials, but their role or subsidiary scope does not cover what was asked."""

    status_code = 403
    kind = "forbidden"


class Unavailable(LedgerError):
    """The database could not be reached or could not take the work; nothing was written. Retry later."""

    status_code = 503
    kind = "unavailable"
