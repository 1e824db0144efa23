//! Removal in bulk, for a log whose receiver acknowledges many entries at once.

use std::sync::atomic::Ordering;

use redb::Durability;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Outbox;
use crate::Result;

impl<T: Serialize + DeserializeOwned> Outbox<T> {
    /// Removes the oldest entries as long as `done` says they are done with (delivered some other way), in
    /// one durable transaction; how many. For a log whose receiver acknowledges in bulk.
    ///
    /// ```
    /// use aeroguard_consensus::outbox::{Outbox, OutboxLimits};
    /// let dir = std::env::temp_dir().join(format!("outbox-remove-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let outbox = Outbox::<u64>::open(dir.join("acked.redb"), OutboxLimits::default())?;
    /// outbox.push_all(&[1, 2, 3, 4])?;
    /// assert_eq!(outbox.remove_while(|n| *n <= 2)?, 2);
    /// let left: Vec<u64> = outbox.oldest(9)?.into_iter().filter_map(|(_, e)| e.ok()).collect();
    /// assert_eq!(left, [3, 4]);
    /// # drop(outbox); std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn remove_while(&self, mut done: impl FnMut(&T) -> bool) -> Result<u64> {
        let seqs: Vec<u64> = self
            .oldest(usize::MAX)?
            .into_iter()
            .take_while(|(_, item)| item.as_ref().is_ok_and(&mut done))
            .map(|(seq, _)| seq)
            .collect();
        if seqs.is_empty() {
            return Ok(0);
        }
        self.write(Durability::Immediate, "remove", |t| {
            seqs.iter().try_for_each(|seq| self.remove_in(t, *seq))
        })?;
        self.sent.fetch_add(seqs.len() as u64, Ordering::Relaxed);
        Ok(seqs.len() as u64)
    }
}
