//! Data-quality screening shared by every strategy.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Exclusion, ExclusionReason};
use crate::{Error, Quality, Reading, Timestamp};

/// The data-quality rules applied to readings before any strategy sees them.
///
/// In this order, a reading is excluded (never an error) when:
/// 1. its quality is [`Quality::Bad`];
/// 2. its value is NaN or infinite;
/// 3. its uncertainty is NaN, infinite or negative;
/// 4. it is older than `max_age` at fusion time (when a maximum age is set);
/// 5. `value ± half-width` overflows;
/// 6. the same sensor has another usable reading that is newer (at the same instant, the lower value is kept),
///    so each sensor counts once.
///
/// ```
/// use std::time::Duration;
/// use aeroguard_core::fusion::Screen;
/// let screen = Screen::default().with_max_age(Duration::from_secs(5)).with_sigma_multiplier(2.0)?;
/// assert_eq!(screen.max_age(), Some(Duration::from_secs(5)));
/// assert!(Screen::default().with_sigma_multiplier(f64::NAN).is_err());
/// # Ok::<(), aeroguard_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ScreenRaw", into = "ScreenRaw")]
pub struct Screen {
    max_age: Option<Duration>,
    sigma_multiplier: f64,
}

/// The serde form of [`Screen`]: `{"max_age_ms": 5000, "sigma_multiplier": 3.0}`, both optional.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ScreenRaw {
    max_age_ms: Option<u64>,
    sigma_multiplier: f64,
}

impl Default for ScreenRaw {
    fn default() -> Self {
        let s = Screen::default();
        ScreenRaw {
            max_age_ms: None,
            sigma_multiplier: s.sigma_multiplier,
        }
    }
}

impl TryFrom<ScreenRaw> for Screen {
    type Error = Error;
    fn try_from(raw: ScreenRaw) -> Result<Self, Error> {
        let screen = Screen {
            max_age: raw.max_age_ms.map(Duration::from_millis),
            ..Screen::default()
        };
        screen.with_sigma_multiplier(raw.sigma_multiplier)
    }
}

impl From<Screen> for ScreenRaw {
    fn from(s: Screen) -> Self {
        ScreenRaw {
            max_age_ms: s
                .max_age
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            sigma_multiplier: s.sigma_multiplier,
        }
    }
}

impl Default for Screen {
    /// No maximum age; a standard deviation becomes a 3σ interval.
    fn default() -> Self {
        Screen {
            max_age: None,
            sigma_multiplier: 3.0,
        }
    }
}

impl Screen {
    /// Excludes readings older than `max_age` at fusion time.
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// How many standard deviations make an interval's half-width (default 3). Must be finite and above 0.
    pub fn with_sigma_multiplier(mut self, k: f64) -> Result<Self, Error> {
        if !(k.is_finite() && k > 0.0) {
            return Err(Error::parameter(
                "sigma_multiplier",
                k,
                "must be finite and greater than 0",
            ));
        }
        self.sigma_multiplier = k;
        Ok(self)
    }

    /// The maximum age, if one is set.
    pub fn max_age(&self) -> Option<Duration> {
        self.max_age
    }

    /// The standard-deviation multiplier.
    pub fn sigma_multiplier(&self) -> f64 {
        self.sigma_multiplier
    }

    /// Screens `readings` at time `now`.
    pub(crate) fn apply(&self, readings: &[Reading], now: Timestamp) -> Screened {
        let mut excluded = Vec::new();
        // (id key, reading's position) packed in one 64-bit integer, the position in the low bits and the key's
        // leading bits above: a plain integer sort, no comparator calls. The key is read while the id's bytes
        // are at hand (ids are in separate allocations, and touching each costs a cache miss): its first eight
        // bytes, and how many bytes all ids share.
        let bits = usize::BITS - readings.len().leading_zeros();
        let low = (1u64 << bits) - 1;
        let mut order: Vec<u64> = Vec::with_capacity(readings.len());
        let (mut first, mut shared, mut longest): (&[u8], usize, usize) = (&[], usize::MAX, 0);
        for (index, r) in readings.iter().enumerate() {
            match self.check(r, now) {
                Ok(_) => {
                    let id = r.sensor.as_str().as_bytes();
                    if shared == usize::MAX {
                        (first, shared) = (id, id.len());
                    } else {
                        shared = shared_len(first, shared, id);
                    }
                    longest = longest.max(id.len());
                    order.push((key_at(r.sensor.as_str(), 0) & !low) | index as u64);
                }
                Err(reason) => excluded.push(Exclusion {
                    sensor: r.sensor.clone(),
                    reason,
                }),
            }
        }
        let position = |o: &u64| (*o & low) as usize;
        // When the ids are longer than a key and share a prefix, the keys start past it, where the ids differ.
        if shared != usize::MAX && shared > 0 && longest > 8 {
            for o in &mut order {
                let index = position(o);
                *o = (key_at(readings[index].sensor.as_str(), shared) & !low) | index as u64;
            }
        }
        order.sort_unstable();
        // Each sensor once: its newest reading, then its lowest value, then its smallest uncertainty. Runs of
        // equal packed keys (duplicates, or ids that agree on the key's bytes) are put in that full order.
        let full = |a: &u64, b: &u64| {
            let (ia, ib) = (position(a), position(b));
            let (ra, rb) = (&readings[ia], &readings[ib]);
            let (la, ha) = self.interval(ra);
            let (lb, hb) = self.interval(rb);
            ra.sensor
                .cmp(&rb.sensor)
                .then(rb.timestamp.cmp(&ra.timestamp))
                .then(ra.value.total_cmp(&rb.value))
                // Then by everything fusion reads of a reading, so which of two same-time, same-value readings
                // is kept cannot depend on the input order (only the position is left to differ).
                .then(ra.uncertainty.variance().total_cmp(&rb.uncertainty.variance()))
                .then(la.total_cmp(&lb))
                .then(ha.total_cmp(&hb))
                .then(ia.cmp(&ib))
        };
        for run in order.chunk_by_mut(|a, b| a & !low == b & !low) {
            if run.len() > 1 {
                run.sort_unstable_by(full);
            }
        }
        // Keys that differ mean sensors that differ: the strings are compared only when the keys agree.
        let mut kept: Vec<Candidate> = Vec::with_capacity(order.len());
        let mut last: Option<u64> = None;
        for o in &order {
            let (index, r) = (position(o), &readings[position(o)]);
            if let Some(l) = last
                && l & !low == o & !low
                && readings[position(&l)].sensor == r.sensor
            {
                excluded.push(Exclusion {
                    sensor: r.sensor.clone(),
                    reason: ExclusionReason::Duplicate,
                });
                continue;
            }
            last = Some(*o);
            let (lo, hi) = self.interval(r);
            kept.push(Candidate {
                index,
                value: r.value,
                lo,
                hi,
            });
        }
        Screened {
            candidates: kept,
            excluded,
            given: readings.len(),
        }
    }

    /// `value ± half-width` of a reading that passed [`check`](Self::check) (which computed the same).
    fn interval(&self, r: &Reading) -> (f64, f64) {
        let w = r.uncertainty.half_width(self.sigma_multiplier);
        (r.value - w, r.value + w)
    }

    fn check(&self, r: &Reading, now: Timestamp) -> Result<(f64, f64), ExclusionReason> {
        if r.quality == Quality::Bad {
            return Err(ExclusionReason::BadQuality);
        }
        if !r.value.is_finite() {
            return Err(ExclusionReason::NonFiniteValue { value: r.value });
        }
        let u = r.uncertainty.magnitude();
        if !(u.is_finite() && u >= 0.0) {
            return Err(ExclusionReason::InvalidUncertainty { uncertainty: u });
        }
        if let Some(max_age) = self.max_age {
            let age = r.timestamp.age_at(now);
            if age > max_age {
                return Err(ExclusionReason::Stale {
                    age_ms: u64::try_from(age.as_millis()).unwrap_or(u64::MAX),
                    max_age_ms: u64::try_from(max_age.as_millis()).unwrap_or(u64::MAX),
                });
            }
        }
        let (lo, hi) = self.interval(r);
        if !(lo.is_finite() && hi.is_finite()) {
            return Err(ExclusionReason::IntervalOverflow);
        }
        Ok((lo, hi))
    }
}

/// How many leading bytes all of `ids` share.
fn common_prefix<'a>(mut ids: impl Iterator<Item = &'a str>) -> usize {
    let Some(first) = ids.next() else { return 0 };
    let first = first.as_bytes();
    ids.fold(first.len(), |n, id| shared_len(first, n, id.as_bytes()))
}

/// How many of the first `n` bytes of `first` begin `id` too.
fn shared_len(first: &[u8], n: usize, id: &[u8]) -> usize {
    first[..n].iter().zip(id).take_while(|(a, b)| a == b).count()
}

/// The eight bytes of `id` from `offset` (past the prefix every id shares), big-endian and zero-padded. Ids
/// hold no zero byte, so where two keys differ they order the ids as the strings do: most comparisons of a
/// sort by id never reach the strings.
fn key_at(id: &str, offset: usize) -> u64 {
    let rest = id.as_bytes().get(offset..).unwrap_or_default();
    if let Some(eight) = rest.first_chunk::<8>() {
        return u64::from_be_bytes(*eight);
    }
    // Shorter: byte by byte (a copy of a variable length is a call to memcpy, the dearest step of the screen).
    rest.iter()
        .enumerate()
        .fold(0, |key, (i, &b)| key | u64::from(b) << (56 - 8 * i))
}

/// Sorts `items` by the id `id` gives, keeping the order of equal ids (as a stable sort would), without
/// comparing strings where their keys differ. Already sorted input costs one pass.
pub(crate) fn sort_by_id<T>(items: &mut Vec<T>, id: impl Fn(&T) -> &str) {
    if items.windows(2).all(|w| id(&w[0]) <= id(&w[1])) {
        return;
    }
    let shared = common_prefix(items.iter().map(&id));
    let mut order: Vec<(u64, usize)> = items
        .iter()
        .enumerate()
        .map(|(i, t)| (key_at(id(t), shared), i))
        .collect();
    order.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| id(&items[a.1]).cmp(id(&items[b.1])))
            .then(a.1.cmp(&b.1))
    });
    let mut slots: Vec<Option<T>> = items.drain(..).map(Some).collect();
    items.extend(order.iter().filter_map(|&(_, i)| slots[i].take()));
}

/// A reading that passed the screen.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Candidate {
    /// Its index in the caller's slice.
    pub index: usize,
    pub value: f64,
    pub lo: f64,
    pub hi: f64,
}

/// The outcome of screening: usable candidates (one per sensor, sorted by sensor id) and exclusions.
#[derive(Debug)]
pub(crate) struct Screened {
    pub candidates: Vec<Candidate>,
    pub excluded: Vec<Exclusion>,
    pub given: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_past_the_shared_prefix_order_as_the_ids() {
        let ids = [
            "plant-7:pump-10",
            "plant-7:pump-2",
            "plant-7:pump-1",
            "plant-7:pump-1x",
            "plant-7:pum",
        ];
        let shared = common_prefix(ids.iter().copied());
        assert_eq!(shared, "plant-7:pum".len());
        for a in ids {
            for b in ids {
                let (ka, kb) = (key_at(a, shared), key_at(b, shared));
                if ka != kb {
                    assert_eq!(ka.cmp(&kb), a.cmp(b), "{a} vs {b}");
                }
            }
        }
        let mut items: Vec<(&str, usize)> = ids
            .iter()
            .copied()
            .zip(0..)
            .chain([("plant-7:pump-2", 9)])
            .collect();
        sort_by_id(&mut items, |t| t.0);
        let got: Vec<(&str, usize)> = items;
        let mut want: Vec<(&str, usize)> = ids
            .iter()
            .copied()
            .zip(0..)
            .chain([("plant-7:pump-2", 9)])
            .collect();
        want.sort_by(|a, b| a.0.cmp(b.0));
        assert_eq!(got, want, "sorted by id, equal ids in their first order");
    }
}
