//! What a receiver of action calls keeps to refuse stale leaders and repeats: the newest fencing token it has
//! seen and the keys of the calls it took.

use std::collections::{HashSet, VecDeque};

/// What a [`Gate`] makes of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// New: act on it.
    Accept,
    /// From a leader older than one already heard from (its token is below `newest`): refuse it.
    Stale {
        /// The newest token seen.
        newest: u64,
    },
    /// A key already taken (a retry, or a successor acting on the same episode): acknowledge it, do nothing.
    Repeat,
}

/// A receiver's memory of action calls: the newest fencing token, and the last `capacity` keys taken.
///
/// ```
/// use aeroguard_detect::action::{Admission, Gate};
/// let mut gate = Gate::new(1000);
/// assert_eq!(gate.admit(7, "a-1"), Admission::Accept);
/// assert_eq!(gate.admit(7, "a-1"), Admission::Repeat, "the same key again");
/// assert_eq!(gate.admit(8, "b-2"), Admission::Accept, "a newer leader");
/// assert_eq!(gate.admit(7, "c-3"), Admission::Stale { newest: 8 }, "the deposed leader, late");
/// ```
#[derive(Debug, Clone)]
pub struct Gate {
    newest: u64,
    order: VecDeque<String>,
    taken: HashSet<String>,
    capacity: usize,
}

impl Gate {
    /// A gate that remembers the last `capacity` keys (at least one).
    pub fn new(capacity: usize) -> Gate {
        Gate {
            newest: 0,
            order: VecDeque::new(),
            taken: HashSet::new(),
            capacity: capacity.max(1),
        }
    }

    /// The newest token seen.
    pub fn newest(&self) -> u64 {
        self.newest
    }

    /// What to make of a call with fencing token `token` and idempotency key `key`. A repeat is told before
    /// staleness: a retry of a call that was taken is acknowledged whatever leader came since.
    pub fn admit(&mut self, token: u64, key: &str) -> Admission {
        if self.taken.contains(key) {
            return Admission::Repeat;
        }
        if token < self.newest {
            return Admission::Stale { newest: self.newest };
        }
        self.newest = token;
        if self.order.len() == self.capacity
            && let Some(old) = self.order.pop_front()
        {
            self.taken.remove(&old);
        }
        self.order.push_back(key.to_string());
        self.taken.insert(key.to_string());
        Admission::Accept
    }
}
