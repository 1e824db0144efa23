//! Forwarding fenced history appends: a leader pushes each append to its outbox, and a forwarder delivers them
//! to the [`HistoryStore`] when it answers.

use serde::{Deserialize, Serialize};

use super::{Outbox, Outcome, Pass};
use crate::history::{HistoryStore, Point, Writer};
use crate::{Error, Result};

/// One fenced append waiting for delivery: the series, the writer (token and owner) and the points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Append {
    /// The series.
    pub series: String,
    /// Who wrote it, with the token of its term.
    pub writer: Writer,
    /// The points.
    pub points: Vec<Point>,
}

impl Append {
    /// What a store's answer means for the entry: written, refused for good (fenced: a newer term has written,
    /// so a deposed leader's buffered rows must not land; or invalid), or to retry (the store is unreachable,
    /// overloaded, or refused the credentials, which an operator can fix).
    pub fn outcome(result: Result<()>) -> Outcome {
        match result {
            Ok(()) => Outcome::Sent,
            Err(
                e @ (Error::Fenced { .. }
                | Error::FenceHeld { .. }
                | Error::InvalidName { .. }
                | Error::InvalidParameter { .. }),
            ) => Outcome::Refused(e.to_string()),
            Err(e) => Outcome::Retry(e.to_string()),
        }
    }
}

/// One pass delivering `outbox`'s appends to `store`, in order. A point appended twice (a crash between the
/// store taking it and the outbox forgetting it) is stored once: the store keys points on series, time and
/// content.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use aeroguard_consensus::history::{HistoryStore, MemoryHistory, Point, Writer};
/// use aeroguard_consensus::outbox::{Append, Outbox, OutboxLimits, forward_appends};
/// use aeroguard_consensus::FencingToken;
/// use aeroguard_core::Timestamp;
///
/// let path = std::env::temp_dir().join(format!("appends-doc-{}.redb", std::process::id()));
/// let outbox: Outbox<Append> = Outbox::open(&path, OutboxLimits::default())?;
/// let writer = Writer::new(FencingToken(3), "n1");
/// for ms in [1_000, 2_000] {
///     let points = vec![Point::new(Timestamp::from_millis(ms), 4.2)];
///     outbox.push(&Append { series: "pump-1".into(), writer: writer.clone(), points })?;
/// }
/// let store = MemoryHistory::new();
/// assert_eq!(forward_appends(&outbox, &store).await?.sent, 2);
/// let all = store.range("pump-1", Timestamp::from_millis(0), Timestamp::from_millis(5_000)).await?;
/// assert_eq!(all.len(), 2);
/// # drop(outbox); std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
pub async fn forward_appends(outbox: &Outbox<Append>, store: &dyn HistoryStore) -> Result<Pass> {
    outbox
        .forward(|a: &Append| {
            let a = a.clone();
            async move { Append::outcome(store.append(&a.series, &a.writer, &a.points).await) }
        })
        .await
}
