"""Process logging: one JSON object per line (or plain text for ``make run``), each record carrying the
request id and the store it ran for, with credentials scrubbed from messages before they are written."""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.json import JsonFormatter

request_id_var: ContextVar[str] = ContextVar("autooffice_request_id", default="")
store_var: ContextVar[str] = ContextVar("autooffice_store", default="")

REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

_SECRET_PAIRS = re.compile(
    r"(?i)(\b(?:password|passwd|pwd|secret|token|api[_-]?key|authorization|cookie|session|"
    r"secret_key|client_secret)\b[\"']?\s*[:=]\s*)(\"[^\"]*\"|'[^']*'|Bearer\s+\S+|Basic\s+\S+|[^\s,;&\"'}]+)"
)
_DSN_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)([^@\s/]+)(@)")


def scrub(text: str) -> str:
    """``password=x``, ``"token": "x"``, ``Authorization: Bearer x`` and DSN passwords become ``***``."""
    text = _DSN_PASSWORD.sub(r"\1***\3", text)
    return _SECRET_PAIRS.sub(lambda m: m.group(1) + "***", text)


def new_request_id(incoming: str | None) -> str:
    """The caller's ``X-Request-ID`` when it is a sane token, a fresh one otherwise."""
    if incoming and REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


class ContextFilter(logging.Filter):
    """Adds ``request_id`` and ``store`` to every record and scrubs its message and exception text."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            record.request_id = request_id_var.get()
        if not getattr(record, "store", ""):
            record.store = store_var.get()
        message = record.getMessage()
        clean = scrub(message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        return True


class Json(JsonFormatter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("timestamp", "time")
        kwargs.setdefault("json_ensure_ascii", False)
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger", "process": "pid"})
        super().__init__("%(levelname)s %(name)s %(process)d %(message)s", *args, **kwargs)

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        for key, value in list(log_data.items()):
            if value in ("", None):
                del log_data[key]  # no empty request_id/store on lines outside a request
            elif isinstance(value, str) and key not in {"time", "level", "logger"}:
                log_data[key] = scrub(value)
        return log_data


TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s %(store)s] %(message)s"


def logging_config(fmt: str = "json", level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dict; uvicorn applies it in every worker process."""
    formatter = {"()": "app.logs.Json"} if fmt == "json" else {"format": TEXT_FORMAT}
    handler = {
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
        "formatter": "main",
        "filters": ["context"],
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "app.logs.ContextFilter"}},
        "formatters": {"main": formatter},
        "handlers": {"main": handler},
        "root": {"handlers": ["main"], "level": level},
        "loggers": {
            # Our own access line (app.web.observe) replaces uvicorn's; its error logger stays.
            "uvicorn": {"handlers": ["main"], "level": level, "propagate": False},
            "uvicorn.error": {"handlers": ["main"], "level": level, "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "procrastinate": {"level": "WARNING"},
        },
    }


def configure(fmt: str = "json", level: str = "INFO") -> None:
    import logging.config

    logging.config.dictConfig(logging_config(fmt, level))
