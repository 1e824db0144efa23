//! The coverage sweep behind Marzullo and Brooks-Iyengar: how many closed intervals cover each point.

use super::screen::Candidate;

/// A piece of the line with constant coverage: either one endpoint coordinate (`lo == hi`, a point) or the open
/// stretch between two consecutive endpoint coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Region {
    pub lo: f64,
    pub hi: f64,
    pub count: usize,
}

impl Region {
    pub fn is_point(&self) -> bool {
        self.lo == self.hi
    }
}

/// `x`'s bits, mapped so unsigned order is `f64::total_cmp`'s order (`-0.0` is taken as `0.0`, so keys are
/// equal exactly when the values are).
fn ordered(x: f64) -> u64 {
    let bits = (x + 0.0).to_bits();
    // Negative: every bit flipped; positive: the sign bit set. Without a branch, so the maps vectorise.
    bits ^ (((bits as i64 >> 63) as u64) | (1 << 63))
}

/// The inverse of [`ordered`].
fn unordered(key: u64) -> f64 {
    f64::from_bits(if key >> 63 == 1 { key & !(1 << 63) } else { !key })
}

/// What a sweep found: the regions covered at least `min_count` times, in order (when asked for), their
/// outline, and the highest coverage.
#[derive(Debug)]
pub(crate) struct Sweep {
    pub regions: Vec<Region>,
    pub outline: Outline,
    pub max_count: usize,
}

/// The first and last region and whether the regions join up end to end (each begins where the one before
/// ends), without the regions in between.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Outline {
    pub first: Option<Region>,
    pub last: Option<Region>,
    pub joined: bool,
}

impl Outline {
    /// The closed hull, when the regions join up into it and begin and end with a point (as a sweep's regions
    /// do when no stretch is left out): every point of it is covered.
    pub fn closed_hull(&self) -> Option<(f64, f64)> {
        match (self.first, self.last) {
            (Some(a), Some(b)) if self.joined && a.is_point() && b.is_point() => Some((a.lo, b.hi)),
            _ => None,
        }
    }
}

/// Sweeps the candidates' intervals, keeping the regions covered at least `min_count` times, and finds the
/// highest coverage. O(n) on average: a point covered `min_count` times has `min_count` lower bounds at or before
/// it and `min_count` upper bounds at or after it, so every such point lies in the window from the
/// `min_count`-th smallest lower bound to the `min_count`-th largest upper bound. Two selections find the window;
/// only the endpoints inside it are sorted (as integers in f64's total order) and swept, starting from the
/// coverage the endpoints before it leave. When nothing is covered `min_count` times, the whole line is swept
/// for the highest coverage (the error reports it).
pub(crate) fn sweep(candidates: &[Candidate], min_count: usize) -> Sweep {
    sweep_window(candidates, min_count, Keep::All)
}

/// [`sweep`] without the regions: their outline and the highest coverage only.
pub(crate) fn sweep_outline(candidates: &[Candidate], min_count: usize) -> Sweep {
    sweep_window(candidates, min_count, Keep::None)
}

/// [`sweep`] keeping the stretches only (the outline covers every region).
pub(crate) fn sweep_stretches(candidates: &[Candidate], min_count: usize) -> Sweep {
    sweep_window(candidates, min_count, Keep::Stretches)
}

/// Which regions a sweep keeps.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Keep {
    All,
    Stretches,
    None,
}

fn sweep_window(candidates: &[Candidate], min_count: usize, keep: Keep) -> Sweep {
    let n = candidates.len();
    if min_count == 0 || min_count > n {
        return sweep_all(candidates, min_count, keep);
    }
    let mut los: Vec<u64> = candidates.iter().map(|c| ordered(c.lo)).collect();
    let mut his: Vec<u64> = candidates.iter().map(|c| ordered(c.hi)).collect();
    let (k, m) = (min_count - 1, n - min_count);
    let (_, &mut from, _) = los.select_nth_unstable(k);
    let (_, &mut to, _) = his.select_nth_unstable(m);
    if from > to {
        return sweep_all(candidates, min_count, keep);
    }
    // The selections split each list around its bound, so the window's endpoints and the coverage just before
    // it (intervals begun before it and not ended before it) come from the parts that can hold them: lower
    // bounds from `from` up (and those equal to it below), upper bounds up to `to` (and those equal to it above).
    let same_from = los[..k].iter().filter(|&&x| x == from).count();
    let begun = k - same_from;
    let mut window_los: Vec<u64> = los[k..].iter().copied().filter(|&x| x <= to).collect();
    window_los.extend(std::iter::repeat_n(from, same_from));
    let mut ended = 0;
    let mut window_his: Vec<u64> = Vec::with_capacity(m + 1);
    for &x in &his[..=m] {
        ended += usize::from(x < from);
        if x >= from {
            window_his.push(x);
        }
    }
    window_his.extend(his[m + 1..].iter().copied().filter(|&x| x == to));
    let (mut los, mut his) = (window_los, window_his);
    los.sort_unstable();
    his.sort_unstable();
    let swept = sweep_sorted(&los, &his, begun - ended, min_count, keep);
    if swept.outline.first.is_none() {
        return sweep_all(candidates, min_count, keep);
    }
    swept
}

/// The sweep over every endpoint.
fn sweep_all(candidates: &[Candidate], min_count: usize, keep: Keep) -> Sweep {
    let mut los: Vec<u64> = candidates.iter().map(|c| ordered(c.lo)).collect();
    let mut his: Vec<u64> = candidates.iter().map(|c| ordered(c.hi)).collect();
    los.sort_unstable();
    his.sort_unstable();
    sweep_sorted(&los, &his, 0, min_count, keep)
}

/// Sweeps sorted endpoints from the first to the last, `active` intervals covering the line before the first.
fn sweep_sorted(los: &[u64], his: &[u64], mut active: usize, min_count: usize, keep: Keep) -> Sweep {
    let (mut i, mut j) = (0, 0);
    let mut f = Found {
        keep,
        out: Vec::new(),
        first: None,
        last: None,
        short: false,
        joined: true,
    };
    let mut max_count = active;
    while j < his.len() {
        let x = if i < los.len() { los[i].min(his[j]) } else { his[j] };
        let mut starts = 0;
        while i < los.len() && los[i] == x {
            starts += 1;
            i += 1;
        }
        let mut ends = 0;
        while j < his.len() && his[j] == x {
            ends += 1;
            j += 1;
        }
        active += starts;
        max_count = max_count.max(active);
        let at = unordered(x);
        if active >= min_count {
            f.region(Region {
                lo: at,
                hi: at,
                count: active,
            });
        } else {
            f.short = true;
        }
        active -= ends;
        let next = match (los.get(i), his.get(j)) {
            (Some(&a), Some(&b)) => a.min(b),
            (None, Some(&b)) => b,
            _ => break,
        };
        if active >= min_count {
            f.region(Region {
                lo: at,
                hi: unordered(next),
                count: active,
            });
        } else {
            f.short = true;
        }
    }
    Sweep {
        outline: Outline {
            first: f.first,
            last: f.last,
            joined: f.joined && f.first.is_some(),
        },
        regions: f.out,
        max_count,
    }
}

/// The regions a sweep finds, and its outline as it goes: the first and last region, and whether coverage fell
/// short between two regions.
struct Found {
    keep: Keep,
    out: Vec<Region>,
    first: Option<Region>,
    last: Option<Region>,
    short: bool,
    joined: bool,
}

impl Found {
    fn region(&mut self, r: Region) {
        if self.first.is_none() {
            // Coverage short of `min_count` before the first region is no gap between regions.
            (self.first, self.short) = (Some(r), false);
        } else if self.short {
            self.joined = false;
        }
        self.last = Some(r);
        if self.keep == Keep::All || (self.keep == Keep::Stretches && !r.is_point()) {
            self.out.push(r);
        }
    }
}

/// Which intervals share a point with `regions` (sorted by position, as a sweep gives them), answered in O(1)
/// when the regions join up end to end (the usual case: one block of agreement) and by binary search otherwise.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Meets<'a> {
    regions: &'a [Region],
    /// The hull's ends, and whether the regions join up into it: closed at both ends (they begin and end with a
    /// point), or open stretches only (their joints are not covered).
    hull: Option<(f64, f64, bool)>,
}

impl<'a> Meets<'a> {
    pub fn new(regions: &'a [Region]) -> Self {
        let joined = regions.windows(2).all(|w| w[0].hi == w[1].lo);
        let hull = match (regions.first(), regions.last()) {
            (Some(a), Some(b)) if joined && a.is_point() && b.is_point() => Some((a.lo, b.hi, true)),
            (Some(a), Some(b)) if joined && regions.iter().all(|r| !r.is_point()) => {
                Some((a.lo, b.hi, false))
            }
            _ => None,
        };
        Meets { regions, hull }
    }

    /// `stretches`, known to join end to end (their joints not covered): a single point is still looked up.
    pub fn open_chain(stretches: &'a [Region]) -> Self {
        let hull = match (stretches.first(), stretches.last()) {
            (Some(a), Some(b)) => Some((a.lo, b.hi, false)),
            _ => None,
        };
        Meets {
            regions: stretches,
            hull,
        }
    }

    /// Every point of the closed `[lo, hi]` is covered (an [`Outline::closed_hull`]).
    pub fn closed(lo: f64, hi: f64) -> Self {
        Meets {
            regions: &[],
            hull: Some((lo, hi, true)),
        }
    }

    /// Whether the closed interval `[lo, hi]` shares a point with the regions ([`meets_any`]).
    pub fn meets(&self, lo: f64, hi: f64) -> bool {
        match self.hull {
            Some((a, b, true)) => lo <= b && a <= hi,
            // Open stretches joined end to end: an interval of some length overlapping their hull overlaps
            // one of them; a single point may sit on a joint, which no stretch covers.
            Some((a, b, false)) if lo < hi => lo < b && a < hi,
            _ => meets_any(self.regions, lo, hi),
        }
    }
}

/// Whether the closed interval `[lo, hi]` shares a point with any of `regions` (sorted by position; a stretch
/// is open, so touching its end does not count).
pub(crate) fn meets_any(regions: &[Region], lo: f64, hi: f64) -> bool {
    let first = regions.partition_point(|r| r.hi < lo);
    regions[first..].iter().take_while(|r| r.lo <= hi).any(|r| {
        if r.is_point() {
            true
        } else {
            r.lo < hi && lo < r.hi
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cands(iv: &[(f64, f64)]) -> Vec<Candidate> {
        iv.iter()
            .enumerate()
            .map(|(index, &(lo, hi))| Candidate {
                index,
                value: lo / 2.0 + hi / 2.0,
                lo,
                hi,
            })
            .collect()
    }

    #[test]
    fn counts_points_and_stretches() {
        let r = sweep(&cands(&[(0.0, 2.0), (1.0, 3.0), (2.0, 2.0)]), 0).regions;
        let expect = [
            (0.0, 0.0, 1),
            (0.0, 1.0, 1),
            (1.0, 1.0, 2),
            (1.0, 2.0, 2),
            (2.0, 2.0, 3),
            (2.0, 3.0, 1),
            (3.0, 3.0, 1),
        ];
        let got: Vec<(f64, f64, usize)> = r.iter().map(|r| (r.lo, r.hi, r.count)).collect();
        assert_eq!(got, expect);
    }

    #[test]
    fn ordered_keys_sort_as_total_cmp_and_round_trip() {
        let xs = [
            f64::NEG_INFINITY,
            -f64::MAX,
            -1.5,
            -f64::MIN_POSITIVE,
            0.0,
            5e-324,
            2.0,
            f64::MAX,
            f64::INFINITY,
        ];
        for w in xs.windows(2) {
            assert!(ordered(w[0]) < ordered(w[1]), "{} before {}", w[0], w[1]);
        }
        for x in xs {
            assert_eq!(unordered(ordered(x)).to_bits(), x.to_bits());
        }
        assert_eq!(ordered(-0.0), ordered(0.0), "equal values, equal keys");
    }

    #[test]
    fn the_window_finds_what_the_whole_sweep_finds() {
        use proptest::prelude::*;
        let interval =
            (-20i32..20, 0i32..8).prop_map(|(lo, w)| (f64::from(lo) / 2.0, f64::from(lo + w) / 2.0));
        proptest!(ProptestConfig::with_cases(3000), |(iv in proptest::collection::vec(interval, 1..40), k in 0usize..45)| {
            let c = cands(&iv);
            let (window, all) = (sweep(&c, k), sweep_all(&c, k, Keep::All));
            let stretches: Vec<Region> = all.regions.iter().copied().filter(|r| !r.is_point()).collect();
            prop_assert_eq!(sweep_stretches(&c, k).regions, stretches);
            prop_assert_eq!(&window.regions, &all.regions);
            let outline = sweep_outline(&c, k).outline;
            prop_assert_eq!(outline.first, all.regions.first().copied());
            prop_assert_eq!(outline.last, all.regions.last().copied());
            if !all.regions.is_empty() {
                prop_assert_eq!(outline.joined, all.regions.windows(2).all(|w| w[0].hi == w[1].lo));
            }
            if !all.regions.is_empty() {
                prop_assert_eq!(window.max_count, all.max_count);
            }
        });
    }

    #[test]
    fn the_shortcut_meets_as_the_search_does() {
        use proptest::prelude::*;
        let interval =
            (-20i32..20, 0i32..8).prop_map(|(lo, w)| (f64::from(lo) / 2.0, f64::from(lo + w) / 2.0));
        proptest!(ProptestConfig::with_cases(3000), |(iv in proptest::collection::vec(interval.clone(), 1..30),
                                                        k in 1usize..20, probe in interval, stretches in any::<bool>())| {
            let mut regions = sweep(&cands(&iv), k).regions;
            if stretches {
                regions.retain(|r| !r.is_point());
            }
            let m = Meets::new(&regions);
            prop_assert_eq!(m.meets(probe.0, probe.1), meets_any(&regions, probe.0, probe.1));
            if stretches && sweep_outline(&cands(&iv), k).outline.joined {
                let chain = Meets::open_chain(&regions);
                prop_assert_eq!(chain.meets(probe.0, probe.1), meets_any(&regions, probe.0, probe.1));
            }
        });
    }

    #[test]
    fn meets() {
        let r = [
            Region {
                lo: 1.0,
                hi: 2.0,
                count: 2,
            },
            Region {
                lo: 5.0,
                hi: 5.0,
                count: 2,
            },
        ];
        assert!(meets_any(&r, 0.0, 1.5));
        assert!(meets_any(&r, 5.0, 6.0), "a point region is closed");
        assert!(meets_any(&r, 4.0, 6.0));
        assert!(!meets_any(&r, 2.5, 4.9));
        assert!(!meets_any(&r, 6.0, 7.0));
        assert!(
            !meets_any(&r, 2.0, 3.0),
            "touching an open stretch's end is no overlap"
        );
    }
}
