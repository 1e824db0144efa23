//! A node's clock, checked rather than trusted: a leader stamps the rounds it reports with its own clock, so a
//! node measures its clock against the coordination servers' before each campaign and every few seconds while
//! it leads. Off by more than the plan's bound, it does not campaign, and a leader steps down: one clock ahead
//! would otherwise stamp readings the analysis service refuses, one behind would stamp readings older than
//! those already taken.

use std::sync::Arc;
use std::time::Duration;

use aeroguard_consensus::{ClockOffset, Coordinator};
use parking_lot::Mutex;
use tokio::time::Instant;

use super::Emit;
use crate::events::NodeEvent;

/// How often a leader measures its clock again.
pub(super) const CHECK_EVERY: Duration = Duration::from_secs(2);

/// The node's clock against the servers': the last probe, for the metrics, and whether it may lead.
#[derive(Debug, Clone)]
pub(crate) struct ClockWatch {
    bound: Duration,
    state: Arc<Mutex<State>>,
}

#[derive(Debug)]
struct State {
    last: Option<ClockOffset>,
    checked: Option<Instant>,
    off: bool,
}

impl ClockWatch {
    /// A watch refusing offsets beyond `bound`.
    pub(crate) fn new(bound: Duration) -> Self {
        ClockWatch {
            bound,
            state: Arc::new(Mutex::new(State {
                last: None,
                checked: None,
                off: false,
            })),
        }
    }

    /// The last probe and the bound, for the metrics.
    pub(crate) fn last(&self) -> Option<(ClockOffset, Duration)> {
        self.state.lock().last.map(|o| (o, self.bound))
    }

    /// Measures now; whether the node may lead. A probe that fails (the servers unreachable) does not count
    /// against the clock: the campaign or the round that follows meets the same servers (and a closed
    /// coordinator ends the campaign there). Emits a `clock` event when the clock goes off or comes back.
    pub(crate) async fn may_lead(&self, coord: &Arc<dyn Coordinator>, emit: &Emit) -> bool {
        let probe = coord.clock_offset().await;
        let mut st = self.state.lock();
        st.checked = Some(Instant::now());
        let offset = match probe {
            Ok(offset) => offset,
            // Closed: let the campaign meet it and end the node.
            Err(aeroguard_consensus::Error::Closed) => return true,
            Err(_) => return !st.off,
        };
        st.last = Some(offset);
        let off = offset.exceeds(self.bound);
        if off != st.off {
            st.off = off;
            emit(NodeEvent::Clock {
                node: coord.node().to_string(),
                offset_ms: offset.offset_ms,
                bound_ms: u64::try_from(self.bound.as_millis()).unwrap_or(u64::MAX),
                may_lead: !off,
            });
        }
        !off
    }

    /// [`may_lead`](Self::may_lead), when the last probe is older than [`CHECK_EVERY`]; otherwise its answer.
    pub(crate) async fn may_still_lead(&self, coord: &Arc<dyn Coordinator>, emit: &Emit) -> bool {
        let due = {
            let st = self.state.lock();
            st.checked.is_none_or(|t| t.elapsed() >= CHECK_EVERY)
        };
        if due {
            self.may_lead(coord, emit).await
        } else {
            !self.state.lock().off
        }
    }
}
