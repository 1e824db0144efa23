"""Typed configuration that keeps the last good value: a config key read through your parser (``json.loads``, a
pydantic model's ``model_validate_json``, a dataclass factory), hot-reloaded through the backend's watch. A new
value that does not parse, or that ``validate`` refuses, is not applied: the last good one stays in force and
``error`` says what was wrong with the newer one, as the Rust side's ``Config<T>`` does.

>>> import json
>>> import aeroguard
>>> from aeroguard.config import TypedConfig
>>> client = aeroguard.Client("memory", node="cfg-doc")
>>> _ = client.set_config("limits-doc", b'{"max_bar": 6.5}')
>>> limits = TypedConfig(client, "limits-doc", json.loads, validate=lambda v: v["max_bar"] > 0)
>>> limits.wait(timeout=5)["max_bar"]
6.5
>>> _ = client.set_config("limits-doc", b'{"max_bar": -1}')
>>> limits.wait_version(2, timeout=5)
>>> limits.value["max_bar"], limits.rejected, limits.error
(6.5, 1, 'version 2 refused: validate returned False')
>>> limits.close(); client.close()
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Callable, Generic, Optional, Tuple, TypeVar

from aeroguard import _aeroguard

T = TypeVar("T")


class _LastGood(Generic[T]):
    """The state both flavours share: the last good value and version, the last refusal."""

    def __init__(self, parse: Callable[[bytes], T], validate: Optional[Callable[[T], bool]]) -> None:
        self._parse, self._validate = parse, validate
        self._lock = threading.Condition()
        self._good: Optional[Tuple[int, T]] = None
        self._seen = 0
        self.error: Optional[str] = None
        self.rejected = 0

    def offer(self, version: int, raw: bytes) -> Optional[T]:
        """Parses and checks a new version; returns it if it is now in force."""
        try:
            value = self._parse(raw)
            if self._validate is not None and not self._validate(value):
                raise ValueError("validate returned False")
            refusal = None
        except Exception as e:  # noqa: BLE001 - any parser's error is a refusal, reported
            refusal = str(e) or type(e).__name__
        with self._lock:
            self._seen = max(self._seen, version)
            if refusal is not None:
                self.error, self.rejected = f"version {version} refused: {refusal}", self.rejected + 1
                self._lock.notify_all()
                return None
            self._good, self.error = (version, value), None
            self._lock.notify_all()
            return value

    @property
    def value(self) -> Optional[T]:
        with self._lock:
            return None if self._good is None else self._good[1]

    @property
    def version(self) -> Optional[int]:
        with self._lock:
            return None if self._good is None else self._good[0]

    def wait_until(self, done: Callable[[], bool], timeout: Optional[float], what: str) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while not done():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise TimeoutError(f"no {what} within {timeout} s")
                self._lock.wait(left)


class TypedConfig(_LastGood[T]):
    """``key`` on ``client``, parsed by ``parse`` (bytes to a value) and checked by ``validate``; ``value`` is the
    last good value (``None`` before one arrives), ``version`` its version, ``error`` why the newest was refused
    (``None`` once a good one is in force again), ``rejected`` how many were. ``on_change(value, version)`` is
    called on the watch's thread for each value put in force."""

    def __init__(
        self,
        client: _aeroguard.Client,
        key: str,
        parse: Callable[[bytes], T],
        *,
        validate: Optional[Callable[[T], bool]] = None,
        on_change: Optional[Callable[[T, int], Any]] = None,
    ) -> None:
        super().__init__(parse, validate)
        self.key = key
        self._on_change = on_change
        self._watch = client.watch_config(key, self._event)

    def _event(self, version: int, raw: bytes) -> None:
        value = self.offer(version, raw)
        if value is not None and self._on_change is not None:
            self._on_change(value, version)

    def wait(self, timeout: Optional[float] = None) -> T:
        """The value, once a good one is in force (``TimeoutError`` after ``timeout`` seconds)."""
        self.wait_until(lambda: self._good is not None, timeout, f"good value of {self.key}")
        assert self._good is not None
        return self._good[1]

    def wait_version(self, version: int, timeout: Optional[float] = None) -> None:
        """Returns once ``version`` (or a newer one) was seen, put in force or refused."""
        self.wait_until(lambda: self._seen >= version, timeout, f"version {version} of {self.key}")

    def close(self) -> None:
        """Stops watching; the last good value stays readable."""
        self._watch.stop()


class AsyncTypedConfig(_LastGood[T]):
    """:class:`TypedConfig` for asyncio (``aeroguard.aio.Client``): ``await cfg.start()`` (or ``async with``)
    runs the watch as a task of the running loop."""

    def __init__(
        self,
        client: Any,
        key: str,
        parse: Callable[[bytes], T],
        *,
        validate: Optional[Callable[[T], bool]] = None,
    ) -> None:
        super().__init__(parse, validate)
        self.key, self._client = key, client
        self._task: Optional[asyncio.Task[None]] = None
        self._changed = asyncio.Event()

    async def start(self) -> AsyncTypedConfig[T]:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())
        return self

    async def _run(self) -> None:
        async for version, raw in self._client.config(self.key):
            self.offer(version, raw)
            self._changed.set()

    async def wait(self) -> T:
        """The value, once a good one is in force (wrap in ``asyncio.wait_for`` for a timeout)."""
        while self.value is None:
            self._changed.clear()
            await self._changed.wait()
        return self.value

    async def wait_version(self, version: int) -> None:
        """Returns once ``version`` (or a newer one) was seen."""
        while self._seen < version:
            self._changed.clear()
            await self._changed.wait()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def __aenter__(self) -> AsyncTypedConfig[T]:
        return await self.start()

    async def __aexit__(self, *exc: Any) -> bool:
        await self.close()
        return False


__all__ = ["TypedConfig", "AsyncTypedConfig"]
