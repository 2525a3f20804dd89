//! Grants: which store a guest may open, which of its keys, and whether it
//! may write them. [`crate::Bucket`] asks its grant before every operation,
//! lists and batches included; a denial is [`Error::AccessDenied`].

use crate::error::{Error, Result};

/// What a grant lets a guest do with the keys it covers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Access {
    /// Read only: get, exists, list, get-entry, get-many.
    Read,
    /// Read and write. The default.
    #[default]
    ReadWrite,
}

impl std::str::FromStr for Access {
    type Err = String;

    /// `read`, or `write` (also `read-write`), as registries and `--allow` spell it.
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "read" => Ok(Access::Read),
            "write" | "read-write" => Ok(Access::ReadWrite),
            other => Err(format!("unknown access `{other}`; expected read or write")),
        }
    }
}

/// One store a guest may open, optionally limited to keys with a prefix or
/// to reads, and optionally under a name of the guest's own choosing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The store's registry ID.
    pub store: String,
    /// Keys the guest may touch start with this; empty = every key.
    pub prefix: String,
    /// Read only, or read and write.
    pub access: Access,
    /// Another name the guest may open the store by, such as `in_memory`
    /// (what Spin calls a store label and wasmCloud a bucket name), besides
    /// its ID.
    pub alias: Option<String>,
}

/// The longest alias: as long as a key may be by default.
pub(crate) const MAX_ALIAS_BYTES: usize = 255;

impl Grant {
    /// Every key of `store`, read and write.
    pub fn new(store: impl Into<String>) -> Self {
        Self { store: store.into(), prefix: String::new(), access: Access::ReadWrite, alias: None }
    }

    /// The guest may also open the store as `alias`. See [`check_names`]
    /// for what an alias may be.
    pub fn alias(mut self, alias: impl Into<String>) -> Self {
        self.alias = Some(alias.into());
        self
    }

    /// Only keys starting with `prefix`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Reads only.
    pub fn read_only(mut self) -> Self {
        self.access = Access::Read;
        self
    }

    /// Whether this grant covers the whole store, read and write.
    pub fn is_full(&self) -> bool {
        self.prefix.is_empty() && self.access == Access::ReadWrite
    }

    /// May the holder read `key`?
    pub(crate) fn read(&self, key: &str) -> Result<()> {
        // Most grants cover every key: no comparison at all for them.
        if self.prefix.is_empty() || key.starts_with(&self.prefix) {
            return Ok(());
        }
        Err(Error::AccessDenied(format!(
            "key {key:?} is outside this guest's grant on {}: only keys starting with {:?}",
            self.store, self.prefix
        )))
    }

    /// May the holder write `key` with operation `op`?
    pub(crate) fn write(&self, op: &str, key: &str) -> Result<()> {
        if self.access == Access::Read {
            return Err(Error::AccessDenied(format!(
                "{op} is a write, and {} is granted read-only to this guest",
                self.store
            )));
        }
        self.read(key)
    }

    /// May the holder remove every key of the store? Not under a prefix.
    pub(crate) fn clear(&self) -> Result<()> {
        self.write("clear", &self.prefix)?;
        if !self.prefix.is_empty() {
            return Err(Error::AccessDenied(format!(
                "clear removes every key of {}, and this guest is granted only keys starting with {:?}; \
                 delete them with list-keys and delete-many instead",
                self.store, self.prefix
            )));
        }
        Ok(())
    }

    /// The prefix a listing by `prefix` may see: the grant's own when it is
    /// narrower, `None` when the two do not overlap (nothing is listed).
    pub(crate) fn narrow<'a>(&'a self, prefix: &'a str) -> Option<&'a str> {
        if prefix.starts_with(&self.prefix) {
            Some(prefix)
        } else if self.prefix.starts_with(prefix) {
            Some(&self.prefix)
        } else {
            None
        }
    }
}

/// Check the names a guest's grants give it: each alias is a non-empty
/// string of at most [`MAX_ALIAS_BYTES`] bytes other than `default`, and no
/// alias is another grant's store ID or alias. On a problem, the index of the
/// grant whose alias is at fault and what is wrong.
pub(crate) fn check_names(grants: &[Grant]) -> std::result::Result<(), (usize, String)> {
    for (i, grant) in grants.iter().enumerate() {
        let Some(alias) = &grant.alias else { continue };
        if alias.is_empty() {
            return Err((i, "an alias must not be empty".into()));
        }
        if alias == "default" {
            return Err((i, "`default` always names the default store; choose another alias".into()));
        }
        if alias.len() > MAX_ALIAS_BYTES {
            return Err((i, format!("an alias is at most {MAX_ALIAS_BYTES} bytes; this one is {}", alias.len())));
        }
        for (j, other) in grants.iter().enumerate().filter(|&(j, _)| j != i) {
            if other.store == *alias {
                return Err((i, format!("alias `{alias}` is the ID of another granted store ({})", other.store)));
            }
            if j < i && other.alias.as_deref() == Some(alias.as_str()) {
                return Err((i, format!("alias `{alias}` is already given to {}", other.store)));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_naming_the_alias_that_is_empty_default_too_long_or_taken() {
        let ok = [Grant::new("app:a").alias("in_memory"), Grant::new("app:a").alias("cache"), Grant::new("app:b")];
        check_names(&ok).unwrap();
        let bad = |grants: &[Grant]| check_names(grants).unwrap_err();
        assert_eq!(bad(&[Grant::new("app:a").alias("")]).0, 0);
        assert!(bad(&[Grant::new("app:a").alias("default")]).1.contains("`default`"));
        assert!(bad(&[Grant::new("app:a").alias("x".repeat(256))]).1.contains("at most 255 bytes"));
        let (i, m) = bad(&[Grant::new("app:a").alias("c"), Grant::new("app:b").alias("c")]);
        assert_eq!(i, 1);
        assert!(m.contains("already given to app:a"), "{m}");
        let (i, m) = bad(&[Grant::new("app:a").alias("app:b"), Grant::new("app:b")]);
        assert_eq!(i, 0);
        assert!(m.contains("ID of another granted store"), "{m}");
    }

    #[test]
    fn a_prefix_grant_reads_and_writes_only_under_its_prefix() {
        let g = Grant::new("app:kv").prefix("user:");
        g.read("user:1").unwrap();
        g.write("set", "user:1").unwrap();
        let m = g.read("admin:1").unwrap_err().to_string();
        assert!(m.contains("\"admin:1\"") && m.contains("\"user:\"") && m.contains("app:kv"), "{m}");
        assert!(matches!(g.write("set", "admin:1"), Err(Error::AccessDenied(_))));
        assert!(matches!(g.clear(), Err(Error::AccessDenied(m)) if m.contains("delete-many")));
    }

    #[test]
    fn a_read_only_grant_refuses_every_write_naming_it() {
        let g = Grant::new("app:kv").read_only();
        g.read("anything").unwrap();
        let m = g.write("delete", "k").unwrap_err().to_string();
        assert!(m.contains("delete is a write") && m.contains("read-only"), "{m}");
        assert!(g.clear().is_err());
    }

    #[test]
    fn listings_are_narrowed_to_the_grant() {
        let g = Grant::new("app:kv").prefix("user:");
        assert_eq!(g.narrow(""), Some("user:"));
        assert_eq!(g.narrow("us"), Some("user:"));
        assert_eq!(g.narrow("user:4"), Some("user:4"));
        assert_eq!(g.narrow("admin:"), None);
        assert_eq!(Grant::new("app:kv").narrow("x"), Some("x"));
    }
}
