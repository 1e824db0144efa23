//! The leader's watch on its sensors' health: per channel, each node's gap to the others, its drift, and when
//! it will leave its tolerance; a node that starts drifting out is reported (a `Health` event) while fusion
//! still uses it. The watch lives for the leader's term: a new leader starts it again.

use std::collections::HashMap;
use std::time::Duration;

use aeroguard_consensus::round::RoundResult;
use aeroguard_detect::action::{SensorFact, SensorState};
use aeroguard_prognostics::health::{HealthOptions, HealthTracker, SensorHealth, Status};

use super::Emit;
use crate::events::NodeEvent;
use crate::plan::RoundRecord;
use crate::sim::{CHANNELS, HALF_WIDTH};

/// How far a reading may sit from the others, in half-widths of its interval: where its interval no longer
/// meets theirs, and Brooks-Iyengar leaves it out.
pub const TOLERANCE_HALF_WIDTHS: f64 = 2.0;

/// Rounds a sensor must stay off drifting before a new drift of it is reported again (a drift near the test's
/// threshold flickers in and out of it).
pub const REPORT_AGAIN_AFTER: u64 = 10;

/// Rounds missing between two the leader ran (the nodes measured alone meanwhile) past which the watch starts
/// again: gaps from before the break say nothing of the trend after it.
pub const BREAK_AFTER: u64 = 5;

/// One tracker per channel, per sensor and channel the last round it was seen drifting, and the last round.
pub(super) struct Health {
    trackers: Vec<HealthTracker>,
    drifting: HashMap<(String, usize), u64>,
    last_round: Option<u64>,
}

impl Health {
    /// A watch with the default options and a tolerance per channel.
    pub(super) fn new() -> Option<Health> {
        Some(Health {
            trackers: trackers()?,
            drifting: HashMap::new(),
            last_round: None,
        })
    }

    /// Takes a round's answers and what fusion made of them; reports each sensor that turns to drifting. The
    /// sensors drifting now (named `node channel`), for the action policy, their time to tolerance at `every`
    /// per round.
    pub(super) fn observe(
        &mut self,
        result: &RoundResult<[f64; 3]>,
        record: &RoundRecord,
        emit: &Emit,
        every: Duration,
    ) -> Vec<SensorFact> {
        if record.fused.iter().all(|v| *v == 0.0) {
            return Vec::new(); // the round did not fuse
        }
        if self
            .last_round
            .is_some_and(|last| record.round > last + BREAK_AFTER)
        {
            match trackers() {
                Some(t) => self.trackers = t,
                None => return Vec::new(),
            }
        }
        self.last_round = Some(record.round);
        self.track(result, record, emit, every)
    }
}

fn trackers() -> Option<Vec<HealthTracker>> {
    HALF_WIDTH
        .iter()
        .map(|hw| {
            let options = HealthOptions {
                tolerance: TOLERANCE_HALF_WIDTHS * hw,
                ..HealthOptions::default()
            };
            HealthTracker::new(options).ok()
        })
        .collect::<Option<Vec<_>>>()
}

impl Health {
    fn track(
        &mut self,
        result: &RoundResult<[f64; 3]>,
        record: &RoundRecord,
        emit: &Emit,
        every: Duration,
    ) -> Vec<SensorFact> {
        let mut drifting = Vec::new();
        for (c, tracker) in self.trackers.iter_mut().enumerate() {
            let readings: Vec<(&str, f64)> =
                result.answered.iter().map(|(n, v)| (n.as_str(), v[c])).collect();
            let excluded: Vec<&str> = record.excluded[c].iter().map(String::as_str).collect();
            let Ok(healths) = tracker.observe(record.fused[c], &readings, &excluded) else {
                continue;
            };
            for h in healths.into_iter().filter(|h| h.status == Status::Drifting) {
                let before = self.drifting.insert((h.sensor.clone(), c), record.round);
                if before.is_none_or(|r| record.round > r + REPORT_AGAIN_AFTER) {
                    emit(event(&h, c, record, tracker_tolerance(c)));
                }
                drifting.push(SensorFact {
                    sensor: format!("{} {}", h.sensor, CHANNELS[c]),
                    state: SensorState::Drifting,
                    time_to_tolerance: h
                        .time_to_tolerance
                        .map(|t| every.saturating_mul(u32::try_from(t.steps).unwrap_or(u32::MAX))),
                });
            }
        }
        drifting
    }
}

fn tracker_tolerance(channel: usize) -> f64 {
    TOLERANCE_HALF_WIDTHS * HALF_WIDTH[channel]
}

fn event(h: &SensorHealth, channel: usize, record: &RoundRecord, tolerance: f64) -> NodeEvent {
    let crossing = h.time_to_tolerance;
    NodeEvent::Health {
        node: record.leader.clone(),
        sensor: h.sensor.clone(),
        channel: CHANNELS[channel].to_string(),
        round: record.round,
        bias: h.bias,
        drift: h.drift,
        tolerance,
        rounds: crossing.map(|c| c.steps as u64),
        earliest: crossing.map(|c| c.earliest as u64),
        latest: crossing.and_then(|c| c.latest).map(|l| l as u64),
    }
}
