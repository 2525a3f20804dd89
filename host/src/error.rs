//! The errors a store operation can report to a guest or an embedder.

use thiserror::Error;

/// Why a store operation failed.
///
/// Every case maps one to one onto the `error` variant of `kvhost:store`, and
/// onto the closest case of `wasi:keyvalue`'s error. A guest never traps
/// because of one of these.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    /// The ID was granted but no store with that ID is running.
    #[error("no such store: {0} (is it declared in the registry, and started?)")]
    NoSuchStore(String),
    /// The caller was not granted this store, or this operation on it.
    #[error("access denied: {0}")]
    AccessDenied(String),
    /// A new key was refused because the store is at its `max_size`.
    #[error("store {store} is full ({max_size} live entries); delete keys or raise max_size")]
    StoreFull {
        /// The store's ID.
        store: String,
        /// Its configured `max_size`.
        max_size: u64,
    },
    /// A malformed request: empty or over-long key, bad cursor, bad TTL.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A value over the store's size limit; the message names the limit.
    #[error("too large: {0}")]
    TooLarge(String),
    /// A conditional write lost.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The backend cannot serve now; the operation may be retried.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

/// The result of a store operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The case's name as `kvhost:store` spells it: `no-such-store`,
    /// `access-denied`, `store-full`, `invalid-argument`, `too-large`,
    /// `conflict`, `unavailable` or `other`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::NoSuchStore(_) => "no-such-store",
            Error::AccessDenied(_) => "access-denied",
            Error::StoreFull { .. } => "store-full",
            Error::InvalidArgument(_) => "invalid-argument",
            Error::TooLarge(_) => "too-large",
            Error::Conflict(_) => "conflict",
            Error::Unavailable(_) => "unavailable",
            Error::Other(_) => "other",
        }
    }
}
