//! The typed registry entries, and the fields every entry shares.

use std::path::PathBuf;
use std::time::Duration;

use super::kind::Kind;
use crate::config::{ConfigError, Fields};

/// One entry of a registry, validated.
#[derive(Debug, Clone)]
pub struct Entry {
    /// `namespace:name`.
    pub id: String,
    /// The file that declared it.
    pub file: PathBuf,
    /// Start and stop behaviour.
    pub lifecycle: Lifecycle,
    /// What it is, with its kind's fields.
    pub kind: Kind,
}

/// The `lifecycle` block common to every entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifecycle {
    /// Start this entry when the registry starts. Default false.
    pub auto_start: bool,
    /// Entries that must start before this one.
    pub requires: Vec<String>,
    /// How long starting may take. Default 10s.
    pub start_timeout: Duration,
    /// How long stopping may take. Default 10s.
    pub stop_timeout: Duration,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Self {
            auto_start: false,
            requires: Vec::new(),
            start_timeout: Duration::from_secs(10),
            stop_timeout: Duration::from_secs(10),
        }
    }
}

pub(crate) const LIFECYCLE_FIELDS: &[&str] = &["auto_start", "requires", "start_timeout", "stop_timeout"];

impl Lifecycle {
    pub(crate) fn parse(fields: Option<Fields>) -> Result<Self, ConfigError> {
        let mut lc = Self::default();
        let Some(mut f) = fields else { return Ok(lc) };
        lc.auto_start = f.bool("auto_start")?.unwrap_or(false);
        lc.requires = f.string_list("requires")?;
        if let Some(d) = f.duration("start_timeout")? {
            lc.start_timeout = d;
        }
        if let Some(d) = f.duration("stop_timeout")? {
            lc.stop_timeout = d;
        }
        f.finish(LIFECYCLE_FIELDS)?;
        Ok(lc)
    }
}

/// Whether `name` is a valid namespace or entry name.
pub(crate) fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}
