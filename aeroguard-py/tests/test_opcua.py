"""The OPC UA example against a real asyncua server and the real Redis (its fenced history): the Bad-quality
tag and the stuck tag are excluded with their reasons, the upset is alarmed (and nothing before it), and every
fused row is stored under the reporter's token."""

import asyncio
import logging
import sys
from pathlib import Path

from aeroguard import aio
from test_coordination import options

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
import opcua_pump as pump  # noqa: E402

STEPS = 90


def test_the_pump_on_opc_ua(unique):
    logging.getLogger("asyncua").setLevel(logging.ERROR)
    series = unique("opcua-pump")

    async def go():
        async with aio.Client("redis", **options("redis", unique("opcua-reporter"))) as client:
            history = client.history()
            report = await pump.run(48401, STEPS, client, history, series)
            stored = await history.range(series)
            return report, stored

    report, stored = asyncio.run(go())
    assert set(report.excluded) == {"PT3", "FT2"}, report.excluded
    bad = report.excluded["PT3"]
    assert list(bad) == ["quality flagged bad"] and bad["quality flagged bad"] >= STEPS - pump.BAD_FROM - 3, bad
    stale = report.excluded["FT2"]
    assert list(stale) == ["stale"] and stale["stale"] >= STEPS - pump.STUCK_FROM - 8, stale
    assert report.alarms, "the upset raised no alarm"
    assert min(report.alarms) in pump.UPSET, f"alarms {report.alarms}, upset {pump.UPSET}"
    assert min(report.alarms) <= pump.UPSET.start + 8, report.alarms
    assert report.stored == STEPS == len(stored)
    assert report.fence == report.token > 0
    assert [s for s, p in enumerate(stored) if p[2]] == report.alarms, "the stored alarms are the ones raised"
