//! The errors a store operation can report to a guest or an embedder.

use std::fmt;
use std::sync::Arc;

/// Why a store operation failed.
///
/// Every case maps one to one onto the `error` variant of `kvhost:store`, and
/// onto the closest case of `wasi:keyvalue`'s error. A guest never traps
/// because of one of these. The message names the store and what to do
/// where that helps; [`std::error::Error::source`] gives embedders the
/// driver's own error (sqlx, redis) behind an `unavailable` or `other`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The ID was granted but no store with that ID is running.
    NoSuchStore(String),
    /// The caller was not granted this store, or this operation on it.
    AccessDenied(String),
    /// A new key was refused because the store is at its `max_size`.
    StoreFull {
        /// The store's ID.
        store: String,
        /// Its configured `max_size`.
        max_size: u64,
    },
    /// A malformed request: empty or over-long key, bad cursor, bad TTL.
    InvalidArgument(String),
    /// A value over the store's size limit; the message names the limit.
    TooLarge(String),
    /// A conditional write lost.
    Conflict(String),
    /// The backend cannot serve now; the operation may be retried.
    Unavailable(Cause),
    /// Anything else.
    Other(Cause),
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

    /// `unavailable`: `message` (which names the store) and the driver's error.
    #[cfg_attr(not(any(feature = "sql", feature = "redis")), allow(dead_code))]
    pub(crate) fn unavailable(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::Unavailable(Cause::with_source(message, source))
    }

    /// `other`: `message` (which names the store) and the driver's error.
    #[cfg_attr(not(any(feature = "sql", feature = "redis")), allow(dead_code))]
    pub(crate) fn other(message: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::Other(Cause::with_source(message, source))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoSuchStore(id) => write!(f, "no such store: {id} (is it declared in the registry, and started?)"),
            Error::AccessDenied(m) => write!(f, "access denied: {m}"),
            Error::StoreFull { store, max_size } => {
                write!(f, "store {store} is full ({max_size} live entries); delete keys or raise max_size")
            }
            Error::InvalidArgument(m) => write!(f, "invalid argument: {m}"),
            Error::TooLarge(m) => write!(f, "too large: {m}"),
            Error::Conflict(m) => write!(f, "conflict: {m}"),
            Error::Unavailable(c) => write!(f, "store unavailable: {c}"),
            Error::Other(c) => write!(f, "{c}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Unavailable(c) | Error::Other(c) => c.source(),
            _ => None,
        }
    }
}

/// What went wrong, in words that name the store, and the error underneath
/// it (the database driver's) when there is one. Two causes are equal when
/// their words are.
#[derive(Clone)]
pub struct Cause {
    message: String,
    source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Cause {
    /// A cause with no error underneath.
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), source: None }
    }

    /// A cause with the error that led to it.
    pub fn with_source(message: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self { message: message.into(), source: Some(Arc::new(source)) }
    }

    /// The words, as a guest sees them.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The error underneath, if any.
    pub fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Cause");
        d.field("message", &self.message);
        if let Some(source) = &self.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl PartialEq for Cause {
    fn eq(&self, other: &Self) -> bool {
        self.message == other.message
    }
}

impl Eq for Cause {}

impl From<String> for Cause {
    fn from(message: String) -> Self {
        Self::new(message)
    }
}

impl From<&str> for Cause {
    fn from(message: &str) -> Self {
        Self::new(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_driver_error_as_its_source() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = Error::unavailable("app:kv: cannot reach app:db", io);
        assert_eq!(e.to_string(), "store unavailable: app:kv: cannot reach app:db");
        let source = std::error::Error::source(&e).expect("a source");
        assert_eq!(source.to_string(), "refused");
        assert!(source.downcast_ref::<std::io::Error>().is_some());
    }

    #[test]
    fn errors_without_a_driver_error_have_no_source() {
        assert!(std::error::Error::source(&Error::Conflict("k".into())).is_none());
        assert!(std::error::Error::source(&Error::Other("plain".into())).is_none());
    }
}
