"""The shared cache, degrading to "no cache" when Redis fails.

Nothing in the cache is needed for a right answer (summaries are recomputed, throttle
counts skipped), so a dead or frozen Redis must never fail or stall a request. Every
call has short socket timeouts (settings.CACHES), and after a failure the process
stops asking for a few seconds: a frozen Redis costs one timeout per process then,
not one per call."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any, Concatenate

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

log = logging.getLogger("cascade.cache")

PAUSE = 5.0  # seconds without asking after a failure
_down_until = 0.0


# A cache call's arguments (keys, and values to cache: anything) to its answer.
type Answer[T] = Callable[[tuple[Any, ...], dict[str, Any]], T]


def _degrades[**P, R, D](
    answer_when_down: Answer[D],
) -> Callable[
    [Callable[Concatenate[RedisCache, P], R]], Callable[Concatenate[RedisCache, P], R | D]
]:
    """Run the cache call unless Redis failed within PAUSE; on a Redis or socket error,
    log it once and answer `answer_when_down(args, kwargs)` instead."""

    def decorate(
        method: Callable[Concatenate[RedisCache, P], R],
    ) -> Callable[Concatenate[RedisCache, P], R | D]:
        @functools.wraps(method)
        def guarded(self: RedisCache, *args: P.args, **kwargs: P.kwargs) -> R | D:
            global _down_until
            if time.monotonic() < _down_until:
                return answer_when_down(args, kwargs)
            try:
                return method(self, *args, **kwargs)
            except (RedisError, OSError) as exc:
                _down_until = time.monotonic() + PAUSE
                log.warning(
                    "Cache unreachable (%s: %s): going on without it for %s s",
                    type(exc).__name__,
                    exc,
                    PAUSE,
                )
                return answer_when_down(args, kwargs)

        return guarded

    return decorate


def unreachable() -> bool:
    """Whether the cache failed within the last PAUSE seconds: its answers until then
    are stand-ins ("not cached"), not what it holds."""
    return time.monotonic() < _down_until


def _default(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return kwargs.get("default", args[1] if len(args) > 1 else None)


def _nothing(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    return None


def _no(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    return False


def _empty(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    return {}


def _failed_keys(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[str]:
    return list(args[0]) if args else []


class ResilientRedisCache(RedisCache):
    """Django's Redis cache whose calls answer "not cached" while Redis is failing."""

    get = _degrades(_default)(RedisCache.get)
    get_many = _degrades(_empty)(RedisCache.get_many)
    has_key = _degrades(_no)(RedisCache.has_key)
    add = _degrades(_no)(RedisCache.add)
    set = _degrades(_nothing)(RedisCache.set)
    set_many = _degrades(_failed_keys)(RedisCache.set_many)
    touch = _degrades(_no)(RedisCache.touch)
    delete = _degrades(_no)(RedisCache.delete)
    delete_many = _degrades(_nothing)(RedisCache.delete_many)
    # Down, these two answer apart from Django's types: incr counted nothing (None, not
    # the new count), and clear cleared nothing (False).
    incr = _degrades(_nothing)(RedisCache.incr)  # type: ignore[assignment]
    clear = _degrades(_no)(RedisCache.clear)  # type: ignore[assignment]
