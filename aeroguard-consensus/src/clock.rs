//! A node's clock against its coordination servers': the servers stamp what they write with their own clock
//! (ZooKeeper's `mtime`, Redis's `TIME`), so one probe with its round trip says how far the node's clock is off.
//! A leader stamps the readings it reports with its clock, so a node whose clock is off should not lead.

use std::time::Duration;

use aeroguard_core::Timestamp;

/// How far a node's clock is from its coordination servers', from one probe.
///
/// The server stamped its time somewhere between the probe's send and its answer; taking the middle, the
/// offset is known to within half the round trip.
///
/// ```
/// use aeroguard_consensus::ClockOffset;
/// use aeroguard_core::Timestamp;
/// use std::time::Duration;
/// let ms = Timestamp::from_millis;
/// // Sent at 10,000 and answered at 10,020 by the local clock; the server said 130,010.
/// let o = ClockOffset::from_probe(ms(10_000), ms(130_010), ms(10_020));
/// assert_eq!((o.offset_ms, o.uncertainty), (-120_000, Duration::from_millis(10)));
/// assert!(o.exceeds(Duration::from_secs(2)));
/// assert!(!ClockOffset::from_probe(ms(0), ms(1_500), ms(1_000)).exceeds(Duration::from_millis(600)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockOffset {
    /// The node's clock minus the servers', in ms (positive: the node is ahead).
    pub offset_ms: i64,
    /// Half the probe's round trip: the offset is known to within it.
    pub uncertainty: Duration,
}

impl ClockOffset {
    /// The offset from a probe sent at `sent` and answered at `received` (both by the local clock), the server
    /// having stamped `server`.
    pub fn from_probe(sent: Timestamp, server: Timestamp, received: Timestamp) -> ClockOffset {
        let (sent, received) = (sent.as_millis(), received.as_millis().max(sent.as_millis()));
        let half = (received - sent) / 2;
        ClockOffset {
            offset_ms: (sent + half).saturating_sub(server.as_millis()),
            uncertainty: Duration::from_millis(u64::try_from(half).unwrap_or(0)),
        }
    }

    /// Whether the clock is surely off by more than `bound`: the offset exceeds it even after allowing for the
    /// probe's uncertainty.
    pub fn exceeds(&self, bound: Duration) -> bool {
        let slack = bound.saturating_add(self.uncertainty).as_millis();
        u128::from(self.offset_ms.unsigned_abs()) > slack
    }
}

impl std::fmt::Display for ClockOffset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let side = if self.offset_ms >= 0 { "ahead of" } else { "behind" };
        write!(
            f,
            "{} ms {side} the coordination servers' clock (within {} ms)",
            self.offset_ms.unsigned_abs(),
            self.uncertainty.as_millis()
        )
    }
}
