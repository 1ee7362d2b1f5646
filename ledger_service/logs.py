"""Logging for the service, by the settings' level and format.

`text` is for a person at a terminal; `json` is one object per line (time, level, logger, message, and the
traceback when there is one) for a log collector, which cannot reassemble multi-line text records. uvicorn's own
loggers (startup, access lines) are routed through the same handler so the whole stream has one format.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

from ledger_service.settings import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(settings: Settings) -> None:
    """Root logger at the settings' level, one stderr handler in the settings' format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if settings.log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    # Alembic announces its context at INFO on every /ready probe; keep that for DEBUG.
    logging.getLogger("alembic").setLevel(logging.DEBUG if settings.log_level == "DEBUG" else logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # uvicorn would otherwise keep handlers of its own in its own format
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
