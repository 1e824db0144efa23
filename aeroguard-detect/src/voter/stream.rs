//! Deciding one row: each member's diagnosis, the weights counted, the temporal rule.

use std::collections::VecDeque;

use super::health::MemberHealth;
use super::{Degraded, MemberRecord, Verdict, Vote, Voter};
use crate::FittedDetector;

/// A voter's streaming state: the temporal rule's window and each member's diagnosis.
#[derive(Debug, Clone, Default)]
pub(super) struct Stream {
    pub(super) recent: VecDeque<bool>,
    pub(super) timed: Option<crate::TimeWindow>,
    pub(super) health: Vec<MemberHealth>,
    pub(super) left_out: Vec<bool>,
    pub(super) available: Option<f64>,
    pub(super) required: Option<f64>,
    pub(super) degraded_rows: u64,
    pub(super) degraded_ms: u64,
    pub(super) last_at: Option<i64>,
    /// Per member: rows into its run of yes votes, and the drivers last found.
    pub(super) drivers: Vec<(usize, Vec<super::Driver>)>,
}

impl Stream {
    pub(super) fn reset(&mut self) {
        let timed = self.timed.take().map(|mut t| {
            t.reset();
            t
        });
        *self = Stream {
            timed,
            ..Stream::default()
        };
    }
}

impl<D: FittedDetector> Voter<D> {
    pub(super) fn verdict(
        &self,
        scores: impl Iterator<Item = std::result::Result<f64, String>>,
        st: &mut Stream,
        at: Option<i64>,
    ) -> Verdict {
        let raw: Vec<std::result::Result<f64, String>> = scores.collect();
        let mut members: Vec<MemberRecord> = raw
            .iter()
            .zip(&self.members)
            .zip(&self.weights)
            .map(|((s, m), &weight)| {
                let threshold = m.threshold();
                let (score, vote) = match s {
                    Ok(s) if s.is_nan() => (None, Vote::Abstained("no score yet".into())),
                    Ok(s) => (Some(*s), if *s > threshold { Vote::Yes } else { Vote::No }),
                    Err(e) => (None, Vote::Failed(e.clone())),
                };
                MemberRecord {
                    name: m.name().to_string(),
                    score,
                    threshold,
                    weight,
                    vote,
                    fault: None,
                    drivers: Vec::new(),
                }
            })
            .collect();
        self.diagnose(&raw, &mut members, st);
        let counted: Vec<bool> = members
            .iter()
            .map(|r| {
                r.fault.is_none()
                    && !(matches!(r.vote, Vote::Failed(_)) && self.rule.degraded == Degraded::Drop)
            })
            .collect();
        let available: f64 = counted
            .iter()
            .zip(&self.weights)
            .filter(|(c, _)| **c)
            .map(|(_, w)| *w)
            .sum();
        let required = if available > 0.0 {
            self.rule.m.min(available)
        } else {
            self.rule.m
        };
        let yes: f64 = members
            .iter()
            .zip(&counted)
            .filter(|(_, c)| **c)
            .map(|(r, _)| match r.vote {
                Vote::Yes | Vote::Failed(_) => r.weight,
                _ => 0.0,
            })
            .sum();
        let passed = yes >= required - 1e-9;
        let alarm = match (self.window, st.timed.as_mut(), at) {
            (Some((k, w)), _, _) => {
                if st.recent.len() == w {
                    st.recent.pop_front();
                }
                st.recent.push_back(passed);
                st.recent.iter().filter(|p| **p).count() >= k
            }
            (None, Some(window), Some(at)) => window.push(at, passed),
            _ => passed,
        };
        let degraded = members
            .iter()
            .any(|r| r.fault.is_some() || matches!(r.vote, Vote::Failed(_)));
        if degraded {
            st.degraded_rows += 1;
            if let (Some(at), Some(last)) = (at, st.last_at) {
                st.degraded_ms += u64::try_from(at.saturating_sub(last)).unwrap_or(0);
            }
        }
        st.last_at = at.or(st.last_at);
        st.left_out = counted.iter().map(|c| !c).collect();
        st.available = Some(available);
        st.required = Some(required);
        Verdict {
            alarm,
            passed,
            yes,
            required,
            available,
            degraded,
            members,
        }
    }

    /// Runs each member's diagnosis on this row and marks the unhealthy ones' records.
    fn diagnose(
        &self,
        raw: &[std::result::Result<f64, String>],
        members: &mut [MemberRecord],
        st: &mut Stream,
    ) {
        let n = members.len();
        if st.health.len() != n {
            st.health = vec![MemberHealth::default(); n];
        }
        let d = &self.diagnosis;
        for (i, (s, r)) in raw.iter().zip(members.iter_mut()).enumerate() {
            r.fault = st.health[i].observe(s.as_ref().ok().copied(), d, i);
        }
        if n < 3 || d.alone_window == 0 {
            return;
        }
        // A yes vote is alone when no other member votes yes among those trusted on the row before and not
        // faulty on this row's score.
        let trusted: Vec<bool> = (0..n)
            .map(|j| members[j].fault.is_none() && !st.health[j].alone_faulty())
            .collect();
        let yes: Vec<bool> = members.iter().map(|r| r.vote == Vote::Yes).collect();
        let agreeing = (0..n).filter(|&j| trusted[j] && yes[j]).count();
        for i in 0..n {
            let others = agreeing - usize::from(trusted[i] && yes[i]);
            let fault = st.health[i].alone(yes[i], yes[i] && others == 0, d);
            if members[i].fault.is_none() {
                members[i].fault = fault;
            }
        }
    }
}
