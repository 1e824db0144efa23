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
    if bits >> 63 == 1 { !bits } else { bits | (1 << 63) }
}

/// The inverse of [`ordered`].
fn unordered(key: u64) -> f64 {
    f64::from_bits(if key >> 63 == 1 { key & !(1 << 63) } else { !key })
}

/// What a sweep found: the regions covered at least `min_count` times, in order, and the highest coverage.
#[derive(Debug)]
pub(crate) struct Sweep {
    pub regions: Vec<Region>,
    pub max_count: usize,
}

/// Sweeps the candidates' intervals from the first lower bound to the last upper bound, keeping the regions
/// covered at least `min_count` times. O(n log n): two sorts of the endpoints, as integers in f64's total order
/// (plain integer sorts, the fastest here), then one pass.
pub(crate) fn sweep(candidates: &[Candidate], min_count: usize) -> Sweep {
    let mut los: Vec<u64> = candidates.iter().map(|c| ordered(c.lo)).collect();
    let mut his: Vec<u64> = candidates.iter().map(|c| ordered(c.hi)).collect();
    los.sort_unstable();
    his.sort_unstable();
    let (mut i, mut j) = (0, 0);
    let mut active = 0usize; // intervals with lo < x <= hi at the current coordinate x (before its starts)
    let mut out = Vec::new();
    let mut max_count = 0;
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
            out.push(Region {
                lo: at,
                hi: at,
                count: active,
            });
        }
        active -= ends;
        let next = match (los.get(i), his.get(j)) {
            (Some(&a), Some(&b)) => a.min(b),
            (None, Some(&b)) => b,
            _ => break,
        };
        if active >= min_count {
            out.push(Region {
                lo: at,
                hi: unordered(next),
                count: active,
            });
        }
    }
    Sweep {
        regions: out,
        max_count,
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
                key: 0,
                value: lo / 2.0 + hi / 2.0,
                lo,
                hi,
                variance: 1.0,
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
