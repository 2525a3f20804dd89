//! Opaque list cursors: the last key of a page, tagged so that a store
//! accepts only cursors it issued.
//!
//! The tag is a SipHash of the store ID and the key under a key drawn at
//! random when the process starts: a guest cannot forge a cursor, and a
//! cursor from another store or another host process is refused.

use std::collections::VecDeque;
use std::hash::BuildHasher;
use std::sync::OnceLock;

use crate::error::{Error, Result};

fn secret() -> &'static std::collections::hash_map::RandomState {
    static SECRET: OnceLock<std::collections::hash_map::RandomState> = OnceLock::new();
    SECRET.get_or_init(Default::default)
}

fn tag(store: &str, key: &str) -> u64 {
    secret().hash_one((store, key))
}

/// The cursor that resumes a listing of `store` after `last_key`.
pub(crate) fn encode(store: &str, last_key: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(last_key.len() * 2 + 17);
    for b in last_key.bytes() {
        let _ = write!(out, "{b:02x}");
    }
    let _ = write!(out, ".{:016x}", tag(store, last_key));
    out
}

/// The key a cursor of `store` resumes after, or `invalid-argument`.
pub(crate) fn decode(store: &str, cursor: &str) -> Result<String> {
    let bad = || Error::InvalidArgument(format!("cursor {cursor:?} was not issued by store {store}"));
    let (hex, t) = cursor.split_once('.').ok_or_else(bad)?;
    if hex.len() % 2 != 0 || t.len() != 16 {
        return Err(bad());
    }
    let bytes: Option<Vec<u8>> =
        (0..hex.len()).step_by(2).map(|i| hex.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect();
    let key = bytes.and_then(|b| String::from_utf8(b).ok()).ok_or_else(bad)?;
    let t = u64::from_str_radix(t, 16).map_err(|_| bad())?;
    if t != tag(store, &key) {
        return Err(bad());
    }
    Ok(key)
}

/// Numbers standing for cursors, for interfaces whose cursors are numbers
/// (`wasi:keyvalue@0.2.0-draft`): each bucket handle keeps the last
/// [`Numbered::KEPT`] it issued, and accepts only those.
#[derive(Debug, Default)]
pub(crate) struct Numbered {
    issued: VecDeque<(u64, String)>,
    last: u64,
}

impl Numbered {
    /// Cursors kept per handle; older ones stop being accepted.
    pub(crate) const KEPT: usize = 64;

    /// A new number for `cursor`.
    pub(crate) fn issue(&mut self, cursor: String) -> u64 {
        self.last += 1;
        if self.issued.len() == Self::KEPT {
            self.issued.pop_front();
        }
        self.issued.push_back((self.last, cursor));
        self.last
    }

    /// The cursor number `n` stands for, or `invalid-argument`.
    pub(crate) fn resolve(&self, n: u64) -> Result<&str> {
        self.issued
            .iter()
            .find(|(id, _)| *id == n)
            .map(|(_, cursor)| cursor.as_str())
            .ok_or_else(|| Error::InvalidArgument(format!("cursor {n} was not issued by this bucket")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_any_key() {
        for key in ["a", "user:42", "ключ 🔑", "with.dots.and\"quotes"] {
            assert_eq!(decode("app:s", &encode("app:s", key)).unwrap(), key);
        }
    }

    #[test]
    fn numbers_stand_for_the_last_cursors_issued() {
        let mut n = Numbered::default();
        let first = n.issue("a".into());
        assert_eq!(n.resolve(first).unwrap(), "a");
        for i in 0..Numbered::KEPT {
            n.issue(i.to_string());
        }
        assert!(matches!(n.resolve(first), Err(Error::InvalidArgument(_))), "the oldest was dropped");
        assert!(n.resolve(0).is_err() && n.resolve(u64::MAX).is_err());
    }

    #[test]
    fn rejects_forged_foreign_and_garbled_cursors() {
        let c = encode("app:s", "k");
        assert!(decode("app:other", &c).is_err(), "another store's cursor");
        let forged = format!("{}.{:016x}", "6b", 0u64);
        assert!(decode("app:s", &forged).is_err());
        for bad in ["", "zz", "6b", "6b.", "6.0000000000000000", &c[..c.len() - 1], &format!("{c}0")] {
            assert!(matches!(decode("app:s", bad), Err(Error::InvalidArgument(_))), "{bad:?}");
        }
    }
}
