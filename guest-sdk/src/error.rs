//! The error every store operation can return.

use std::fmt;

use crate::bindings::kvhost::store::types::Error as WitError;

/// A `Result` whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a store operation failed.
///
/// The first eight cases mirror the `error` variant of `kvhost:store` one to
/// one; the host never traps a guest because of a store error, it returns one
/// of them. The SDK adds its own cases (such as `Json` with the feature `json`),
/// so the enum is `#[non_exhaustive]`: a `match` needs a `_` arm.
///
/// ```no_run
/// use kvhost_guest::{Error, Store};
///
/// # fn main() -> Result<(), Error> {
/// let store = Store::open_default()?;
/// match store.put_if_absent("lock", b"me") {
///     Ok(version) => println!("took the lock at version {version}"),
///     Err(Error::Conflict) => println!("someone else holds the lock"),
///     Err(e) => return Err(e),
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The ID was granted to this guest but no such store is running.
    NoSuchStore,
    /// The guest was not granted this store (or this operation on it). Also
    /// returned for IDs that name no store at all, so a guest cannot probe
    /// which stores exist.
    AccessDenied,
    /// A new key was refused because the store holds its maximum number of
    /// live entries.
    StoreFull,
    /// A malformed request: an empty or over-long key, a bad cursor, a bad
    /// TTL (including a zero [`Duration`](std::time::Duration), which this SDK
    /// refuses before asking the host).
    InvalidArgument(String),
    /// A value or result over the store's size limit; the text names the limit.
    TooLarge(String),
    /// A conditional write lost: the version did not match, or the key was
    /// already present.
    Conflict,
    /// The backend cannot serve now (database down, store stopping). The
    /// operation may be retried.
    Unavailable(String),
    /// Anything else, described by the host.
    Other(String),
    /// A value could not be encoded to or decoded from JSON
    /// ([`Store::get_json`](crate::Store::get_json),
    /// [`Store::set_json`](crate::Store::set_json)).
    #[cfg(feature = "json")]
    #[cfg_attr(docsrs, doc(cfg(feature = "json")))]
    Json(serde_json::Error),
}

impl Error {
    /// Whether the operation may succeed if tried again later
    /// ([`Error::Unavailable`]).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Unavailable(_))
    }

    pub(crate) fn from_wit(e: WitError) -> Self {
        match e {
            WitError::NoSuchStore => Error::NoSuchStore,
            WitError::AccessDenied => Error::AccessDenied,
            WitError::StoreFull => Error::StoreFull,
            WitError::InvalidArgument(m) => Error::InvalidArgument(m),
            WitError::TooLarge(m) => Error::TooLarge(m),
            WitError::Conflict => Error::Conflict,
            WitError::Unavailable(m) => Error::Unavailable(m),
            WitError::Other(m) => Error::Other(m),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoSuchStore => f.write_str("no such store is running"),
            Error::AccessDenied => f.write_str("access denied"),
            Error::StoreFull => f.write_str("store full"),
            Error::InvalidArgument(m) => write!(f, "invalid argument: {m}"),
            Error::TooLarge(m) => write!(f, "too large: {m}"),
            Error::Conflict => f.write_str("conflict: the condition of the write did not hold"),
            Error::Unavailable(m) => write!(f, "store unavailable: {m}"),
            Error::Other(m) => write!(f, "store error: {m}"),
            #[cfg(feature = "json")]
            Error::Json(e) => write!(f, "JSON: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            #[cfg(feature = "json")]
            Error::Json(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(feature = "json")]
impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Json(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_case_and_keeps_the_host_text() {
        let cases = [
            (Error::NoSuchStore, "no such store is running"),
            (Error::AccessDenied, "access denied"),
            (Error::StoreFull, "store full"),
            (Error::InvalidArgument("empty key".into()), "invalid argument: empty key"),
            (Error::TooLarge("values are at most 1024 bytes".into()), "too large: values are at most 1024 bytes"),
            (Error::Conflict, "conflict: the condition of the write did not hold"),
            (Error::Unavailable("database down".into()), "store unavailable: database down"),
            (Error::Other("disk on fire".into()), "store error: disk on fire"),
        ];
        for (e, text) in cases {
            assert_eq!(e.to_string(), text);
        }
    }

    #[test]
    fn every_wit_case_maps_to_its_own_case() {
        assert!(matches!(Error::from_wit(WitError::NoSuchStore), Error::NoSuchStore));
        assert!(matches!(Error::from_wit(WitError::AccessDenied), Error::AccessDenied));
        assert!(matches!(Error::from_wit(WitError::StoreFull), Error::StoreFull));
        assert!(
            matches!(Error::from_wit(WitError::InvalidArgument("a".into())), Error::InvalidArgument(m) if m == "a")
        );
        assert!(matches!(Error::from_wit(WitError::TooLarge("b".into())), Error::TooLarge(m) if m == "b"));
        assert!(matches!(Error::from_wit(WitError::Conflict), Error::Conflict));
        assert!(matches!(Error::from_wit(WitError::Unavailable("c".into())), Error::Unavailable(m) if m == "c"));
        assert!(matches!(Error::from_wit(WitError::Other("d".into())), Error::Other(m) if m == "d"));
    }

    #[test]
    fn is_a_std_error_that_is_send_and_sync() {
        fn assert_error<E: std::error::Error + Send + Sync + 'static>() {}
        assert_error::<Error>();
        let boxed: Box<dyn std::error::Error> = Box::new(Error::Conflict);
        assert!(boxed.source().is_none());
    }

    #[test]
    fn only_unavailable_is_retryable() {
        assert!(Error::Unavailable("restarting".into()).is_retryable());
        assert!(!Error::Conflict.is_retryable());
        assert!(!Error::Other("x".into()).is_retryable());
    }

    #[cfg(feature = "json")]
    #[test]
    fn json_errors_have_a_source() {
        use std::error::Error as _;
        let e: Error = serde_json::from_slice::<u32>(b"nope").unwrap_err().into();
        assert!(e.to_string().starts_with("JSON: "), "{e}");
        assert!(e.source().is_some());
    }
}
