//! Re-basing the failover epoch after the Sentinels were redeployed with fresh configs: they count failover
//! epochs from 0 again, every client then finds the master's stored epoch newer than theirs and refuses the
//! master, and only an administrator's re-base lets them on, with tokens that keep rising.

use super::BACKEND;
use super::RedisOptions;
use super::access::{access_error, refused_or_failed};
use crate::{Error, Result};

/// What [`rebase_epoch`] found, and did when asked to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochRebase {
    /// The failover epoch the Sentinels report for the master (the highest of their answers).
    pub sentinel_epoch: u64,
    /// The epoch tokens carry: after a needed re-base, one above the stored epoch; otherwise the stored one.
    pub epoch: u64,
    /// The base: what is added to the Sentinels' epoch to make the epoch tokens carry.
    pub base: u64,
    /// Whether the Sentinels were behind (their epoch plus the base below the stored epoch), so that every
    /// client refused the master.
    pub needed: bool,
    /// After an applied re-base: how many replicas acknowledged it (`WAIT`); a re-base no replica has can be
    /// lost in a failover, then run it again.
    pub replicas: Option<u64>,
}

/// Re-bases the failover epoch of the master that `options`' Sentinels name, when they report an epoch below
/// the one the master has seen (Sentinels redeployed with fresh configs report 0). The epoch tokens carry
/// continues one above the stored one, a quiet period starts as after a failover (no lease is granted for
/// it), and clients connect again. With `apply` false, nothing is written: the answer says what a re-base would
/// do. When the Sentinels are not behind, nothing changes (`needed` false).
///
/// Run it as an administrator (a Redis user that may write the `<prefix>:failover:*` keys); the members'
/// clients need no change. Only re-base after checking that the Sentinels answering are the deployment's own:
/// a stale or forged Sentinel also answers a lower epoch.
///
/// ```no_run
/// # async fn demo(admin: aeroguard_consensus::redis::RedisOptions) -> aeroguard_consensus::Result<()> {
/// use aeroguard_consensus::redis::rebase_epoch;
/// let plan = rebase_epoch(&admin, false).await?;
/// if plan.needed {
///     let done = rebase_epoch(&admin, true).await?;
///     println!("tokens now carry epoch {} (base {})", done.epoch, done.base);
/// }
/// # Ok(()) }
/// ```
pub async fn rebase_epoch(options: &RedisOptions, apply: bool) -> Result<EpochRebase> {
    const OP: &str = "rebase epoch";
    let pool = super::conn::Pool::new(options)?;
    pool.rebase(apply).await.map_err(|e| {
        if let Some(refused) = access_error(&e, OP) {
            refused
        } else if e.is_io_error() || e.is_connection_refusal() || e.is_timeout() {
            Error::Unreachable {
                backend: BACKEND,
                target: format!("{:?}", options.target),
                after: options.operation_timeout,
            }
        } else {
            refused_or_failed(&e, OP)
        }
    })
}
