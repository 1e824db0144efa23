//! The election's scripts: join, acquire (with the failover epoch and the wait-out of an unreleased lease),
//! renew, leave, list; and the epoch raise every connection makes.

use std::sync::LazyLock;

use redis::Script;

use super::{NOW, script};

/// Candidates whose liveness deadline passed leave the queue (election KEYS 1 queue, 2 alive).
const ELECTION_PRUNE: &str = include_str!("../lua/election_prune.lua");

fn election_script(body: &str) -> Script {
    Script::new(&format!("{NOW}\n{ELECTION_PRUNE}\n{body}"))
}

/// KEYS: queue, alive, lease, token, seq. ARGV: node, ttl. Joins the queue; returns the member name.
pub static ELECTION_JOIN: LazyLock<Script> =
    LazyLock::new(|| election_script(include_str!("../lua/election_join.lua")));

/// KEYS: epoch, quiet, base. ARGV: the failover epoch Sentinel reports for this master, the quiet period (ms).
/// Raises the master's epoch to the base plus Sentinel's; a raise (a failover happened since the last) starts a
/// quiet period in which no lease is granted: a leader cut off with the old master may still trust its lease
/// for up to `T` after the old master stopped taking writes. `{1, epoch, base}`, or `{0, stored, base}` when the
/// master has seen a newer epoch than the caller's Sentinels (the caller resolves again).
pub static EPOCH_RAISE: LazyLock<Script> = LazyLock::new(|| script(include_str!("../lua/epoch_raise.lua")));

/// KEYS: epoch, quiet, base. ARGV: the failover epoch the Sentinels report, the quiet period (ms), the epoch
/// limit, `1` to apply (else only say what would change). When the stored epoch is above the base plus the
/// Sentinels' (Sentinels redeployed with fresh configs report 0), the epoch continues one above the stored one
/// and the base becomes that minus the Sentinels' epoch, so tokens keep rising; a quiet period starts.
/// `{1, new epoch, new base}`, or `{0, stored, base}` when the Sentinels are not behind.
pub static EPOCH_REBASE: LazyLock<Script> = LazyLock::new(|| script(include_str!("../lua/epoch_rebase.lua")));

/// The largest epoch and counter a token can carry: `epoch * 2^32 + counter` stays below 2^53, where Lua's
/// numbers (doubles) are still exact integers.
pub(crate) const TOKEN_LIMITS: (u64, u64) = (1 << 21, 1 << 32);

/// KEYS: queue, alive, lease, token counter, term, epoch, quiet, renewals, released. ARGV: member, ttl, the
/// renewal count the candidate has seen unchanged for a whole lease on its own clock (-1: none).
/// `{token, 0, renewals}` when elected; `{0, wait_ms, renewals}` when another leads, a predecessor waits ahead
/// (the wait is until that one's lease or liveness runs out) or the quiet period after a failover runs;
/// `{0, -2, renewals}` when the lease ran out without being released and the candidate has not yet seen the
/// renewal count stand still for a lease; `{-1, 0, renewals}` when the member is no longer queued.
///
/// The token is `epoch * 2^32 + counter`: the counter is incremented on every grant, and the failover epoch
/// raised since a failover that lost the counter's last increments keeps the tokens rising.
///
/// Why the wait-out: a lease's expiry is a wall-clock deadline on the server, so a server whose clock steps
/// forward expires it early, while its holder trusts it by its own clock. A lease that ends unreleased is granted
/// only to a candidate that saw its last renewal (the count every grant and renewal raises) and then a whole
/// lease `T` pass on its own clock without another: by then the holder, which trusts `9T/10` past a renewal it
/// sent before that renewal ran, has stopped.
pub static ELECTION_ACQUIRE: LazyLock<Script> = LazyLock::new(|| {
    // The limits are Rust's, so the Lua and the decoding of tokens cannot disagree.
    election_script(
        &include_str!("../lua/election_acquire.lua")
            .replace("__MAX_EPOCH__", &TOKEN_LIMITS.0.to_string())
            .replace("__MAX_COUNT__", &TOKEN_LIMITS.1.to_string()),
    )
});

/// KEYS: queue, alive, lease, renewals. ARGV: member, ttl. Compare-and-extend: 1 if the lease is still the
/// member's (and now extended, the renewal count raised), 0 if not.
pub static ELECTION_RENEW: LazyLock<Script> =
    LazyLock::new(|| election_script(include_str!("../lua/election_renew.lua")));

/// KEYS: queue, alive, lease, renewals, released. ARGV: member, wake-list prefix, and for candidates that ask an
/// election authority the wake-list infix (their lists are `prefix .. node .. infix .. member`, under each
/// node's own keys). Leaves the election (resigning the lease if held: a released lease needs no waiting out)
/// and wakes the successor.
pub static ELECTION_LEAVE: LazyLock<Script> =
    LazyLock::new(|| election_script(include_str!("../lua/election_leave.lua")));

/// KEYS: queue, alive, lease. The lease holder (or '') then the live candidates in order. It writes nothing,
/// so it runs as `EVAL_RO`: a login that may only read the election's keys can list it.
pub static ELECTION_CONTENDERS: LazyLock<String> =
    LazyLock::new(|| format!("{NOW}\n{}", include_str!("../lua/election_contenders.lua")));
