//! Key names. Every key is `<prefix>:<kind>:{<name>}` plus a fixed suffix (`:lease`, `:changes`, ...). Names
//! may contain `:` but never braces, so the braces end the name unambiguously: distinct (kind, name, suffix)
//! give distinct keys (a config named `a:changes` no longer lands on config `a`'s change stream), and each
//! name's keys share the Redis Cluster hash slot of `{<name>}`.

/// The base key of `name` of `kind` under `prefix`.
pub(crate) fn named(prefix: &str, kind: &str, name: &str) -> String {
    format!("{prefix}:{kind}:{{{name}}}")
}

/// Node `node`'s slot of inbox `name`: outside `<prefix>:*`, so an ACL user can be given its node's slots alone
/// with the pattern `~<prefix>-inbox/<node>/*`. Node ids hold no `/` (nor any glob character), so that pattern
/// matches no other node's key: a suffix pattern would (`*:n1` matches node `x:n1`'s key too).
pub(crate) fn inbox(prefix: &str, name: &str, node: &str) -> String {
    format!("{prefix}-inbox/{node}/{{{name}}}")
}

/// Node `node`'s own key `what`, outside `<prefix>:*` like the inbox slots: a member's login may write
/// `~<prefix>-node/<node>/*` and nothing of another node. A node that asks an election authority
/// ([`RedisOptions::with_election_authority`](super::RedisOptions::with_election_authority)) keeps there its
/// session key, its requests (`ask`), the authority's answers (`reply:<nonce>`) and its wake-up lists.
pub(crate) fn own(prefix: &str, node: &str, what: &str) -> String {
    format!("{prefix}-node/{node}/{what}")
}

/// The keys of the master's failover epoch and of the end of its quiet period (`scripts::EPOCH_RAISE`), shared by
/// every election under `prefix`.
pub(crate) fn epoch_keys(prefix: &str) -> [String; 2] {
    let base = named(prefix, "failover", "master");
    [format!("{base}:epoch"), format!("{base}:quiet")]
}

/// The epoch keys with the base a re-base sets (`scripts::EPOCH_REBASE`): the epoch tokens carry is the base
/// plus the Sentinels' failover epoch.
pub(crate) fn failover_keys(prefix: &str) -> [String; 3] {
    let [epoch, quiet] = epoch_keys(prefix);
    [
        epoch,
        quiet,
        format!("{}:base", named(prefix, "failover", "master")),
    ]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use proptest::prelude::*;

    use super::named;

    /// Every kind with every suffix the backend puts after it.
    const KINDS: [(&str, &[&str]); 7] = [
        ("cfg", &["", ":changes"]),
        (
            "el",
            &[":queue", ":alive", ":lease", ":token", ":term", ":seq", ":wake:"],
        ),
        ("svc", &[":live", ":data", ":owner", ":events"]),
        ("q", &[""]),
        ("hist", &[":points", ":fence", ":buckets"]),
        ("session", &[":"]),
        ("failover", &[":epoch", ":quiet", ":base"]),
    ];

    fn name() -> impl Strategy<Value = String> {
        "[A-Za-z0-9_.:-]{1,12}"
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn distinct_names_give_distinct_keys(a in name(), other in name(), grow in 0..8usize, ka in 0..6usize,
                                             kb in 0..6usize, sa in 0..6usize, sb in 0..6usize) {
            // The second name is often the first with a suffix the backend uses, where collisions hide.
            let grown = ["", ":changes", ":lease", ":wake", ":wake:x", ":live", ":points", ":fence"];
            let b = if grow == 0 { other } else { format!("{a}{}", grown[grow]) };
            let (kind_a, suffixes_a) = KINDS[ka];
            let (kind_b, suffixes_b) = KINDS[kb];
            let (sa, sb) = (suffixes_a[sa % suffixes_a.len()], suffixes_b[sb % suffixes_b.len()]);
            let key_a = named("aeroguard", kind_a, &a) + sa;
            let key_b = named("aeroguard", kind_b, &b) + sb;
            if (kind_a, a.as_str(), sa) != (kind_b, b.as_str(), sb) {
                prop_assert_ne!(key_a, key_b);
            }
        }
    }

    #[test]
    fn a_nodes_slot_pattern_covers_its_own_slots_alone() {
        let pattern_prefix = |node: &str| format!("aeroguard-inbox/{node}/");
        for (node, other) in [("n1", "x:n1"), ("x:n1", "n1"), ("n1", "n10"), ("n1", "n1.a")] {
            assert!(super::inbox("aeroguard", "round-a", node).starts_with(&pattern_prefix(node)));
            assert!(
                !super::inbox("aeroguard", "round-a", other).starts_with(&pattern_prefix(node)),
                "{node}'s pattern must not cover {other}'s slot"
            );
        }
    }

    #[test]
    fn own_keys_stay_under_their_node() {
        assert!(super::own("p", "n1", "ask").starts_with("p-node/n1/"));
        assert!(!super::own("p", "n10", "ask").starts_with("p-node/n1/"));
    }

    #[test]
    fn the_old_collision_is_gone() {
        // Config `a:changes` and the change stream of config `a` were one key.
        assert_ne!(
            named("p", "cfg", "a:changes"),
            named("p", "cfg", "a") + ":changes"
        );
    }
}
