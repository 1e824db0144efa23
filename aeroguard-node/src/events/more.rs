//! How the clock's and the degraded mode's events read for people.

use super::NodeEvent;

/// The clock's and the degraded mode's events, for people.
pub(super) fn fmt_more(e: &NodeEvent, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    match e {
        NodeEvent::Clock {
            node,
            offset_ms,
            bound_ms,
            may_lead,
        } => {
            let what = if *may_lead {
                "back within"
            } else {
                "OFF, does not lead, beyond"
            };
            write!(
                f,
                "clock {node} {offset_ms} ms from the servers': {what} {bound_ms} ms"
            )
        }
        NodeEvent::Degraded { node, round } => write!(
            f,
            "DEGRADED {node}: no round from a leader after round {round}; measuring and alarming alone"
        ),
        NodeEvent::Local {
            node,
            round,
            fused,
            alarm,
        } => write!(
            f,
            "local {node} round {round:>3} | p {:.3} bar  t {:.2} C  f {:.3} m3/h | {}",
            fused[0],
            fused[1],
            fused[2],
            if *alarm { "ALARM (unfenced)" } else { "ok" }
        ),
        NodeEvent::LocalAlert {
            node,
            rule,
            status,
            round,
        } => write!(f, "local alert {rule} {status} at round {round} ({node})"),
        NodeEvent::Recovered {
            node,
            round,
            buffered,
        } => write!(
            f,
            "recovered {node}: round {round} from a leader; {buffered} measurements wait for it"
        ),
        NodeEvent::Backfilled {
            node,
            rounds,
            measurements,
            late,
        } => write!(
            f,
            "backfilled {node}: {rounds} rounds measured without a leader, from {measurements} \
             measurements ({late} too late)"
        ),
        NodeEvent::Health { .. } => fmt_health(e, f),
        NodeEvent::Policy { .. } | NodeEvent::Action { .. } => fmt_actions(e, f),
        _ => Ok(()),
    }
}

/// A sensor's health warning, for people.
fn fmt_health(e: &NodeEvent, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    match e {
        NodeEvent::Health {
            node,
            sensor,
            channel,
            round,
            bias,
            drift,
            tolerance,
            rounds,
            earliest,
            latest,
        } => {
            let at = |r: &Option<u64>| r.map_or_else(|| "beyond the horizon".into(), |r| r.to_string());
            write!(
                f,
                "HEALTH {sensor} {channel}: drifting {drift:+.4} a round (bias {bias:+.3}); leaves its tolerance \
                 (±{tolerance:.2}) in about {} rounds ({} to {}), still fused (leader {node}, round {round})",
                at(rounds),
                at(earliest),
                at(latest)
            )
        }
        _ => Ok(()),
    }
}

/// A policy file's fate and an action, for people.
fn fmt_actions(e: &NodeEvent, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    match e {
        NodeEvent::Policy {
            node,
            version,
            applied,
            detail,
        } => {
            let what = if *applied { "applied" } else { "REFUSED" };
            write!(f, "policy {node} v{version} {what}: {detail}")
        }
        NodeEvent::Action { node, round, record } => {
            let sends: Vec<&str> = [(record.notify, "notified"), (record.webhook, "webhook")]
                .into_iter()
                .filter_map(|(on, what)| on.then_some(what))
                .collect();
            write!(
                f,
                "ACTION {} {}(leader {node}, token {}, round {round}, key {}{}{}): {}",
                record.rule,
                record.sensor.as_ref().map_or(String::new(), |s| format!("{s} ")),
                record.token.unwrap_or(0),
                record.key,
                if sends.is_empty() { "" } else { "; " },
                sends.join(", "),
                record.recommendation
            )
        }
        _ => Ok(()),
    }
}
