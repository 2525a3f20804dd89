//! `query_timeout`: an operation on a database server that gets no answer in
//! time fails with `unavailable` instead of waiting forever.
//!
//! Every SQL and Redis operation runs inside [`QueryTimeout::bound`]. When
//! the time is up, the operation's future is dropped with the flag of its
//! [`Deadline`] raised first, so that whatever connection it held knows it
//! was abandoned mid-conversation and closes instead of going back to a pool
//! (see `sql/checkout.rs`; Redis replaces its connection). An operation
//! inside another (a conditional put calling `get`) shares the outer one's
//! deadline rather than starting a clock of its own.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::config::{ConfigError, Fields};
use crate::error::{Cause, Error, Result};

/// The flag an abandoned operation's connections read when they are dropped.
#[derive(Debug, Clone, Default)]
pub(crate) struct Deadline(Arc<AtomicBool>);

impl Deadline {
    /// The deadline of the operation being polled, if it has one.
    pub(crate) fn current() -> Option<Deadline> {
        CURRENT.try_with(Deadline::clone).ok()
    }

    /// Whether the operation ran out of time and is being dropped.
    pub(crate) fn expired(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

tokio::task_local! {
    static CURRENT: Deadline;
}

/// A database entry's `query_timeout`, and what to say when it passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct QueryTimeout(pub(crate) Duration);

impl QueryTimeout {
    /// 30 s, as SPEC.md gives it.
    pub(crate) const DEFAULT: Duration = Duration::from_secs(30);

    /// The field `query_timeout` of a `db.*` entry: a duration above zero.
    pub(crate) fn parse(f: &mut Fields) -> std::result::Result<Duration, ConfigError> {
        match f.duration("query_timeout")? {
            None => Ok(Self::DEFAULT),
            Some(Duration::ZERO) => Err(f.error(
                "query_timeout",
                "must be more than 0: an operation on a server that stopped answering would wait forever",
            )),
            Some(d) => Ok(d),
        }
    }

    /// The duration as the registry spells it (`30s`, `500ms`).
    pub(crate) fn text(&self) -> String {
        humantime::format_duration(self.0).to_string()
    }

    /// The error of an operation on store `store` that `server` (such as
    /// "PostgreSQL app:db") did not answer in time.
    pub(crate) fn expired(&self, store: &str, server: &str) -> Error {
        Error::Unavailable(Cause::new(format!(
            "{store}: no answer from {server} within {} (query_timeout); the connection was dropped and the next \
             operation uses a new one",
            self.text()
        )))
    }

    /// Run `work` for store `store` on `server`, failing with
    /// [`QueryTimeout::expired`] if it has not finished in time. `on_expiry`
    /// runs after the abandoned work is dropped.
    pub(crate) async fn bound<T>(
        self,
        store: &str,
        server: &str,
        work: impl Future<Output = Result<T>>,
        on_expiry: impl FnOnce(),
    ) -> Result<T> {
        if Deadline::current().is_some() {
            // Inside an operation that is already bounded.
            return work.await;
        }
        let deadline = Deadline::default();
        {
            let work = std::pin::pin!(CURRENT.scope(deadline.clone(), work));
            tokio::select! {
                biased;
                result = work => return result,
                () = tokio::time::sleep(self.0) => deadline.0.store(true, Ordering::Release),
            }
            // `work` is dropped here, with its deadline raised.
        }
        on_expiry();
        Err(self.expired(store, server))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap()
    }

    #[test]
    fn work_that_never_answers_fails_unavailable_naming_store_and_timeout() {
        let t = QueryTimeout(Duration::from_millis(50));
        let mut expired = false;
        let r: Result<()> = rt().block_on(t.bound("app:kv", "PostgreSQL app:db", std::future::pending(), || {
            expired = true;
        }));
        let e = r.unwrap_err();
        assert_eq!(e.kind(), "unavailable");
        assert!(e.to_string().contains("app:kv: no answer from PostgreSQL app:db within 50ms (query_timeout)"), "{e}");
        assert!(expired);
    }

    #[test]
    fn a_connection_dropped_with_the_work_sees_the_deadline_raised() {
        struct Held(Option<Deadline>, Arc<AtomicBool>);
        impl Drop for Held {
            fn drop(&mut self) {
                self.1.store(self.0.as_ref().is_some_and(Deadline::expired), Ordering::SeqCst);
            }
        }
        let seen = Arc::new(AtomicBool::new(false));
        let seen2 = seen.clone();
        let work = async move {
            let _held = Held(Deadline::current(), seen2);
            std::future::pending::<Result<()>>().await
        };
        let r = rt().block_on(QueryTimeout(Duration::from_millis(20)).bound("s", "Redis r", work, || {}));
        assert!(r.is_err());
        assert!(seen.load(Ordering::SeqCst), "the held connection saw that its operation was abandoned");
    }

    #[test]
    fn work_that_answers_in_time_keeps_its_result_and_its_connections() {
        let seen = Arc::new(AtomicBool::new(true));
        let seen2 = seen.clone();
        let work = async move {
            let d = Deadline::current().expect("inside a bounded operation");
            tokio::time::sleep(Duration::from_millis(1)).await;
            seen2.store(d.expired(), Ordering::SeqCst);
            Ok(7)
        };
        let r = rt().block_on(QueryTimeout(Duration::from_secs(60)).bound("s", "Redis r", work, || panic!("expired")));
        assert_eq!(r.unwrap(), 7);
        assert!(!seen.load(Ordering::SeqCst));
    }
}
