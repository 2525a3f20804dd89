//! Per-store limits, with their defaults, and the checks that enforce them.
//!
//! | limit | default | over it |
//! |---|---|---|
//! | `max_key_bytes` | 255 (the SQL key column) | invalid-argument |
//! | `max_value_bytes` | 1 MiB | too-large |
//! | `max_result_bytes` | 16 MiB | list pages end early; get-many and set-many give too-large |
//! | `max_concurrency` | 256 operations in flight (0 = unlimited) | an operation waits for a slot |
//! | `max_concurrency_wait` | 1 s | unavailable |

use std::time::Duration;

use crate::error::{Error, Result};

/// Limits that every bucket enforces before the backend sees an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum key length in UTF-8 bytes. Default 255, the SQL schema's key column.
    pub max_key_bytes: u32,
    /// Maximum value length in bytes. Default 1 MiB.
    pub max_value_bytes: u32,
    /// Most bytes one list page (its keys), one get-many (its values) or one
    /// set-many (its keys and values) may carry. Default 16 MiB.
    pub max_result_bytes: u64,
    /// Most operations in flight on the store at once, from every guest
    /// and the embedder together; 0 = unlimited. Default 256.
    pub max_concurrency: u32,
    /// How long an operation over `max_concurrency` waits for a slot before
    /// it is `unavailable`. Default 1 s.
    pub max_concurrency_wait: Duration,
}

impl Limits {
    /// Default maximum key length: 255 bytes, as `VARCHAR(255)` holds.
    pub const DEFAULT_MAX_KEY_BYTES: u32 = 255;
    /// Default maximum value length: 1 MiB.
    pub const DEFAULT_MAX_VALUE_BYTES: u32 = 1 << 20;
    /// Default maximum bytes of a list page or a batch: 16 MiB.
    pub const DEFAULT_MAX_RESULT_BYTES: u64 = 16 << 20;
    /// Default maximum operations in flight per store.
    pub const DEFAULT_MAX_CONCURRENCY: u32 = 256;
    /// Default wait for a slot under `max_concurrency`.
    pub const DEFAULT_MAX_CONCURRENCY_WAIT: Duration = Duration::from_secs(1);

    /// Reject empty keys, keys with NUL, and keys over `max_key_bytes`.
    pub fn check_key(&self, key: &str) -> Result<()> {
        if key.is_empty() {
            return Err(Error::InvalidArgument("key must not be empty".into()));
        }
        if key.contains('\0') {
            return Err(Error::InvalidArgument(
                "key must not contain NUL (U+0000): PostgreSQL text cannot hold it, so no store accepts it".into(),
            ));
        }
        if key.len() > self.max_key_bytes as usize {
            return Err(Error::InvalidArgument(format!(
                "key is {} bytes, over this store's max_key_bytes ({})",
                key.len(),
                self.max_key_bytes
            )));
        }
        Ok(())
    }

    /// Reject values over `max_value_bytes`.
    pub fn check_value(&self, value: &[u8]) -> Result<()> {
        if value.len() > self.max_value_bytes as usize {
            return Err(Error::TooLarge(format!(
                "value is {} bytes, over this store's max_value_bytes ({})",
                value.len(),
                self.max_value_bytes
            )));
        }
        Ok(())
    }

    /// Reject a batch (`what`, such as "get-many result") of `bytes` over
    /// `max_result_bytes`.
    pub fn check_batch(&self, what: &str, bytes: u64) -> Result<()> {
        if bytes > self.max_result_bytes {
            return Err(Error::TooLarge(format!(
                "{what} is {bytes} bytes, over this store's max_result_bytes ({}); split it into smaller batches",
                self.max_result_bytes
            )));
        }
        Ok(())
    }

    /// Check that these limits make sense together; the message names the field.
    pub fn validate(&self) -> std::result::Result<(), (&'static str, String)> {
        if self.max_key_bytes == 0 {
            return Err(("max_key_bytes", "must be at least 1".into()));
        }
        if self.max_result_bytes < u64::from(self.max_key_bytes) {
            return Err((
                "max_result_bytes",
                format!(
                    "{} is smaller than max_key_bytes ({}): a list page must hold at least one key",
                    self.max_result_bytes, self.max_key_bytes
                ),
            ));
        }
        Ok(())
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_key_bytes: Self::DEFAULT_MAX_KEY_BYTES,
            max_value_bytes: Self::DEFAULT_MAX_VALUE_BYTES,
            max_result_bytes: Self::DEFAULT_MAX_RESULT_BYTES,
            max_concurrency: Self::DEFAULT_MAX_CONCURRENCY,
            max_concurrency_wait: Self::DEFAULT_MAX_CONCURRENCY_WAIT,
        }
    }
}
