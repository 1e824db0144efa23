//! The measurement round (a "sequence trigger": the leader asks, every member answers), built only on the other recipes, so it is the same
//! on every backend.
//!
//! 1. The leader opens round `r + 1` by compare-and-set on the announcement key `round-<name>` (so each round
//!    number is opened once, by one leader), stamped with its fencing token. An announcement holding a higher
//!    token than the leader's means a newer leader exists: the stale one gets [`Error::Fenced`].
//! 2. Followers see the announcement through a config watch and post their measurement for `r` in their own
//!    slot of the inbox `round-<name>` ([`Inbox`]: only a member's authenticated identity writes its slot), then
//!    ring the queue `round-<name>` so the leader reads it at once.
//! 3. The leader reads the slots of the service's live registered members until a quorum has answered for this
//!    round or the deadline passes; answers to older rounds do not count, and neither does a slot the backend
//!    cannot vouch for ([`RoundResult::unattested`]). It checks its leadership before returning: a result always
//!    carries a token that was trusted when it was produced.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::time::Duration;
//! use aeroguard_consensus::{Coordinator, memory::MemoryCluster};
//! use aeroguard_consensus::round::{Quorum, RoundFollower, RoundLeader, RoundOptions};
//!
//! let cluster = MemoryCluster::new();
//! let lead = cluster.connect("lead".parse()?)?;
//! let follower = cluster.connect("f1".parse()?)?;
//! let _reg = follower.registry().register("sensors", serde_json::json!({})).await?;
//! let options = RoundOptions::new("pressure", "sensors", Duration::from_secs(1), Quorum::All);
//! let mut f = RoundFollower::<f64>::new(follower.clone(), &options).await?;
//! tokio::spawn(async move {
//!     let round = f.next_round().await.unwrap();
//!     f.submit(&round, &4.02).await.unwrap();
//! });
//! let leadership = lead.election("pressure")?.campaign().await?;
//! let result = RoundLeader::<f64>::new(lead.clone(), options)?.run(&leadership).await?;
//! assert_eq!((result.round, result.answered.len(), result.token), (1, 1, leadership.token()));
//! # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
//! ```

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use aeroguard_core::{NodeId, Timestamp};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use tokio::time::Instant;

use crate::{
    Config, ConfigEvent, ConfigWatch, Coordinator, Delivery, Error, Expect, FencingToken, Inbox, Leadership,
    Queue, Result,
};

mod tally;
use tally::Tally;

/// How long the leader waits for a ring before it reads every missing member's slot again.
const POLL: Duration = Duration::from_millis(100);

/// How many of the expected members must answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quorum {
    /// More than half of the live registered members.
    Majority,
    /// Every live registered member.
    All,
    /// At least this many (capped at the number of live members).
    AtLeast(usize),
}

impl Quorum {
    fn of(self, members: usize) -> usize {
        match self {
            Quorum::Majority if members == 0 => 0,
            Quorum::Majority => members / 2 + 1,
            Quorum::All => members,
            Quorum::AtLeast(n) => n.min(members),
        }
    }
}

/// Where a round runs and how it waits.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundOptions {
    /// The round's name (announcement key `round-<name>`, queue `round-<name>`).
    pub name: String,
    /// The registry service whose live members are expected to answer.
    pub service: String,
    /// How long the leader collects.
    pub deadline: Duration,
    /// How many must answer.
    pub quorum: Quorum,
}

impl RoundOptions {
    /// Options for round `name` among the members of `service`.
    pub fn new(name: &str, service: &str, deadline: Duration, quorum: Quorum) -> Self {
        RoundOptions {
            name: name.to_string(),
            service: service.to_string(),
            deadline,
            quorum,
        }
    }

    fn key(&self) -> String {
        format!("round-{}", self.name)
    }
}

/// The highest round number: 2^53, which JSON numbers carry exactly everywhere. An announcement past it is
/// refused ([`Error::Invalid`]), never wrapped around.
pub const MAX_ROUND: u64 = 1 << 53;

/// The announcement key, with a check that decodes an out-of-range round as [`Error::Invalid`].
fn announcements(coordinator: &Arc<dyn Coordinator>, options: &RoundOptions) -> Result<Config<Announcement>> {
    Ok(
        Config::new(coordinator.config(), &options.key())?.with_validator(|a: &Announcement| {
            if a.round == 0 || a.round > MAX_ROUND {
                Err(format!("round {} is outside 1..={MAX_ROUND}", a.round))
            } else {
                Ok(())
            }
        }),
    )
}

/// What the leader publishes to open a round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Announcement {
    /// The round number (1, 2, ...).
    pub round: u64,
    /// The opening leader's fencing token.
    pub token: FencingToken,
    /// The opening leader.
    pub leader: NodeId,
    /// When it was opened.
    pub opened_at: Timestamp,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Submission<T> {
    pub round: u64,
    /// The announcing leader's token and opening time: after a failover that lost writes, a round number can
    /// be opened again, and a late submission for the lost round must not count in the new one.
    pub token: FencingToken,
    pub opened_at: Timestamp,
    pub node: NodeId,
    pub value: T,
}

/// A round's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundResult<T> {
    /// The round number.
    pub round: u64,
    /// The leader's fencing token: pass it with every write made from this result.
    pub token: FencingToken,
    /// Who answered, with their values, in node order.
    pub answered: Vec<(NodeId, T)>,
    /// Live registered members that did not answer in time.
    pub missing: Vec<NodeId>,
    /// How many answers the quorum needed.
    pub quorum: usize,
    /// Whether the quorum was reached before the deadline.
    pub reached_quorum: bool,
    /// Members whose slot held something the backend could not vouch was theirs, with the reason (a ZooKeeper
    /// slot not written by the roster's identity for the node; see [`Inbox`]). They are also `missing`.
    pub unattested: Vec<(NodeId, String)>,
    /// Submissions and rings discarded: undecodable, or naming another node than the slot's.
    pub discarded: usize,
}

/// The leader's side of rounds.
#[derive(Debug)]
pub struct RoundLeader<T> {
    coordinator: Arc<dyn Coordinator>,
    options: RoundOptions,
    announcements: Config<Announcement>,
    inbox: Arc<dyn Inbox>,
    rings: Arc<dyn Queue>,
    _t: PhantomData<fn() -> T>,
}

impl<T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static> RoundLeader<T> {
    /// The leader's side of rounds `options.name`.
    pub fn new(coordinator: Arc<dyn Coordinator>, options: RoundOptions) -> Result<Self> {
        if options.deadline.is_zero() {
            return Err(Error::parameter(
                "deadline",
                options.deadline,
                "must be above zero",
            ));
        }
        let announcements = announcements(&coordinator, &options)?;
        let inbox = coordinator.inbox(&options.key())?;
        let rings = coordinator.queue(&options.key())?;
        Ok(RoundLeader {
            coordinator,
            options,
            announcements,
            inbox,
            rings,
            _t: PhantomData,
        })
    }

    /// Opens the next round under `leadership` and collects it.
    pub async fn run(&self, leadership: &Leadership) -> Result<RoundResult<T>> {
        self.run_after(leadership, 0).await
    }

    /// Like [`run`](Self::run), but the round opened is also above `floor`: a leader whose members went on
    /// measuring without a leader (numbering their own rounds) skips the numbers they used.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use std::time::Duration;
    /// use aeroguard_consensus::{Coordinator, memory::MemoryCluster};
    /// use aeroguard_consensus::round::{Quorum, RoundLeader, RoundOptions};
    /// let lead = MemoryCluster::new().connect("lead".parse()?)?;
    /// let options = RoundOptions::new("flow", "sensors", Duration::from_millis(10), Quorum::All);
    /// let leadership = lead.election("flow")?.campaign().await?;
    /// let rounds = RoundLeader::<f64>::new(lead.clone(), options)?;
    /// assert_eq!(rounds.run(&leadership).await?.round, 1);
    /// assert_eq!(rounds.run_after(&leadership, 40).await?.round, 41);
    /// assert_eq!(rounds.run_after(&leadership, 7).await?.round, 42);
    /// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    pub async fn run_after(&self, leadership: &Leadership, floor: u64) -> Result<RoundResult<T>> {
        let token = leadership.ensure()?;
        let (round, opened) = self.open(leadership, token, floor).await?;
        let expected: Vec<NodeId> = self
            .coordinator
            .registry()
            .instances(&self.options.service)
            .await?
            .into_iter()
            .map(|i| i.node)
            .collect();
        let quorum = self.options.quorum.of(expected.len());
        let deadline = Instant::now() + self.options.deadline;
        let mut tally = Tally::new(&expected);
        // Every member's slot once at the start, then the slots rings point at, and every slot again whenever
        // no ring came for a poll interval (a ring can be lost; a slot cannot be forged).
        let mut check: Vec<NodeId> = expected.clone();
        loop {
            for node in std::mem::take(&mut check) {
                tally.read(&*self.inbox, &node, &opened).await?;
            }
            if tally.answered.len() >= quorum.max(1) || expected.is_empty() {
                break;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match self.rings.take_batch(64, Some(left.min(POLL))).await {
                Ok(batch) => {
                    for d in &batch {
                        match std::str::from_utf8(d.payload())
                            .ok()
                            .and_then(|n| n.parse::<NodeId>().ok())
                        {
                            Some(node) if tally.waits_for(&node) && !check.contains(&node) => {
                                check.push(node)
                            }
                            Some(_) => {}
                            None => tally.discarded += 1,
                        }
                    }
                    Delivery::ack_all(batch).await?;
                }
                Err(Error::Timeout { .. }) => check = tally.pending(),
                Err(e) => return Err(e),
            }
        }
        // A result is only as good as the leadership it was produced under.
        let token = leadership.ensure()?;
        Ok(tally.result(round, token, quorum))
    }

    /// Opens round `max(r, floor) + 1` by compare-and-set; refuses if a newer leader already announced.
    async fn open(
        &self,
        leadership: &Leadership,
        token: FencingToken,
        floor: u64,
    ) -> Result<(u64, Announcement)> {
        loop {
            let current = self.announcements.get().await?;
            let (expect, last) = match &current {
                Some(v) => (Expect::Version(v.version), Some(&v.value)),
                None => (Expect::Absent, None),
            };
            if let Some(last) = last
                && last.token > token
            {
                return Err(Error::Fenced {
                    key: self.options.key(),
                    token: token.0,
                    highest: last.token.0,
                });
            }
            let base = last.map_or(0, |a| a.round).max(floor);
            let round = base
                .checked_add(1)
                .filter(|r| *r <= MAX_ROUND)
                .ok_or_else(|| Error::Invalid {
                    what: "round announcement",
                    key: self.options.key(),
                    version: current.as_ref().map_or(0, |v| v.version),
                    reason: format!("round {base} is past the last round number {MAX_ROUND}"),
                })?;
            let announcement = Announcement {
                round,
                token,
                leader: leadership.node().clone(),
                opened_at: Timestamp::now(),
            };
            match self.announcements.set(&announcement, expect).await {
                Ok(_) => return Ok((announcement.round, announcement)),
                Err(Error::Conflict { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

/// A follower's side of rounds.
#[derive(Debug)]
pub struct RoundFollower<T> {
    coordinator: Arc<dyn Coordinator>,
    watch: ConfigWatch<Announcement>,
    inbox: Arc<dyn Inbox>,
    rings: Arc<dyn Queue>,
    last: Option<Announcement>,
    _t: PhantomData<fn() -> T>,
}

impl<T: Serialize + DeserializeOwned + Send + Sync + 'static> RoundFollower<T> {
    /// Starts following rounds `options.name`.
    pub async fn new(coordinator: Arc<dyn Coordinator>, options: &RoundOptions) -> Result<Self> {
        let watch = announcements(&coordinator, options)?.watch().await?;
        let inbox = coordinator.inbox(&options.key())?;
        let rings = coordinator.queue(&options.key())?;
        Ok(RoundFollower {
            coordinator,
            watch,
            inbox,
            rings,
            last: None,
            _t: PhantomData,
        })
    }

    /// Waits for a round newer than the last one returned (rounds may be skipped if they pass quickly): one
    /// opened under a higher token, or under the same token with a higher number. A round under the same token
    /// that is not higher but differs is a round opened again after a failover lost the announcements after
    /// it: it is new too (ignoring it left followers deaf for as many rounds as were lost).
    pub async fn next_round(&mut self) -> Result<Announcement> {
        loop {
            match self.watch.next().await {
                Some(ConfigEvent::Applied(v))
                    if self.last.as_ref().is_none_or(|l| {
                        v.value.token > l.token || (v.value.token == l.token && v.value != *l)
                    }) =>
                {
                    self.last = Some(v.value.clone());
                    return Ok(v.value);
                }
                Some(_) => {}
                None => return Err(Error::Closed),
            }
        }
    }

    /// Hands in this node's measurement for `round`: into its own inbox slot, which only its identity can
    /// write, then a ring on the round's queue so the leader reads it at once.
    pub async fn submit(&self, round: &Announcement, value: &T) -> Result<()> {
        let submission = Submission {
            round: round.round,
            token: round.token,
            opened_at: round.opened_at,
            node: self.coordinator.node().clone(),
            value,
        };
        let bytes = serde_json::to_vec(&submission).map_err(|e| Error::Invalid {
            what: "round submission",
            key: round.round.to_string(),
            version: 0,
            reason: e.to_string(),
        })?;
        self.inbox.post(bytes).await?;
        self.rings
            .put(self.coordinator.node().as_str().as_bytes().to_vec())
            .await
    }
}
