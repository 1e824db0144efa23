"""asyncio twins of every blocking call, for asyncio programs (asyncua, aiohttp): the same clients, elections,
queues, history and rounds, each call awaitable and run on the bindings' own runtime (no thread per call).
Cancelling a call (``asyncio.wait_for``, ``task.cancel()``) gives up its wait; the session goes on. Watches are
async iterators.

>>> import asyncio
>>> from aeroguard import aio
>>> async def main() -> int:
...     async with aio.Client("memory", node="pump-a") as client:
...         lead = await client.election("pump-1").campaign()
...         token = lead.token
...         await lead.resign()
...         return token
>>> asyncio.run(main()) > 0
True
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, List, Optional, Tuple, TypeVar, Union

from aeroguard import _aeroguard
from aeroguard.config import AsyncTypedConfig as TypedConfig

T = TypeVar("T")

__all__ = [
    "Client",
    "TypedConfig",
    "Delivery",
    "Election",
    "ElectionAuthority",
    "History",
    "HistoryOutbox",
    "Notifier",
    "Outbox",
    "Leadership",
    "Queue",
    "RoundFollower",
    "RoundLeader",
]


class Leadership:
    """A term of leadership with its fencing token; see :class:`aeroguard.Leadership`."""

    def __init__(self, inner: _aeroguard.Leadership) -> None:
        self._inner = inner

    @property
    def token(self) -> int:
        return self._inner.token

    def is_trusted(self) -> bool:
        return self._inner.is_trusted()

    def ensure(self) -> int:
        return self._inner.ensure()

    async def resign(self) -> None:
        await self._inner.resign_async()

    async def lost(self) -> str:
        """Waits until the leadership can no longer be trusted; returns why (cancel it to stop waiting)."""
        return await self._inner.lost_async()


class Election:
    """An election; see :class:`aeroguard.Election`."""

    def __init__(self, inner: _aeroguard.Election) -> None:
        self._inner = inner

    async def campaign(self, timeout: Optional[float] = None) -> Leadership:
        return Leadership(await self._inner.campaign_async(timeout))

    async def run(self, func: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Campaigns, awaits ``func(*args)`` as leader, resigns (also when it raises or is cancelled)."""
        lead = await self.campaign()
        try:
            return await func(*args)
        finally:
            await lead.resign()

    async def contenders(self) -> List[str]:
        return await self._inner.contenders_async()

    async def leader(self) -> Optional[str]:
        return await self._inner.leader_async()

    async def grant(self) -> Optional[Tuple[str, int]]:
        return await self._inner.grant_async()


class Delivery:
    """A taken item; ``await ack()`` removes it for good."""

    def __init__(self, inner: _aeroguard.Delivery) -> None:
        self._inner = inner

    @property
    def payload(self) -> bytes:
        return self._inner.payload

    async def ack(self) -> None:
        await self._inner.ack_async()


class Queue:
    """A queue with at-least-once delivery; see :class:`aeroguard.Queue`."""

    def __init__(self, inner: _aeroguard.Queue) -> None:
        self._inner = inner

    async def put(self, item: bytes) -> None:
        await self._inner.put_async(item)

    async def get(self, timeout: Optional[float] = None) -> Delivery:
        return Delivery(await self._inner.get_async(timeout))

    async def length(self) -> int:
        """``len(queue)``, awaitable."""
        return await self._inner.len_async()


class History:
    """A fenced time-series store; see :class:`aeroguard.History`."""

    def __init__(self, inner: _aeroguard.History) -> None:
        self._inner = inner

    @staticmethod
    def memory() -> History:
        return History(_aeroguard.History.memory())

    async def append(self, series: str, token: int, points: List[Any], *, owner: str) -> None:
        await self._inner.append_async(series, token, points, owner=owner)

    async def range(
        self, series: str, from_ms: int = 0, to_ms: int = 2**62, *, detail: bool = False
    ) -> List[Tuple[Any, ...]]:
        return await self._inner.range_async(series, from_ms, to_ms, detail=detail)

    async def latest(self, series: str, n: int = 100, *, detail: bool = False) -> List[Tuple[Any, ...]]:
        return await self._inner.latest_async(series, n, detail=detail)

    async def buckets(
        self, series: str, from_ms: int = 0, to_ms: int = 2**62
    ) -> List[Tuple[int, int, float, float, float, int]]:
        return await self._inner.buckets_async(series, from_ms, to_ms)

    async def compact(
        self,
        series: str,
        token: int,
        *,
        owner: str,
        keep: float,
        raw: Optional[float] = None,
        bucket: float = 60.0,
        now_ms: Optional[int] = None,
    ) -> Dict[str, int]:
        return await self._inner.compact_async(
            series, token, owner=owner, keep=keep, raw=raw, bucket=bucket, now_ms=now_ms
        )

    async def fence(self, series: str) -> Optional[int]:
        return await self._inner.fence_async(series)


class RoundLeader:
    """The leader's side of a measurement round; see :class:`aeroguard.RoundLeader`."""

    def __init__(self, inner: _aeroguard.RoundLeader) -> None:
        self._inner = inner

    async def run(self, leadership: Leadership) -> Tuple[int, int, List[Tuple[str, str]], List[str], bool]:
        return await self._inner.run_async(leadership._inner)

    @property
    def unattested(self) -> List[Tuple[str, str]]:
        return self._inner.unattested


class RoundFollower:
    """A follower's side of a measurement round; see :class:`aeroguard.RoundFollower`."""

    def __init__(self, inner: _aeroguard.RoundFollower) -> None:
        self._inner = inner

    async def next_round(self, timeout: Optional[float] = None) -> Tuple[int, int, str]:
        return await self._inner.next_round_async(timeout)

    async def submit(self, value: str) -> None:
        await self._inner.submit_async(value)


class Client:
    """One node's connection to a coordination backend, for asyncio: ``async with aio.Client(...) as c``, or
    ``await aio.Client(...).start()``. The arguments are :class:`aeroguard.Client`'s."""

    def __init__(self, backend: str = "memory", *, node: str, **options: Any) -> None:
        self._inner = _aeroguard.Client(backend, node=node, connect=False, **options)

    async def start(self) -> Client:
        await self._inner.start_async()
        return self

    async def __aenter__(self) -> Client:
        return await self.start()

    async def __aexit__(self, *exc: Any) -> bool:
        await self.close()
        return False

    @property
    def node(self) -> str:
        return self._inner.node

    @property
    def backend(self) -> str:
        return self._inner.backend

    def election(self, name: str) -> Election:
        return Election(self._inner.election(name))

    def queue(self, name: str, max_deliveries: Optional[int] = 16) -> Queue:
        return Queue(self._inner.queue(name, max_deliveries))

    async def register(self, service: str, payload: Optional[str] = None) -> _aeroguard.Registration:
        return await self._inner.register_async(service, payload)

    async def instances(self, service: str) -> List[Tuple[str, str]]:
        return await self._inner.instances_async(service)

    def members(self, service: str) -> AsyncIterator[List[str]]:
        """The membership of ``service`` now and after every change: ``async for nodes in client.members(s)``."""
        return self._inner.members_async(service)

    async def get_config(self, key: str) -> Optional[Tuple[int, bytes]]:
        return await self._inner.get_config_async(key)

    async def set_config(self, key: str, value: bytes, version: Optional[int] = None) -> int:
        return await self._inner.set_config_async(key, value, version)

    def config(self, key: str) -> AsyncIterator[Tuple[int, bytes]]:
        """``key``'s value now and every newer one: ``async for version, value in client.config(key)``."""
        return self._inner.config_async(key)

    def session_states(self) -> AsyncIterator[Tuple[str, int]]:
        """Each change of the session's state: ``async for state, epoch in client.session_states()``."""
        return self._inner.session_states_async()

    @property
    def session_state(self) -> Tuple[str, int]:
        return self._inner.session_state

    def round_leader(
        self, name: str, service: str, *, deadline: float = 1.0, quorum: str = "majority"
    ) -> RoundLeader:
        return RoundLeader(self._inner.round_leader(name, service, deadline=deadline, quorum=quorum))

    async def round_follower(self, name: str, service: str) -> RoundFollower:
        return RoundFollower(await self._inner.round_follower_async(name, service))

    def history(self) -> History:
        return History(self._inner.history())

    async def close(self) -> None:
        await self._inner.close_async()


class ElectionAuthority:
    """The Redis election authority, for asyncio; the arguments are :class:`aeroguard.ElectionAuthority`'s."""

    def __init__(self, *, members: List[str], **options: Any) -> None:
        self._inner = _aeroguard.ElectionAuthority(members=members, connect=False, **options)

    async def start(self) -> ElectionAuthority:
        await self._inner.start_async()
        return self

    async def __aenter__(self) -> ElectionAuthority:
        return await self.start()

    async def __aexit__(self, *exc: Any) -> bool:
        await self.close()
        return False

    @property
    def served(self) -> int:
        return self._inner.served

    @property
    def refused(self) -> int:
        return self._inner.refused

    async def close(self) -> None:
        await self._inner.close_async()



class HistoryOutbox:
    """Fenced history appends kept on disk until delivered; see :class:`aeroguard.HistoryOutbox`. ``append``
    writes to local disk and returns at once; ``forward`` is awaitable."""

    def __init__(self, path: str, **limits: Any) -> None:
        self._inner = _aeroguard.HistoryOutbox(path, **limits)

    def append(self, series: str, token: int, points: List[Any], *, owner: str) -> int:
        return self._inner.append(series, token, points, owner=owner)

    async def forward(self, history: Union[History, _aeroguard.History]) -> _aeroguard.ForwardPass:
        """One pass delivering the appends to ``history`` (an ``aio.History`` or an ``aeroguard.History``)."""
        inner = history._inner if isinstance(history, History) else history
        return await self._inner.forward_async(inner)

    def stats(self) -> Dict[str, int]:
        return self._inner.stats()

    def __len__(self) -> int:
        return len(self._inner)


class Notifier:
    """A notifier for asyncio; see :class:`aeroguard.Notifier` (wrap one: ``aio.Notifier(aeroguard.Notifier.webhook(url))``)."""

    def __init__(self, inner: _aeroguard.Notifier) -> None:
        self._inner = inner

    @property
    def name(self) -> str:
        return self._inner.name

    async def notify(self, events: List[_aeroguard.AlertEvent]) -> None:
        await self._inner.notify_async(events)


class Outbox:
    """Records kept on disk until an async sink takes them; see :class:`aeroguard.Outbox`. ``push`` writes to
    local disk and returns at once; ``forward`` awaits ``deliver(record)`` for each record, oldest first (the pass
    runs in a worker thread that hands each record to this loop). Cancelling ``forward`` ends the pass after the
    record in hand, which stays unless it was delivered."""

    def __init__(self, path: str, **limits: Any) -> None:
        self._inner = _aeroguard.Outbox(path, **limits)

    def push(self, record: Any, *, precious: bool = False) -> int:
        return self._inner.push(record, precious=precious)

    async def forward(self, deliver: Callable[[Any], Awaitable[Any]]) -> _aeroguard.ForwardPass:
        loop = asyncio.get_running_loop()
        stop = threading.Event()

        def call(record: Any) -> Any:
            if stop.is_set():
                raise RuntimeError("the forward was cancelled")
            return asyncio.run_coroutine_threadsafe(_awaited(deliver, record), loop).result()

        try:
            return await loop.run_in_executor(None, self._inner.forward, call)
        except asyncio.CancelledError:
            stop.set()
            raise

    def stats(self) -> Dict[str, int]:
        return self._inner.stats()

    def __len__(self) -> int:
        return len(self._inner)


async def _awaited(deliver: Callable[[Any], Awaitable[Any]], record: Any) -> Any:
    return await deliver(record)
