"""Server-Timing: how long the server spent on a request and how many SQL queries
it ran, in a standard response header (browsers' dev tools show it). On when
SERVER_TIMING=true; the benchmarks read it."""

from __future__ import annotations

import time

from django.db import connection


class ServerTimingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        stats = {"queries": 0, "sql": 0.0}

        def count(execute, sql, params, many, context):
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                stats["queries"] += 1
                stats["sql"] += time.perf_counter() - started

        started = time.perf_counter()
        with connection.execute_wrapper(count):
            response = self.get_response(request)
        total = (time.perf_counter() - started) * 1000
        sql = stats["sql"] * 1000
        response["Server-Timing"] = (
            f'app;dur={total:.2f}, sql;desc="{stats["queries"]} queries";dur={sql:.2f}'
        )
        return response
