"""Typed configuration that keeps the last good value, on memory and on the real ZooKeeper ensemble and Redis."""

import asyncio
import json

import pytest

import aeroguard
from aeroguard import aio
from aeroguard.config import AsyncTypedConfig, TypedConfig
from test_coordination import BACKENDS, connect, options


def limits(v):
    return v["max_bar"] > 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_bad_value_is_refused_and_the_last_good_one_stays(backend, unique):
    key = unique("limits")
    with connect(backend, "cfg-1") as c:
        seen = []
        cfg = TypedConfig(c, key, json.loads, validate=limits, on_change=lambda v, ver: seen.append((ver, v)))
        with pytest.raises(TimeoutError, match="no good value"):
            cfg.wait(timeout=0.3)
        v1 = c.set_config(key, b'{"max_bar": 6.5}')
        assert cfg.wait(timeout=10) == {"max_bar": 6.5} and cfg.version == v1
        v2 = c.set_config(key, b'{"max_bar": ')
        cfg.wait_version(v2, timeout=10)
        assert cfg.value == {"max_bar": 6.5} and cfg.version == v1
        assert cfg.error.startswith(f"version {v2} refused: ") and cfg.rejected == 1
        v3 = c.set_config(key, b'{"max_bar": -1}')
        cfg.wait_version(v3, timeout=10)
        assert cfg.error == f"version {v3} refused: validate returned False" and cfg.rejected == 2
        v4 = c.set_config(key, b'{"max_bar": 7.0}')
        cfg.wait_version(v4, timeout=10)
        assert cfg.value == {"max_bar": 7.0} and cfg.error is None
        assert seen == [(v1, {"max_bar": 6.5}), (v4, {"max_bar": 7.0})]
        cfg.close()


def test_the_asyncio_config_keeps_the_last_good_value(unique):
    key = unique("limits-aio")

    async def main():
        async with aio.Client("memory", **options("memory", "cfg-2")) as c:
            async with AsyncTypedConfig(c, key, json.loads, validate=limits) as cfg:
                await c.set_config(key, b'{"max_bar": 3.0}')
                assert await asyncio.wait_for(cfg.wait(), 5) == {"max_bar": 3.0}
                bad = await c.set_config(key, b"[]")
                await asyncio.wait_for(cfg.wait_version(bad), 5)
                assert cfg.value == {"max_bar": 3.0} and "refused" in cfg.error

    asyncio.run(main())
