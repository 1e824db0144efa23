"""A pump on OPC UA, monitored from asyncio: an asyncua server simulates a pump with three redundant pressure
tags and three flow tags (from step 10 one pressure tag reports Bad quality; from step 15 one flow tag is stuck,
its value and source timestamp frozen; steps 60-79 are a process upset: flow falls by a third, pressure sags).
The monitor reads every tag with its source timestamp and status code, fuses each channel (bad and stale tags
excluded with their reason), scores the fused row with an ensemble fitted on normal operation, elects a reporter
on the coordination backend, and stores each fused row fenced by its token.

    python aeroguard-py/examples/opcua_pump.py                       # the embedded backend
    python aeroguard-py/examples/opcua_pump.py --backend zookeeper   # a real backend: Client's options from
                                                                     # AEROGUARD_ZK / AEROGUARD_ZK_AUTH / ...
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
from asyncua import Client as UaClient, Server, ua

import aeroguard
from aeroguard import aio

PERIOD = 0.1
BAD_FROM, STUCK_FROM = 10, 15
UPSET = range(60, 80)
PRESSURE, FLOW = ["PT1", "PT2", "PT3"], ["FT1", "FT2", "FT3"]


def plant(step: int, tag: int, upset: bool) -> Tuple[float, float]:
    """The true pressure and flow at `step`, as tag `tag` (0-2) measures them (a small error of its own)."""
    noise = ((step * 7919 + tag * 104729) % 23) / 23.0 - 0.5
    pressure = 4.0 + 0.05 * math.sin(step / 5) + 0.02 * noise
    flow = 12.5 + 0.2 * math.sin(step / 7) + 0.05 * noise
    if upset:
        pressure, flow = pressure - 0.6, flow * 2 / 3
    return pressure, flow


def normal_rows(n: int = 400) -> np.ndarray:
    """Normal operation, fused as the monitor will see it: what the ensemble learns from."""
    return np.array([[np.median([plant(s, t, False)[c] for t in range(3)]) for c in (0, 1)] for s in range(n)])


async def serve_pump(port: int, steps: int, ready: asyncio.Event) -> None:
    """Runs the simulated pump's OPC UA server on 127.0.0.1:`port` for `steps` periods."""
    server = Server()
    await server.init()
    server.set_endpoint(f"opc.tcp://127.0.0.1:{port}/pump")
    ns = await server.register_namespace("urn:aeroguard:pump")
    pump = await server.nodes.objects.add_object(ns, "Pump")
    tags = {name: await pump.add_variable(ns, name, 0.0) for name in PRESSURE + FLOW}
    stuck: Optional[ua.DataValue] = None
    async with server:
        for step in range(steps + 20):
            now = dt.datetime.now(dt.timezone.utc)
            for name, node in tags.items():
                channel, tag = (0, PRESSURE.index(name)) if name in PRESSURE else (1, FLOW.index(name))
                value = plant(step, tag, step in UPSET)[channel]
                status = ua.StatusCodes.Good
                if name == "PT3" and step >= BAD_FROM:
                    value, status = 9.9, ua.StatusCodes.BadSensorFailure
                dv = ua.DataValue(ua.Variant(value, ua.VariantType.Double), ua.StatusCode(status), now, now)
                if name == "FT2" and step >= STUCK_FROM:
                    stuck = stuck or dv
                    dv = stuck
                await node.write_value(dv)
            ready.set()
            await asyncio.sleep(PERIOD)


@dataclass
class Report:
    """What the monitor saw: each tag's exclusions (reason, count), the alarmed steps, the stored points."""

    excluded: Dict[str, Dict[str, int]] = field(default_factory=dict)
    alarms: List[int] = field(default_factory=list)
    degraded: int = 0
    stored: int = 0
    token: int = 0
    fence: Optional[int] = None


async def monitor(url: str, steps: int, client: aio.Client, history: aio.History, series: str) -> Report:
    """Reads, fuses, scores and stores `steps` rows from the pump at `url`, as the elected reporter."""
    ensemble = aeroguard.Ensemble.fit(normal_rows(), random_state=0)
    report = Report()
    lead = await client.election(series).campaign(timeout=10)
    report.token = lead.token
    async with UaClient(url) as ua_client:
        pump = await ua_client.nodes.objects.get_child(["2:Pump"])
        nodes = {name: await pump.get_child([f"2:{name}"]) for name in PRESSURE + FLOW}
        for step in range(steps):
            # A Bad status is data here (the tag says why), not an error.
            values = {name: await node.read_data_value(raise_on_bad_status=False) for name, node in nodes.items()}
            row = []
            for names in (PRESSURE, FLOW):
                dvs = [values[n] for n in names]
                est = aeroguard.fuse(
                    [dv.Value.Value for dv in dvs],
                    sensors=names,
                    times=[dv.SourceTimestamp for dv in dvs],
                    qualities=[dv.StatusCode for dv in dvs],
                    max_age=3 * PERIOD,
                    strategy="median",
                    f=1,
                    when_too_few="mean",
                )
                for tag, reason in est.excluded:
                    kind = reason.split(":")[0]  # "stale: 540 ms old, max 300 ms" counts as stale
                    counts = report.excluded.setdefault(tag, {})
                    counts[kind] = counts.get(kind, 0) + 1
                report.degraded += est.degraded is not None
                row.append(est.value)
            verdict = ensemble.update(np.array(row))
            if verdict.alarm:
                report.alarms.append(step)
            at = int(dt.datetime.now(dt.timezone.utc).timestamp() * 1000)
            await history.append(series, lead.ensure(), [(at, row[1], verdict.alarm)], owner=client.node)
            report.stored += 1
            await asyncio.sleep(PERIOD)
    report.fence = await history.fence(series)
    await lead.resign()
    return report


async def run(port: int, steps: int, client: aio.Client, history: aio.History, series: str) -> Report:
    """The server and the monitor side by side."""
    ready = asyncio.Event()
    server = asyncio.ensure_future(serve_pump(port, steps, ready))
    try:
        await asyncio.wait_for(ready.wait(), 30)
        return await monitor(f"opc.tcp://127.0.0.1:{port}/pump", steps, client, history, series)
    finally:
        server.cancel()
        await asyncio.gather(server, return_exceptions=True)


def main(argv: Optional[List[str]] = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=48400)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--node", default="reporter-1")
    a = p.parse_args(argv)
    # The server runs on loopback without OPC UA security, which asyncua warns of at every connection.
    logging.getLogger("asyncua").setLevel(logging.ERROR)

    async def go() -> Report:
        async with aio.Client("memory", node=a.node) as client:
            return await run(a.port, a.steps, client, aio.History.memory(), "pump-1")

    report = asyncio.run(go())
    for tag, reasons in sorted(report.excluded.items()):
        print(f"{tag} excluded: " + ", ".join(f"{r} ({n} steps)" for r, n in reasons.items()))
    print(f"fused rows marked degraded (too few usable tags for f=1): {report.degraded}")
    print(f"alarms at steps {report.alarms[:3]}...{report.alarms[-1:]} (upset {UPSET.start}-{UPSET.stop - 1})")
    print(f"stored {report.stored} rows under token {report.token}; the series' fence is {report.fence}")


if __name__ == "__main__":
    main()
