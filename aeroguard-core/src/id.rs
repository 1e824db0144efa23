//! Identifiers of sensors and nodes.
//!
//! Identifiers end up in ZooKeeper paths, Redis keys and metric labels, so they are validated once, at
//! construction: 1 to 128 characters from `[A-Za-z0-9_.:-]`. An invalid identifier is an
//! [`Error::InvalidId`](crate::Error::InvalidId) that names the identifier and what is wrong with it.
//! They are small strings ([`SmolStr`]): up to 23 bytes inline, shared (`Arc<str>`) beyond, so the clones every
//! estimate and vote record carries cost no allocation, and short ones not even an atomic increment.

use std::fmt;

use serde::{Deserialize, Serialize};
use smol_str::SmolStr;

use crate::Error;

/// The longest identifier accepted, in bytes.
pub const MAX_ID_LEN: usize = 128;

/// Why `id` is not an identifier (1 to [`MAX_ID_LEN`] characters from `[A-Za-z0-9_.:-]`), or `None` when it is
/// one. The one rule for every name that ends up in a path, a key or a label: sensor and node ids, election,
/// queue and config names, series, alert rules.
///
/// ```
/// use aeroguard_core::identifier_problem;
/// assert_eq!(identifier_problem("pump-1:pressure"), None);
/// assert_eq!(identifier_problem(""), Some("it is empty"));
/// assert!(identifier_problem("a/b").is_some());
/// assert!(identifier_problem(&"x".repeat(129)).is_some());
/// ```
pub fn identifier_problem(id: &str) -> Option<&'static str> {
    if id.is_empty() {
        Some("it is empty")
    } else if id.len() > MAX_ID_LEN {
        Some("it is longer than 128 characters")
    } else if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
    {
        Some("only ASCII letters, digits and `_ . : -` are allowed")
    } else {
        None
    }
}

fn validate(kind: &'static str, id: &str) -> Result<(), Error> {
    match identifier_problem(id) {
        Some(reason) => Err(Error::InvalidId {
            kind,
            id: id.chars().take(160).collect(),
            reason,
        }),
        None => Ok(()),
    }
}

macro_rules! identifier {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(SmolStr);

        impl $name {
            /// Validates and wraps an identifier.
            pub fn new(id: impl Into<String>) -> Result<Self, Error> {
                let id = id.into();
                validate($kind, &id)?;
                Ok(Self(SmolStr::from(id)))
            }

            /// The identifier as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(id: String) -> Result<Self, Error> {
                Self::new(id)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = Error;
            fn try_from(id: &str) -> Result<Self, Error> {
                Self::new(id)
            }
        }

        impl std::str::FromStr for $name {
            type Err = Error;
            fn from_str(id: &str) -> Result<Self, Error> {
                Self::new(id)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0.to_string()
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }
    };
}

identifier!(
    /// The identity of one sensor channel, for example `pump1.pressure.a`.
    ///
    /// ```
    /// use aeroguard_core::SensorId;
    /// let id = SensorId::new("pump1.pressure.a")?;
    /// assert_eq!(id.as_str(), "pump1.pressure.a");
    /// assert!(SensorId::new("bad/id").is_err());
    /// # Ok::<(), aeroguard_core::Error>(())
    /// ```
    SensorId,
    "sensor"
);

identifier!(
    /// The identity of one node (a process taking part in coordination), for example `node-3`.
    ///
    /// ```
    /// use aeroguard_core::NodeId;
    /// let id: NodeId = "node-3".parse()?;
    /// assert_eq!(id.to_string(), "node-3");
    /// # Ok::<(), aeroguard_core::Error>(())
    /// ```
    NodeId,
    "node"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_empty_long_and_odd_characters() {
        assert!(matches!(
            SensorId::new(""),
            Err(Error::InvalidId {
                reason: "it is empty",
                ..
            })
        ));
        assert!(SensorId::new("x".repeat(129)).is_err());
        assert!(SensorId::new("x".repeat(128)).is_ok());
        for bad in ["a/b", "a b", "é", "a\n"] {
            let err = NodeId::new(bad).unwrap_err();
            assert!(err.to_string().contains("node"), "{err}");
        }
    }

    #[test]
    fn serde_validates() {
        let ok: SensorId = serde_json::from_str("\"s-1\"").unwrap();
        assert_eq!(ok.as_str(), "s-1");
        assert_eq!(serde_json::to_string(&ok).unwrap(), "\"s-1\"");
        assert!(serde_json::from_str::<SensorId>("\"a/b\"").is_err());
    }
}
