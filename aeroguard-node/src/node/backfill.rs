//! Rounds measured without a leader, handed to the next one: each node answers a round with its measurement
//! and what it measured while degraded (oldest first, a bounded part per answer, again each round until
//! acknowledged); the leader gathers them until every node has answered (or a grace passes), fuses
//! them by round, stores them in the fused series under its token, then acknowledges them in config, and each
//! node drops what is acknowledged from its outbox. A leader that dies first loses nothing: the members hand
//! the same to the next. A round is stored once: what comes for a round already stored
//! (or one a leader ran itself) is acknowledged and counted as late.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use aeroguard_consensus::history::{Point, Writer};
use aeroguard_consensus::outbox::{Append, Outbox};
use aeroguard_consensus::round::RoundResult;
use aeroguard_consensus::{Config, Coordinator, Expect, FencingToken};
use aeroguard_core::fusion::{Degrading, Fusion, FusionConfig, StrategyKind};
use aeroguard_core::{Reading, SensorId, Timestamp};
use serde::{Deserialize, Serialize};

use crate::deliver::Deliveries;
use crate::plan::{Plan, RoundRecord};
use crate::sim::HALF_WIDTH;
use crate::{Error, Result};

/// At most this many buffered measurements ride on one answer (an answer must fit a 64 KiB inbox slot).
pub(crate) const BACKLOG_PER_ANSWER: usize = 400;

/// Rounds stored per history append.
const POINTS_PER_APPEND: usize = 64;

/// What a node answers a round with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Answer {
    /// This round's measurement.
    pub value: [f64; 3],
    /// What it measured while no leader ran rounds, not yet acknowledged (oldest first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backlog: Vec<Measured>,
}

/// Each answering member's backlog.
pub(crate) type Backlogs = Vec<(String, Vec<Measured>)>;

/// One measurement a node took on its own, while degraded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Measured {
    /// The node's round number for it.
    pub round: u64,
    /// When (ms).
    pub at: i64,
    /// Pressure, temperature, flow.
    pub value: [f64; 3],
    /// The node's own alarm on it.
    pub alarm: bool,
}

/// The leaders' acknowledgements: per node, the newest of its buffered rounds dealt with; and the newest round
/// stored from buffers (anything at or below it is late).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Acks {
    /// The token of the leader that wrote it (a lower one may not overwrite it).
    pub token: u64,
    /// Node -> newest buffered round dealt with.
    pub through: BTreeMap<String, u64>,
    /// The newest round stored from buffers.
    pub stored_through: u64,
}

fn acks(coord: &Arc<dyn Coordinator>, plan: &Plan) -> Result<Config<Acks>> {
    Ok(Config::new(coord.config(), &plan.backfill_key())?)
}

/// A node's side: drops what the leaders acknowledged from `outbox`, and returns the next part to hand in.
pub(crate) async fn backlog(
    coord: &Arc<dyn Coordinator>,
    plan: &Plan,
    outbox: &Outbox<Measured>,
) -> Result<Vec<Measured>> {
    if outbox.stats().queued == 0 {
        return Ok(Vec::new());
    }
    let me = coord.node().to_string();
    let through = acks(coord, plan)?
        .get()
        .await?
        .and_then(|v| v.value.through.get(&me).copied())
        .unwrap_or(0);
    outbox.remove_while(|m: &Measured| m.round <= through)?;
    Ok(outbox
        .oldest(BACKLOG_PER_ANSWER)?
        .into_iter()
        .filter_map(|(_, m)| m.ok())
        .collect())
}

/// What a leader did with one round's backlogs.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Taken {
    pub rounds: u64,
    pub measurements: u64,
    pub late: u64,
}

/// A leader's side, for one term.
pub(crate) struct Backfill {
    acks: Config<Acks>,
    /// The newest round in the history when the term began: buffered rounds up to it are late.
    reported: u64,
    /// The first round this term ran itself: buffered rounds from it on are late, but for those it skipped.
    first: Option<u64>,
    /// Rounds this term skipped (its members numbered them alone meanwhile), at most [`MAX_SKIPPED`].
    skipped: BTreeSet<u64>,
    fusion: Degrading,
    /// What the answers brought and is not stored yet: round -> node -> measurement.
    pending: BTreeMap<u64, BTreeMap<String, Measured>>,
    /// The members that answered since something was pending, and the round it began.
    heard: BTreeSet<String>,
    since: Option<u64>,
}

/// The most skipped rounds a term keeps for its members' backlogs (a day of rounds at 100 ms).
const MAX_SKIPPED: usize = 864_000;

/// How many rounds a leader waits for every node's backlog before it stores what it has (a node whose session
/// comes back late answers a few rounds after the others).
const GRACE_ROUNDS: u64 = 20;

impl Backfill {
    /// A term's backfill; `reported` is the newest round in the history when the term began (a round a
    /// previous leader ran and stored is not stored again from the members' buffers).
    pub(crate) fn new(coord: &Arc<dyn Coordinator>, plan: &Plan, reported: u64) -> Result<Backfill> {
        let fusion = Degrading::new(
            &FusionConfig::new(StrategyKind::BrooksIyengar, 1),
            StrategyKind::Median,
        )?;
        Ok(Backfill {
            acks: acks(coord, plan)?,
            reported,
            first: None,
            skipped: BTreeSet::new(),
            fusion,
            pending: BTreeMap::new(),
            heard: BTreeSet::new(),
            since: None,
        })
    }

    /// Gathers the backlogs the answers of round `round` carried (`after`: the round the term ran before it); once every node of the plan has answered
    /// (the live members, `expected`, among them) with all it holds, or [`GRACE_ROUNDS`] have passed, fuses and stores (through the outbox,
    /// fenced by `token`) the rounds gathered, then acknowledges them. `None` while nothing was stored.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn take(
        &mut self,
        (round, after): (u64, u64),
        token: FencingToken,
        backlogs: Backlogs,
        expected: &[String],
        deliveries: &Deliveries,
        plan: &Plan,
        me: &str,
    ) -> Result<Option<Taken>> {
        let first = *self.first.get_or_insert(round);
        if round > first {
            // Rounds this term jumped over, past its members' own numbers: theirs to fill.
            let room = MAX_SKIPPED.saturating_sub(self.skipped.len());
            self.skipped.extend((after + 1..round).take(room));
        }
        let mut more = false;
        for (node, backlog) in backlogs {
            more |= backlog.len() >= BACKLOG_PER_ANSWER;
            for m in backlog {
                self.pending.entry(m.round).or_default().insert(node.clone(), m);
            }
            self.heard.insert(node);
        }
        if self.pending.is_empty() {
            self.heard.clear();
            return Ok(None);
        }
        let since = *self.since.get_or_insert(round);
        let everyone =
            expected.iter().all(|n| self.heard.contains(n)) && self.heard.len() >= plan.nodes && !more;
        if !everyone && round.saturating_sub(since) < GRACE_ROUNDS {
            return Ok(None);
        }
        let taken = self.store(first, token, deliveries, plan, me).await;
        (self.heard, self.since) = (BTreeSet::new(), None);
        taken.map(Some)
    }

    /// Stores what is pending and acknowledges it; what is already acknowledged is left out, what came too
    /// late is counted.
    async fn store(
        &mut self,
        first: u64,
        token: FencingToken,
        deliveries: &Deliveries,
        plan: &Plan,
        me: &str,
    ) -> Result<Taken> {
        let current = self.acks.get().await?;
        let (expect, mut acks) = match current {
            Some(v) => (Expect::Version(v.version), v.value),
            None => (Expect::Absent, Acks::default()),
        };
        if acks.token > token.0 {
            return Err(Error::Consensus(aeroguard_consensus::Error::Fenced {
                key: plan.backfill_key(),
                token: token.0,
                highest: acks.token,
            }));
        }
        let mut taken = Taken::default();
        let mut rounds: BTreeMap<u64, Vec<(String, Measured)>> = BTreeMap::new();
        let mut newest: BTreeMap<String, u64> = BTreeMap::new();
        for (r, by_node) in std::mem::take(&mut self.pending) {
            for (node, m) in by_node {
                if r <= acks.through.get(&node).copied().unwrap_or(0) {
                    continue;
                }
                let n = newest.entry(node.clone()).or_default();
                *n = (*n).max(r);
                if r <= acks.stored_through.max(self.reported) || (r >= first && !self.skipped.contains(&r)) {
                    taken.late += 1;
                } else {
                    rounds.entry(r).or_default().push((node, m));
                }
            }
        }
        let records: Vec<(i64, RoundRecord)> = rounds
            .iter()
            .map(|(r, measured)| self.record(*r, measured, token, me))
            .collect();
        taken.rounds = records.len() as u64;
        taken.measurements = rounds.values().map(|m| m.len() as u64).sum();
        for chunk in records.chunks(POINTS_PER_APPEND) {
            let points = chunk
                .iter()
                .map(|(at, record)| {
                    let detail = serde_json::to_value(record).map_err(|source| Error::Json {
                        what: "a backfilled round",
                        source,
                    })?;
                    Ok(Point::new(Timestamp::from_millis(*at), record.fused[0])
                        .with_alarm(record.alarm)
                        .with_detail(detail))
                })
                .collect::<Result<Vec<_>>>()?;
            deliveries
                .append(&Append {
                    series: plan.series(),
                    writer: Writer::new(token, me),
                    points,
                })
                .await?;
        }
        for (node, n) in newest {
            acks.through.insert(node, n);
        }
        acks.token = token.0;
        acks.stored_through = acks
            .stored_through
            .max(rounds.keys().last().copied().unwrap_or(0));
        self.acks.set(&acks, expect).await?;
        Ok(taken)
    }

    /// The record of buffered round `round`: each channel fused from the nodes that measured it (the median
    /// when too few did for Brooks-Iyengar), stamped with their median time.
    fn record(
        &self,
        round: u64,
        measured: &[(String, Measured)],
        token: FencingToken,
        me: &str,
    ) -> (i64, RoundRecord) {
        let mut times: Vec<i64> = measured.iter().map(|(_, m)| m.at).collect();
        times.sort_unstable();
        let at = times[times.len() / 2];
        let now = Timestamp::from_millis(at);
        let mut fused = [0.0; 3];
        let mut excluded: [Vec<String>; 3] = Default::default();
        let mut degraded = None;
        for c in 0..3 {
            let readings: Vec<Reading> = measured
                .iter()
                .filter_map(|(node, m)| {
                    Some(
                        Reading::new(SensorId::new(node).ok()?, m.value[c], now)
                            .with_half_width(HALF_WIDTH[c]),
                    )
                })
                .collect();
            if let Ok(e) = self.fusion.fuse(&readings, now) {
                fused[c] = e.value;
                excluded[c] = e.excluded.iter().map(|x| x.sensor.to_string()).collect();
                degraded = degraded.or(e.degraded);
            }
        }
        let record = RoundRecord {
            round,
            leader: me.to_string(),
            token: token.0,
            fused,
            excluded,
            answered: measured.iter().map(|(n, _)| n.clone()).collect(),
            reached_quorum: false,
            // The nodes' own alarms, voted: more than half of those that measured it.
            alarm: 2 * measured.iter().filter(|(_, m)| m.alarm).count() > measured.len(),
            voted_yes: measured
                .iter()
                .filter(|(_, m)| m.alarm)
                .map(|(n, _)| format!("{n} (alone)"))
                .collect(),
            drivers: Vec::new(),
            backfilled: true,
            degraded,
        };
        (at, record)
    }
}

/// A round's answers as measurements, and the backlogs they carried.
pub(super) fn split(result: RoundResult<Answer>) -> (RoundResult<[f64; 3]>, Backlogs) {
    let mut backlogs = Vec::new();
    let answered = result
        .answered
        .into_iter()
        .map(|(node, a)| {
            backlogs.push((node.to_string(), a.backlog));
            (node, a.value)
        })
        .collect();
    let result = RoundResult {
        round: result.round,
        token: result.token,
        answered,
        missing: result.missing,
        quorum: result.quorum,
        reached_quorum: result.reached_quorum,
        unattested: result.unattested,
        discarded: result.discarded,
    };
    (result, backlogs)
}
