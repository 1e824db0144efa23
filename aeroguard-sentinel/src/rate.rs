//! Per-key rate limits: a token bucket per caller (a key's identity, or the address of a caller without one),
//! so one key or one host flooding the service is answered 429 with `Retry-After` while the others go on.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// The most callers tracked at once; past it, callers whose buckets have refilled are forgotten first, and a
/// new caller waits for room (answered 429) only when every tracked one is still throttled.
pub const MAX_CALLERS: usize = 10_000;

/// Requests per second per caller, and the burst a caller may send at once.
///
/// ```
/// use aeroguard_sentinel::RateLimit;
/// let limit = RateLimit::new(50.0, 100)?;
/// assert_eq!((limit.per_second(), limit.burst()), (50.0, 100));
/// assert!(RateLimit::new(f64::NAN, 10).is_err());
/// assert!(RateLimit::new(10.0, 0).is_err());
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    per_second: f64,
    burst: u32,
}

impl Default for RateLimit {
    /// 500 requests a second, bursts of 1,000: a node posts a few times a second per series.
    fn default() -> Self {
        RateLimit {
            per_second: 500.0,
            burst: 1_000,
        }
    }
}

impl RateLimit {
    /// `per_second` requests a second on average (finite, above 0), `burst` at once (at least 1).
    pub fn new(per_second: f64, burst: u32) -> Result<Self, String> {
        if !(per_second.is_finite() && per_second > 0.0) {
            return Err(format!(
                "rate: {per_second} requests a second; give a finite number above 0"
            ));
        }
        if burst == 0 {
            return Err("rate burst: 0; give at least 1".into());
        }
        Ok(RateLimit { per_second, burst })
    }

    /// Requests a second.
    pub fn per_second(&self) -> f64 {
        self.per_second
    }

    /// Requests at once.
    pub fn burst(&self) -> u32 {
        self.burst
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The buckets of every caller seen recently.
#[derive(Debug)]
pub(crate) struct Buckets {
    limit: RateLimit,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Buckets {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Buckets {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request for `caller` at `now`: `Ok` if its bucket had a token, otherwise how long until it
    /// has one.
    pub(crate) fn take(&self, caller: &str, now: Instant) -> Result<(), Duration> {
        let burst = f64::from(self.limit.burst);
        let mut all = self.buckets.lock();
        if !all.contains_key(caller) && all.len() >= MAX_CALLERS {
            self.forget_refilled(&mut all, now);
            if all.len() >= MAX_CALLERS {
                return Err(Duration::from_secs_f64(1.0 / self.limit.per_second));
            }
        }
        let b = all.entry(caller.to_string()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.limit.per_second).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / self.limit.per_second))
        }
    }

    /// Forgets the callers whose buckets are full again (they lose nothing: a new bucket starts full).
    fn forget_refilled(&self, all: &mut HashMap<String, Bucket>, now: Instant) {
        let burst = f64::from(self.limit.burst);
        let rate = self.limit.per_second;
        all.retain(|_, b| b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < burst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate_and_each_caller_apart() {
        let buckets = Buckets::new(RateLimit::new(10.0, 3).unwrap());
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(buckets.take("n1", t0).is_ok());
        }
        let wait = buckets.take("n1", t0).unwrap_err();
        assert!((wait.as_secs_f64() - 0.1).abs() < 1e-9, "{wait:?}");
        assert!(
            buckets.take("n2", t0).is_ok(),
            "another caller has its own bucket"
        );
        assert!(buckets.take("n1", t0 + Duration::from_millis(100)).is_ok());
        assert!(buckets.take("n1", t0 + Duration::from_millis(100)).is_err());
    }

    #[test]
    fn the_table_of_callers_is_bounded() {
        let buckets = Buckets::new(RateLimit::new(1.0, 1).unwrap());
        let t0 = Instant::now();
        for i in 0..MAX_CALLERS {
            assert!(buckets.take(&format!("c{i}"), t0).is_ok());
        }
        // Every tracked caller is throttled: a new one waits.
        assert!(buckets.take("newcomer", t0).is_err());
        assert_eq!(buckets.buckets.lock().len(), MAX_CALLERS);
        // A second later they have refilled and are forgotten.
        assert!(buckets.take("newcomer", t0 + Duration::from_secs(1)).is_ok());
        assert_eq!(buckets.buckets.lock().len(), 1);
    }
}
