"""Logging, configured once by the app factory: one line per event, in UTC, on standard error.

``python app.py`` and gunicorn both write standard error to the terminal or the journal. The
shop's loggers (``shop.*``) and the SDKs' (``sparkpay``, ``examplepay``) take LOG_LEVEL; what they
write names the order's request number and never a secret.
"""

from __future__ import annotations

import logging
import logging.config
import time

#: The loggers this project writes to.
LOGGERS = ("shop", "sparkpay", "examplepay")


class UTCFormatter(logging.Formatter):
    """``2026-12-02T05:41:07Z INFO shop.orders: order SP...: UNPAID -> COMPLETED (webhook)``."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created))


def configure(level: str) -> None:
    """Send the project's log lines at ``level`` and above to standard error (again: replaces, never adds)."""
    logging.config.dictConfig(
        {
            "version": 1,
            # Gunicorn's and the libraries' loggers exist already and keep working.
            "disable_existing_loggers": False,
            "formatters": {"line": {"()": UTCFormatter, "format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
            "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "line"}},
            # They propagate too, so whatever the root logger has (pytest's capture) sees them as well.
            "loggers": {name: {"level": level, "handlers": ["stderr"]} for name in LOGGERS},
        }
    )
