//! A fused row posted to the analysis service, and what the service's answer means for it.

use aeroguard_consensus::outbox::Outcome;
use serde::{Deserialize, Serialize};

/// How many times a post the service refused as forbidden or stale (403, 409) is sent before it is dropped and
/// counted: a service that read the grant from a ZooKeeper server behind the ensemble's leader, or a failover
/// between the post and its answer, refuses a rightful leader's post for a moment.
pub const POST_REFUSALS: u32 = 5;

/// One fused row for the analysis service's `/ingest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Post {
    /// The series.
    pub series: String,
    /// The posting leader's token.
    pub token: u64,
    /// When it was measured (ms).
    pub at: i64,
    /// The fused values.
    pub values: [f64; 3],
}

impl Post {
    /// What the service's answer means for the entry, given that it is the `refused`-th refusal of this post
    /// as forbidden or stale: taken (200); refused for good (a bad request, a body too large, a forbidden or
    /// stale post refused [`POST_REFUSALS`] times); or to retry (unreachable, unavailable, overloaded, the key
    /// refused, which an operator can fix, or a forbidden or stale post refused fewer times).
    ///
    /// ```
    /// use aeroguard_consensus::outbox::Outcome;
    /// use aeroguard_node::{POST_REFUSALS, Post};
    /// use aeroguard_sentinel::client::Response;
    /// let stale = || Ok(Response { status: 409, body: "stale token".into(), headers: vec![] });
    /// assert!(matches!(Post::outcome(stale(), 1), Outcome::Retry(_)));
    /// assert!(matches!(Post::outcome(stale(), POST_REFUSALS), Outcome::Refused(_)));
    /// let bad = Ok(Response { status: 400, body: "no readings".into(), headers: vec![] });
    /// assert!(matches!(Post::outcome(bad, 0), Outcome::Refused(_)));
    /// ```
    pub fn outcome(
        answer: aeroguard_sentinel::Result<aeroguard_sentinel::client::Response>,
        refused: u32,
    ) -> Outcome {
        match answer {
            Ok(r) if r.status == 200 => Outcome::Sent,
            Ok(r) if matches!(r.status, 403 | 409) && refused < POST_REFUSALS => Outcome::Retry(format!(
                "{}: {} (refusal {refused} of {POST_REFUSALS} before it is dropped)",
                r.status, r.body
            )),
            Ok(r) if matches!(r.status, 400 | 403 | 409 | 413 | 422) => {
                Outcome::Refused(format!("{}: {}", r.status, r.body))
            }
            Ok(r) => Outcome::Retry(format!("{}: {}", r.status, r.body)),
            Err(e) => Outcome::Retry(e.to_string()),
        }
    }
}

/// The refusals (403, 409) of the post at the head of an outbox: a forwarder sends in order, so the post it
/// tries again is the one it tried last.
#[derive(Debug, Default)]
pub(super) struct Refusals {
    head: Option<(String, i64)>,
    count: u32,
}

impl Refusals {
    /// Counts `answer` for the post `key` (series, time); how many times that post was refused so far.
    pub(super) fn count(
        &mut self,
        key: (String, i64),
        answer: &aeroguard_sentinel::Result<aeroguard_sentinel::client::Response>,
    ) -> u32 {
        if self.head.as_ref() != Some(&key) {
            (self.head, self.count) = (Some(key), 0);
        }
        if matches!(answer, Ok(r) if matches!(r.status, 403 | 409)) {
            self.count += 1;
        }
        self.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aeroguard_sentinel::client::Response;

    fn answer(status: u16) -> aeroguard_sentinel::Result<Response> {
        Ok(Response {
            status,
            body: String::new(),
            headers: vec![],
        })
    }

    #[test]
    fn a_refused_post_is_tried_again_a_bounded_number_of_times() {
        let mut refusals = Refusals::default();
        let post = ("pump".to_string(), 7);
        let outcomes: Vec<bool> = (0..POST_REFUSALS)
            .map(|_| {
                let n = refusals.count(post.clone(), &answer(403));
                matches!(Post::outcome(answer(403), n), Outcome::Refused(_))
            })
            .collect();
        assert_eq!(outcomes.iter().filter(|dropped| **dropped).count(), 1);
        assert_eq!(outcomes.last(), Some(&true), "dropped at the last try");
        // The next post starts its own count, and a taken post resets nothing it does not need to.
        assert_eq!(refusals.count(("pump".into(), 8), &answer(409)), 1);
        assert_eq!(refusals.count(("pump".into(), 8), &answer(503)), 1);
    }
}
