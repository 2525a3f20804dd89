//! SQL stores over sqlx: PostgreSQL, MySQL/MariaDB and SQLite.
//!
//! Table and column names are validated by [`valid_identifier`] and quoted for
//! the dialect; keys, values and times are always bound parameters.
//!
//! Watching ([`crate::watch`]): on PostgreSQL a trigger on the table
//! publishes every change with NOTIFY in the writing transaction, and the
//! store listens for them (`shared`; see `notify.rs` and `listen.rs`); on
//! SQLite and MySQL/MariaDB, or on PostgreSQL when the trigger cannot be
//! installed, the store publishes its own writes (`local`; see `local.rs`).

mod batch;
mod checkout;
mod config;
mod database;
mod dialect;
#[cfg(feature = "postgres")]
mod listen;
mod local;
mod notify;
mod store;

#[cfg(feature = "mysql")]
pub(crate) use config::MYSQL_KIND;
#[cfg(feature = "postgres")]
pub(crate) use config::POSTGRES_KIND;
#[cfg(feature = "sqlite")]
pub(crate) use config::SQLITE_KIND;
pub(crate) use config::STORE_KIND;
pub use config::{DatabaseTarget, PoolConfig, SqlDatabaseConfig, SqlStoreConfig, TableNames};

#[cfg(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")))]
compile_error!("kvhost's feature `sql` needs a database: enable `sqlite`, `postgres` or `mysql`");
pub use database::SqlDatabase;
pub use dialect::Dialect;
pub use store::SqlStore;

/// The version of a value in a table without a version column: a 64-bit
/// FNV-1a hash of the bytes, so that writing the same value keeps the
/// version, whoever writes it.
pub fn value_version(value: &[u8]) -> u64 {
    value.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// Whether `name` may be used as a table or column name:
/// `^[A-Za-z_][A-Za-z0-9_]{0,62}$`.
pub fn valid_identifier(name: &str) -> bool {
    let bytes = name.as_bytes();
    matches!(bytes.first(), Some(b) if b.is_ascii_alphabetic() || *b == b'_')
        && bytes.len() <= 63
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_identifiers() {
        for ok in ["kv_store", "_t", "K", "key", "a".repeat(63).as_str(), "T1_2"] {
            assert!(valid_identifier(ok), "{ok}");
        }
    }

    #[test]
    fn rejects_hostile_identifiers() {
        let long = "a".repeat(64);
        for bad in [
            "",
            "1abc",
            "kv store",
            "kv;DROP TABLE users",
            "kv\"--",
            "kv`x",
            "kv'",
            "kv\0",
            "ké",
            "a-b",
            "a.b",
            "kv)",
            long.as_str(),
            "\u{FF21}",
            "kv\n",
        ] {
            assert!(!valid_identifier(bad), "{bad:?}");
        }
    }
}
