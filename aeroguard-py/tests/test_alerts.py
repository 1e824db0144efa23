"""Alerts and notifiers from Python: the engine on the samples' own times, its hand-over, and real receivers
(the services' Alertmanager, HTTPS webhook receiver and STARTTLS SMTP server)."""

import asyncio
import base64
import json
import os
import time
import urllib.parse
import urllib.request

import pytest

import aeroguard
from aeroguard import aio
from conftest import services_credential

RULES = """
[[rule]]
name = "hot"
above = 90.0
for = "2m"
keep_firing_for = "30s"
severity = "critical"
labels = { site = "north" }

[[rule]]
name = "process-anomaly"
anomaly = true
"""
S = 1000  # ms


def test_alerts_fire_and_resolve_on_the_samples_own_times():
    alerts = aeroguard.Alerts(RULES)
    assert [e.status for e in alerts.observe("pump-1", 0, 95.0)] == ["pending"]
    assert alerts.observe("pump-1", 60 * S, 95.0) == [], "one minute is not two"
    (fired,) = alerts.observe("pump-1", 120 * S, 96.0)
    assert (fired.rule, fired.status, fired.since_ms, fired.severity, fired.labels) == (
        "hot", "firing", 0, "critical", {"site": "north"}
    )
    assert alerts.firing() == [("hot", "pump-1")]
    assert alerts.observe("pump-1", 130 * S, 80.0) == [], "kept firing for 30 s"
    (resolved,) = alerts.observe("pump-1", 160 * S, 80.0)
    assert resolved.status == "resolved" and resolved.at_ms == 160 * S
    assert [e.status for e in alerts.observe("pump-1", 161 * S, 80.0, anomalous=True)] == ["firing"]


def test_rules_as_dicts_and_bad_rules_named():
    alerts = aeroguard.Alerts([{"name": "low-flow", "below": 9.0, "for": 0.2, "severity": "warning"}])
    assert alerts.observe("flow", 0, 8.0)[0].status == "pending"
    assert alerts.observe("flow", 200, 8.0)[0].status == "firing"
    with pytest.raises(ValueError, match="line 3"):
        aeroguard.Alerts('[[rule]]\nname = "x"\nabove = "high"\n')
    with pytest.raises(ValueError, match=r"rules\[0\]: unknown field \"fro\""):
        aeroguard.Alerts([{"name": "x", "above": 1.0, "fro": 3}])
    with pytest.raises(ValueError, match=r"rules\[0\]: give one of"):
        aeroguard.Alerts([{"name": "x", "above": 1.0, "below": 0.0}])
    with pytest.raises(ValueError, match="severity"):
        aeroguard.Alerts([{"name": "x", "anomaly": True, "severity": "urgent"}])
    with pytest.raises(ValueError):
        alerts.observe("flow", 100, 8.0)  # before the series' last sample
    with pytest.raises(ValueError):
        alerts.observe("flow", 300, float("nan"))


def test_a_successor_takes_over_firing_alerts_without_a_new_notification():
    old = aeroguard.Alerts(RULES)
    old.observe("pump-2", 0, 99.0)
    old.observe("pump-2", 120 * S, 99.0)
    new = aeroguard.Alerts(RULES)
    new.restore(old.state())
    assert new.firing() == [("hot", "pump-2")]
    assert new.observe("pump-2", 125 * S, 99.0) == [], "still firing: nothing new to send"
    (again,) = new.refresh(126 * S)
    assert (again.status, again.since_ms, again.value) == ("firing", 0, 99.0)
    with pytest.raises(ValueError, match="state"):
        new.restore('{"alerts": 3}')
    gone = new.replace_rules([{"name": "process-anomaly", "anomaly": True}], 127 * S)
    assert [(e.rule, e.status) for e in gone] == [("hot", "resolved")]


def marker(what):
    return f"{what}-{os.getpid()}-{time.time_ns()}"


def firing(rule, series="pump-7"):
    """An alert that fired on a sample 2 s old (samples are stamped when measured, a little before they are
    sent: a resolution stamped ahead of Alertmanager's clock would not end the alert there yet)."""
    alerts = aeroguard.Alerts([{"name": rule, "above": 90.0}])
    return alerts, alerts.observe(series, int(time.time() * 1000) - 2000, 95.5)


def test_an_https_webhook_is_delivered_and_a_wrong_token_refused():
    ca = services_credential("AEROGUARD_RECEIVERS_CA")
    token = services_credential("AEROGUARD_WEBHOOK_TOKEN")
    rule = marker("py-hook")
    _, events = firing(rule)
    aeroguard.Notifier.webhook("https://localhost:8443/hooks", bearer=token, ca=ca).notify(events)
    with open(services_credential("AEROGUARD_WEBHOOK_LOG")) as f:
        got = [json.loads(line) for line in f if rule in line]
    assert len(got) == 1
    assert json.loads(got[0]["body"])["alerts"][0]["labels"]["alertname"] == rule
    with pytest.raises(aeroguard.NotificationError, match="401") as e:
        aeroguard.Notifier.webhook("https://localhost:8443/hooks", bearer="wrong", ca=ca).notify(events)
    assert e.value.permanent is False
    with pytest.raises(aeroguard.NotificationError, match="certificate"):
        aeroguard.Notifier.webhook("https://localhost:8443/hooks", bearer=token).notify(events)
    with pytest.raises(aeroguard.NotificationError, match="URL") as e:
        aeroguard.Notifier.webhook("ftp://localhost/hooks")
    with pytest.raises(ValueError, match="shape"):
        aeroguard.Notifier.webhook("https://localhost:8443/hooks", shape="discord")


def alertmanager_alerts(series):
    user, password = services_credential("AEROGUARD_ALERTMANAGER_AUTH").split(":", 1)
    query = urllib.parse.urlencode({"filter": f'series="{series}"'})
    req = urllib.request.Request(f"http://127.0.0.1:9093/api/v2/alerts?{query}")
    req.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def test_alertmanager_holds_the_alert_while_it_fires():
    series = marker("py-am")
    am = aeroguard.Notifier.alertmanager(
        "http://127.0.0.1:9093", basic_auth=services_credential("AEROGUARD_ALERTMANAGER_AUTH")
    )
    alerts, events = firing("pump-cavitation", series)

    async def send(batch):
        await aio.Notifier(am).notify(batch)

    asyncio.run(send(events))
    (held,) = alertmanager_alerts(series)
    assert held["status"]["state"] == "active" and held["labels"]["alertname"] == "pump-cavitation"
    resolved = alerts.observe(series, int(time.time() * 1000) - 1000, 50.0)
    am.notify(resolved)
    assert alertmanager_alerts(series) == []
    with pytest.raises(aeroguard.NotificationError, match="unreachable"):
        aeroguard.Notifier.alertmanager("http://127.0.0.1:1").notify(events)


def test_an_email_goes_through_starttls():
    rule = marker("py-mail")
    _, events = firing(rule)
    mail = aeroguard.Notifier.email(
        "localhost",
        2525,
        sender="aeroguard@plant.example",
        to=["shift@plant.example"],
        credentials=services_credential("AEROGUARD_SMTP_AUTH"),
        ca=services_credential("AEROGUARD_RECEIVERS_CA"),
    )
    mail.notify(events)
    inbox = services_credential("AEROGUARD_SMTP_INBOX")
    found = [p for p in os.listdir(inbox) if rule in open(os.path.join(inbox, p), errors="replace").read()]
    assert len(found) == 1
    with pytest.raises(ValueError, match="credentials"):
        aeroguard.Notifier.email("localhost", 2525, sender="a@plant.example", to=["b@plant.example"], credentials="nopass")
