//! Timestamps: milliseconds since the Unix epoch, UTC.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// An instant, as whole milliseconds since 1970-01-01T00:00:00Z.
///
/// Millisecond resolution matches what plant historians and SCADA protocols carry; the type is a plain `i64`
/// on the wire (serde), so it crosses JSON, Redis and Python without conversion.
///
/// ```
/// use std::time::Duration;
/// use aeroguard_core::Timestamp;
/// let t = Timestamp::from_millis(10_000);
/// assert_eq!(t.age_at(Timestamp::from_millis(12_500)), Duration::from_millis(2_500));
/// assert_eq!(t + Duration::from_secs(1), Timestamp::from_millis(11_000));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The Unix epoch.
    pub const EPOCH: Timestamp = Timestamp(0);

    /// A timestamp from milliseconds since the Unix epoch.
    pub const fn from_millis(millis: i64) -> Self {
        Timestamp(millis)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// The current wall-clock time (the epoch if the clock is set before 1970).
    pub fn now() -> Self {
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Timestamp(millis)
    }

    /// How old this timestamp is at `now`; zero if it lies in the future of `now`.
    pub fn age_at(self, now: Timestamp) -> Duration {
        let diff = now.0.saturating_sub(self.0);
        Duration::from_millis(u64::try_from(diff).unwrap_or(0))
    }
}

impl std::ops::Add<Duration> for Timestamp {
    type Output = Timestamp;
    /// Saturates at the largest representable timestamp.
    fn add(self, rhs: Duration) -> Timestamp {
        let ms = i64::try_from(rhs.as_millis()).unwrap_or(i64::MAX);
        Timestamp(self.0.saturating_add(ms))
    }
}

impl std::ops::Sub<Duration> for Timestamp {
    type Output = Timestamp;
    /// Saturates at the smallest representable timestamp.
    fn sub(self, rhs: Duration) -> Timestamp {
        let ms = i64::try_from(rhs.as_millis()).unwrap_or(i64::MAX);
        Timestamp(self.0.saturating_sub(ms))
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({} ms)", self.0)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ms", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(
            Timestamp::from_millis(i64::MAX) + Duration::from_secs(1),
            Timestamp::from_millis(i64::MAX)
        );
        assert_eq!(
            Timestamp::from_millis(i64::MIN) - Duration::from_secs(1),
            Timestamp::from_millis(i64::MIN)
        );
        assert_eq!(
            Timestamp::from_millis(5).age_at(Timestamp::from_millis(1)),
            Duration::ZERO
        );
        assert_eq!(
            Timestamp::from_millis(i64::MIN).age_at(Timestamp::from_millis(i64::MAX)),
            Duration::from_millis(i64::MAX as u64)
        );
        assert!(Timestamp::now() > Timestamp::from_millis(1_600_000_000_000));
    }
}
