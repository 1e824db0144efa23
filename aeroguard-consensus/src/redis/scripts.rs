//! The server-side scripts: every read-check-write a recipe needs happens in one script, atomically.
//!
//! Deadlines use the server's clock (`TIME`), so clients' clocks never need to agree. The Lua is in `lua/`, one
//! file a script (or a part several scripts share), with its keys and arguments documented here.

use std::sync::LazyLock;

use redis::Script;

/// `now()` in milliseconds of the server's clock.
const NOW: &str = include_str!("lua/now.lua");

fn script(body: &str) -> Script {
    Script::new(&format!("{NOW}\n{body}"))
}

/// KEYS: session. ARGV: ttl. 1 if the session lives (and is extended), 0 if it is gone.
pub static SESSION_BEAT: LazyLock<Script> = LazyLock::new(|| script(include_str!("lua/session_beat.lua")));

mod election;
pub use election::*;

/// Registrations past their deadline leave, with a `leave` event (registry KEYS 1 live, 2 data, 3 owner,
/// 4 events).
const REGISTRY_PRUNE: &str = include_str!("lua/registry_prune.lua");

fn registry_script(body: &str) -> Script {
    Script::new(&format!("{NOW}\n{REGISTRY_PRUNE}\n{body}"))
}

/// KEYS: live, data, owner, events. ARGV: node, owner, payload, ttl, previous owner (may take over).
/// 2 if (re)created, 1 if extended, 0 if another owner holds the node's registration.
pub static REGISTRY_PUT: LazyLock<Script> =
    LazyLock::new(|| registry_script(include_str!("lua/registry_put.lua")));

/// KEYS: live, data, owner, events. ARGV: node, owner. Removes the registration if the owner still holds it.
pub static REGISTRY_DELETE: LazyLock<Script> =
    LazyLock::new(|| registry_script(include_str!("lua/registry_delete.lua")));

/// KEYS: live, data, owner, events. `{last event id, ms until the next deadline or -1, node, payload, ...}`.
pub static REGISTRY_LIST: LazyLock<Script> =
    LazyLock::new(|| registry_script(include_str!("lua/registry_list.lua")));

/// KEYS: value hash, changes stream. ARGV: mode (any | absent | version), expected version, data.
/// `{1, new version}` or `{0, current version}` on a conflict.
pub static CONFIG_SET: LazyLock<Script> = LazyLock::new(|| script(include_str!("lua/config_set.lua")));

/// KEYS: stream, dead-letter stream. ARGV: group, consumer, min idle ms, count, cursor, max deliveries (0: no
/// limit), whether to scan (`1`; `0` reads new entries only: the scan is the costly part, so callers run it
/// when a reclaim can be due). Reclaims entries idle longer than the limit (crashed or released), scanning the
/// pending list from `cursor` (each `XAUTOCLAIM` looks at most ten entries per wanted one, so a scan that restarted at `0-0` every
/// time never got past many live claims), else reads new ones: `{next cursor, id, payload, id, payload, ...}`.
/// A reclaimed entry delivered more than the limit (`XPENDING` counts deliveries) moves to the dead-letter
/// stream instead, with its id and count.
pub static QUEUE_TAKE: LazyLock<Script> = LazyLock::new(|| script(include_str!("lua/queue_take.lua")));

/// KEYS: stream. ARGV: group, idle ms, consumer. Removes the group's consumers that hold nothing and have been
/// idle longer than the limit, except `consumer` (each session reads as a consumer of its own, so without this
/// the group grows by one consumer per session forever). Deleting a consumer with nothing pending loses
/// nothing: one that reads again is created again. The number removed.
pub static QUEUE_REAP: LazyLock<Script> = LazyLock::new(|| script(include_str!("lua/queue_reap.lua")));

/// KEYS: stream. ARGV: group, consumer, idle ms, ids... Sets the idle time of the consumer's own entries
/// (0 to keep a claim alive, huge to release it to the next taker).
pub static QUEUE_TOUCH: LazyLock<Script> = LazyLock::new(|| script(include_str!("lua/queue_touch.lua")));

/// KEYS: stream. ARGV: group, consumer, lowest id, highest id, ids... Acknowledges and removes the entries if
/// the consumer holds every one of them: `{1, removed}`; otherwise nothing changes and the first entry it does
/// not hold (another consumer has it, or nobody: acked already) is named with its holder: `{0, id, holder}`.
/// One `XPENDING` over the batch's range, filtered by consumer, finds what the consumer holds.
///
/// Removal is by trimming where it can be: every entry below the group's oldest pending one has been delivered
/// (deliveries go in stream order) and acknowledged, so one `XTRIM MINID` drops them all, whole stream nodes at
/// a time. Acked entries above the oldest pending one (acked out of order) are deleted one by one (`XDEL`), so
/// the stream's length stays the number of entries not yet acknowledged. With nothing pending, everything up
/// to the batch's highest id goes. This holds because the stream has one consumer group (`GROUP`) whose
/// delivered id only moves forward (nothing calls `XGROUP SETID`); a second group would need the oldest pending
/// entry over both.
pub static QUEUE_ACK: LazyLock<Script> = LazyLock::new(|| script(include_str!("lua/queue_ack.lua")));

/// The fence check every fenced history script starts with. The fence key holds `"<token> <owner>"` (a
/// value of the older format, the token alone, has no owner). ARGV[1] is the token, ARGV[2] the owner. Returns
/// early with `{0, highest, holder, 0, 0}` for a lower token and `{2, highest, holder, 0, 0}` for the same token
/// from another owner; otherwise records the writer as the fence's owner.
const FENCE_CHECK: &str = include_str!("lua/fence_check.lua");

/// KEYS: points, fence. ARGV: token, owner, then score/member pairs. `{1, token, owner, 0, 0, 0}` if written,
/// else the fence check's refusal.
pub static HISTORY_APPEND: LazyLock<Script> =
    LazyLock::new(|| script(&[FENCE_CHECK, include_str!("lua/history_append.lua")].concat()));

/// How many raw points one compaction step drops or folds at most: a step is one script, and Redis runs nothing
/// else meanwhile (folding a whole range in one script blocked the server for as long as the range was big).
pub const COMPACT_STEP: u32 = 2_000;

/// KEYS: points, fence, buckets. ARGV: token, owner, drop before (ms), downsample before (ms, bucket-aligned,
/// or -1), bucket width (ms), step size. One bounded step: drops up to `step` raw points older than the retention
/// (then buckets as old), else folds up to `step` raw points older than the downsampling age into min/max/mean
/// buckets (merging into a bucket an earlier step started, so a bucket split across steps comes out whole).
/// `{1, token, owner, dropped, folded, more}` with `more` 1 while work remains, or the fence check's refusal.
pub static HISTORY_COMPACT: LazyLock<Script> =
    LazyLock::new(|| script(&[FENCE_CHECK, include_str!("lua/history_compact.lua")].concat()));
