//! API keys: each caller of the service is an identity (a sensor node, or a reader such as Prometheus or a
//! dashboard) holding a random key; the service keeps only the keys' SHA-256 digests, in a keys file of lines
//!
//! ```text
//! # identity  role    digest
//! n1          node    sha256:7a0c...   # may post its own rounds, and read
//! prometheus  reader  sha256:03be...   # may read (/verdicts, /history, /metrics)
//! ```
//!
//! A request names its key in `Authorization: Bearer <key>`. The digest is looked up, so the key itself is
//! never compared byte by byte, and the file discloses nothing a caller could post.

use std::collections::HashMap;
use std::fmt;

use aeroguard_core::NodeId;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// The longest keys file read (a few thousand identities).
pub const MAX_KEYS_FILE: usize = 1 << 20;
/// The most identities a keys file holds.
pub const MAX_KEYS: usize = 10_000;
/// The longest key accepted in a request (longer is refused before hashing).
pub const MAX_KEY_LEN: usize = 256;

/// What an identity may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Posts rounds as itself (its token is checked against the grant it holds), and reads.
    Node,
    /// Reads only.
    Reader,
}

impl Role {
    fn parse(s: &str) -> Option<Role> {
        match s {
            "node" => Some(Role::Node),
            "reader" => Some(Role::Reader),
            _ => None,
        }
    }

    /// The keyword in the keys file.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Node => "node",
            Role::Reader => "reader",
        }
    }
}

/// Who made a request, once its key checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The identity (a valid node id).
    pub identity: String,
    /// Its role.
    pub role: Role,
}

/// The keys the service accepts, by digest.
#[derive(Clone, Default)]
pub struct ApiKeys {
    by_digest: HashMap<[u8; 32], Caller>,
}

impl fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeys")
            .field("identities", &self.by_digest.len())
            .finish()
    }
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

impl ApiKeys {
    /// Parses a keys file's text; an error names the line and what is wrong with it.
    ///
    /// ```
    /// use aeroguard_sentinel::{ApiKeys, Role, new_key, key_line};
    /// let key = new_key();
    /// let keys = ApiKeys::parse(&format!("# comment\n{}\n", key_line("n1", Role::Node, &key)))?;
    /// assert_eq!(keys.check(&key).map(|c| c.identity.as_str()), Some("n1"));
    /// assert!(keys.check("agk_forged").is_none());
    /// assert!(ApiKeys::parse("n1 admin sha256:00").unwrap_err().to_string().contains("line 1"));
    /// # Ok::<(), aeroguard_sentinel::Error>(())
    /// ```
    pub fn parse(text: &str) -> Result<ApiKeys> {
        if text.len() > MAX_KEYS_FILE {
            return Err(Error::Keys {
                line: None,
                reason: format!("{} bytes, more than the {MAX_KEYS_FILE} accepted", text.len()),
            });
        }
        let mut keys = ApiKeys::default();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let bad = |why: &str| Error::Keys {
                line: Some(i + 1),
                reason: why.to_string(),
            };
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [identity, role, digest] = fields[..] else {
                return Err(bad("want `identity role sha256:<64 hex digits>`"));
            };
            let identity = NodeId::new(identity).map_err(|e| bad(&format!("identity: {e}")))?;
            let role =
                Role::parse(role).ok_or_else(|| bad(&format!("role {role:?}: want node or reader")))?;
            let digest = digest
                .strip_prefix("sha256:")
                .and_then(unhex)
                .ok_or_else(|| bad("digest: want sha256:<64 hex digits>"))?;
            if keys.by_digest.len() >= MAX_KEYS {
                return Err(bad(&format!("more than {MAX_KEYS} identities")));
            }
            let identity = identity.as_str().to_string();
            if keys.by_digest.insert(digest, Caller { identity, role }).is_some() {
                return Err(bad("this digest is already listed"));
            }
        }
        Ok(keys)
    }

    /// Reads and parses the keys file at `path`.
    pub fn load(path: &std::path::Path) -> Result<ApiKeys> {
        let meta =
            std::fs::metadata(path).map_err(|e| Error::io(format!("keys file {}", path.display()), e))?;
        if meta.len() > MAX_KEYS_FILE as u64 {
            return Err(Error::Keys {
                line: None,
                reason: format!(
                    "{}: {} bytes, more than the {MAX_KEYS_FILE} accepted",
                    path.display(),
                    meta.len()
                ),
            });
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("keys file {}", path.display()), e))?;
        ApiKeys::parse(&text)
    }

    /// The caller a key belongs to, if any.
    pub fn check(&self, key: &str) -> Option<&Caller> {
        if key.is_empty() || key.len() > MAX_KEY_LEN {
            return None;
        }
        self.by_digest.get(&digest(key))
    }

    /// How many identities hold keys.
    pub fn len(&self) -> usize {
        self.by_digest.len()
    }

    /// Whether no identity holds a key.
    pub fn is_empty(&self) -> bool {
        self.by_digest.is_empty()
    }
}

/// A new random key: `agk_` and 32 random bytes in hex.
pub fn new_key() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("agk_{}", hex(&bytes))
}

/// The keys-file line for `identity` with `role` holding `key` (its digest, never the key).
pub fn key_line(identity: &str, role: Role, key: &str) -> String {
    format!("{identity} {} sha256:{}", role.as_str(), hex(&digest(key)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_found_by_digest_and_nothing_else() {
        let (a, b) = (new_key(), new_key());
        assert_ne!(a, b);
        let text = format!(
            "{}\n{}\n",
            key_line("n1", Role::Node, &a),
            key_line("prom", Role::Reader, &b)
        );
        let keys = ApiKeys::parse(&text).unwrap();
        assert_eq!(keys.check(&a).unwrap().role, Role::Node);
        assert_eq!(keys.check(&b).unwrap().identity, "prom");
        // The file's digest is not a key.
        let digest_text = text.lines().next().unwrap().split_whitespace().nth(2).unwrap();
        assert!(keys.check(digest_text).is_none());
        assert!(keys.check(&"x".repeat(MAX_KEY_LEN + 1)).is_none());
    }

    #[test]
    fn bad_lines_are_named() {
        for (text, want) in [
            ("n1 node", "line 1"),
            ("\n\nn1 boss sha256:00", "line 3: role"),
            ("n1 node md5:abc", "digest"),
            ("bad id! node sha256:00", "identity"),
        ] {
            let e = ApiKeys::parse(text).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
        let line = key_line("n1", Role::Node, "k");
        assert!(
            ApiKeys::parse(&format!("{line}\n{line}"))
                .unwrap_err()
                .to_string()
                .contains("already")
        );
    }
}
