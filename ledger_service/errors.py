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
