"""The Celery app, as in Celery's "First steps with Django" guide. Tasks live in each
app's tasks.py; code enqueues them with core.tasks.enqueue_on_commit."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cascade.settings")

app = Celery("cascade")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
