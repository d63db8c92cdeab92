"""Log lines for web and worker alike: text (the default) or JSON, one object per line,
chosen by LOG_FORMAT; both carry the time, level, logger, process and request id.

The request id is the request's `X-Request-ID` (django-log-request-id keeps it for the
request's thread). A task enqueued while it is set carries it in a message header, and
the worker sets it again while the task runs, so the task's lines carry it too."""

from __future__ import annotations

import json
import logging
import logging.config
from collections.abc import Mapping
from typing import Any

from celery import Task
from celery.worker.request import Request
from log_request_id import local

HEADER = "X-Request-ID"
MAX_LENGTH = 64
NONE = "-"  # a line logged outside any request or task (settings.NO_REQUEST_ID)
TASK_HEADER = "request_id"  # the Celery message header that carries it to the worker


def configure(config: dict[str, Any]) -> None:
    """settings.LOGGING_CONFIG: Django's dictConfig, and Python's warnings (a
    library's UserWarning, Celery's SecurityWarning) as log lines of that format rather
    than bare text on stderr."""
    logging.config.dictConfig(config)
    logging.captureWarnings(True)


def valid_request_id(value: str) -> bool:
    """1 to 64 printable ASCII characters (space included): safe in a header, a log
    line and a page. Anything else a client sends is replaced with a new id."""
    return 0 < len(value) <= MAX_LENGTH and all(" " <= char <= "~" for char in value)


def current_request_id() -> str | None:
    """The id of the request (or task) this thread is serving, if any."""
    return getattr(local, "request_id", None)


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors; a traceback is inside it."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(self.fields(record), ensure_ascii=False, default=str)

    def fields(self, record: logging.LogRecord) -> dict[str, Any]:
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "process": record.process,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id and request_id != NONE:
            line["request_id"] = request_id
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return line


class AccessJsonFormatter(JsonFormatter):
    """gunicorn's access log as JSON: its line as `message`, and each part as a field.
    gunicorn hands the log call its atoms (a mapping) as the record's arguments."""

    def fields(self, record: logging.LogRecord) -> dict[str, Any]:
        line = super().fields(record)
        atoms: Mapping[str, Any] = record.args if isinstance(record.args, Mapping) else {}
        query = atoms.get("q") or ""
        line.update(
            {
                "method": atoms.get("m"),
                "path": atoms.get("U", "") + (f"?{query}" if query else ""),
                "status": _number(atoms.get("s")),
                "bytes": _number(atoms.get("B")),
                "duration_ms": round(int(atoms.get("D") or 0) / 1000, 3),
                "remote_addr": atoms.get("h"),
                "user_agent": atoms.get("a"),
            }
        )
        request_id = atoms.get("{x-request-id}o")
        if request_id and request_id != NONE:
            line["request_id"] = request_id
        return line


def _number(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


# Celery: the id crosses to the worker in a message header (the signal receivers are
# connected in cascade/celery.py).


class TaskRequest(Request):
    """A task as the worker receives it: the id it carries is set while the worker
    logs that it was received (in the consumer, before the task runs);
    `forget_request_id` clears it on the task_received signal, sent right after."""

    __slots__ = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _carry(self.request_dict.get(TASK_HEADER))


class TaskWithRequestId(Task[Any, Any]):
    """The app's task base class (cascade/celery.py): its worker requests are
    TaskRequest."""

    Request = "core.logs:TaskRequest"


def put_request_id_in_task(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    """before_task_publish: the enqueuing request's id rides in the message."""
    request_id = current_request_id()
    if headers is not None and request_id:
        headers[TASK_HEADER] = request_id


def take_request_id_from_task(task: Any = None, **kwargs: Any) -> None:
    """task_prerun: the task's lines carry the id of the request that enqueued it. An
    inline (eager) task runs inside that request, whose id stays as it is."""
    if task is None or task.request.is_eager:
        return
    _carry(task.request.get(TASK_HEADER))


def _carry(request_id: object) -> None:
    """Set the id a task's message carries for this thread's lines (a missing or
    unsound one: none)."""
    if isinstance(request_id, str) and valid_request_id(request_id):
        local.request_id = request_id
    else:
        forget_request_id()


def drop_request_id_after_task(task: Any = None, **kwargs: Any) -> None:
    """task_postrun: the next task in this process starts without it."""
    if task is not None and not task.request.is_eager:
        forget_request_id()


def forget_request_id(**kwargs: Any) -> None:
    if hasattr(local, "request_id"):
        del local.request_id
