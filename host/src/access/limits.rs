//! Per-store limits, with their defaults, and the checks that enforce them.
//!
//! | limit | default | over it |
//! |---|---|---|
//! | `max_key_bytes` | 255 (the SQL key column) | invalid-argument |
//! | `max_value_bytes` | 1 MiB | too-large |
//! | `max_result_bytes` | 16 MiB | list pages end early; get-many and set-many give too-large |
//! | `max_concurrency` | 256 operations in flight (0 = unlimited) | an operation waits for a permit |
//! | `max_concurrency_wait` | 1 s | unavailable |

use std::time::Duration;

use crate::config::FieldError;
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
    /// How long an operation over `max_concurrency` waits for a permit before
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
    /// Default wait for a permit under `max_concurrency`.
    pub const DEFAULT_MAX_CONCURRENCY_WAIT: Duration = Duration::from_secs(1);

    /// Reject empty keys, keys with NUL, and keys over `max_key_bytes`.
    #[inline]
    pub fn check_key(&self, key: &str) -> Result<()> {
        // The length first, so that the NUL scan is bounded.
        if key.is_empty() || key.len() > self.max_key_bytes as usize || has_nul(key.as_bytes()) {
            return Err(self.key_error(key));
        }
        Ok(())
    }

    /// What is wrong with a key `check_key` refused.
    #[cold]
    fn key_error(&self, key: &str) -> Error {
        Error::InvalidArgument(if key.is_empty() {
            "key must not be empty".into()
        } else if key.len() > self.max_key_bytes as usize {
            format!("key is {} bytes, over this store's max_key_bytes ({})", key.len(), self.max_key_bytes)
        } else {
            "key must not contain NUL (U+0000): PostgreSQL text cannot hold it, so no store accepts it".into()
        })
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

    /// Check that these limits make sense together.
    pub fn validate(&self) -> std::result::Result<(), FieldError> {
        if self.max_key_bytes == 0 {
            return Err(FieldError::new("max_key_bytes", "must be at least 1"));
        }
        if self.max_result_bytes < u64::from(self.max_key_bytes) {
            return Err(FieldError::new(
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

/// Whether `bytes` holds a NUL, eight bytes at a time: keys are short, and
/// this runs on every operation. (`x - 0x01.. & !x & 0x80..` is non-zero
/// exactly when a byte of `x` is zero.)
fn has_nul(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let x = u64::from_ne_bytes(word.try_into().expect("chunks of 8"));
        if x.wrapping_sub(ONES) & !x & HIGHS != 0 {
            return true;
        }
    }
    words.remainder().contains(&0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_nul_anywhere_in_a_key() {
        let at = |i: usize| {
            let mut key = vec![b'k'; 100];
            key[i] = 0;
            has_nul(&key)
        };
        assert!((0..100).all(at));
        assert!(!has_nul(b"user:1") && !has_nul(b"") && !has_nul(&[0x80, 0x01, 0xff, 0x7f, 1, 2, 3, 4, 5]));
        assert!(has_nul(&[0x80, 0x00, 0xff, 0x7f, 1, 2, 3, 4, 5]) && has_nul(&[1, 2, 3, 4, 5, 6, 7, 8, 0]));
    }

    #[test]
    fn errors_when_a_key_is_empty_too_long_or_has_nul() {
        let limits = Limits { max_key_bytes: 4, ..Limits::default() };
        assert!(limits.check_key("abcd").is_ok());
        for (key, says) in [("", "empty"), ("abcde", "max_key_bytes"), ("a\0", "NUL")] {
            let err = limits.check_key(key).unwrap_err().to_string();
            assert!(err.contains(says), "{key:?}: {err}");
        }
    }
}
