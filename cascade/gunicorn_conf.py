"""gunicorn's settings for Cascade's web process (Dockerfile, docker-compose.yml,
benchmarks/faults.py): `gunicorn -c python:cascade.gunicorn_conf cascade.wsgi`; the
address and the number of workers stay on the command line.

The access log gives each request's duration and its `X-Request-ID` (the one the
response answers, core/logs.py). With LOG_FORMAT=json gunicorn's own lines are JSON
too, as Django's and Celery's are: the access log one object per request, with the
method, path, status, bytes, duration_ms and request_id as fields."""

from __future__ import annotations

import os

accesslog = "-"  # stdout
errorlog = "-"  # stderr
# The combined format, then the duration in milliseconds and the request id.
access_log_format = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms %({x-request-id}o)s'
)

if os.getenv("LOG_FORMAT", "text") == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {"()": "core.logs.JsonFormatter"},
            "access": {"()": "core.logs.AccessJsonFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            },
            "access": {
                "class": "logging.StreamHandler",
                "formatter": "access",
                "stream": "ext://sys.stdout",
            },
        },
        "root": {"level": "INFO", "handlers": ["console"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
        },
    }
