//! The accept loop's edge cases: a connection that failed before it was
//! accepted is passed over, and a process out of file descriptors (EMFILE,
//! ENFILE) or memory backs off and retries, saying so at most every ten
//! seconds, instead of spinning.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

/// How long the accept loop pauses after an accept failed for want of
/// resources.
pub(super) const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// How often a failing accept is logged at most.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// Accepts connections for one listener, remembering when it last logged a
/// failure.
pub(super) struct Acceptor<'a> {
    listener: &'a TcpListener,
    what: &'static str,
    logged: Option<Instant>,
    unlogged: u64,
}

impl<'a> Acceptor<'a> {
    /// Accepts connections called `what` in the log ("key browser
    /// connection") on `listener`.
    pub(super) fn new(listener: &'a TcpListener, what: &'static str) -> Self {
        Self { listener, what, logged: None, unlogged: 0 }
    }

    /// The next connection, or `None` once `shutdown` resolves.
    pub(super) async fn next(
        &mut self,
        mut shutdown: Pin<&mut impl Future<Output = ()>>,
    ) -> Option<(TcpStream, SocketAddr)> {
        loop {
            let failed = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(accepted) => return Some(accepted),
                    Err(e) => e,
                },
                () = &mut shutdown => return None,
            };
            if is_connection_error(&failed) {
                tracing::debug!("a connection failed before it was accepted: {failed}");
                continue;
            }
            self.log(&failed);
            tokio::select! {
                () = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                () = &mut shutdown => return None,
            }
        }
    }

    fn log(&mut self, e: &io::Error) {
        let now = Instant::now();
        if self.logged.is_some_and(|at| now < at + LOG_EVERY) {
            self.unlogged += 1;
            return;
        }
        let also = match self.unlogged {
            0 => String::new(),
            n => format!(" ({n} more failures since the last message)"),
        };
        let hint = if e.raw_os_error() == Some(libc_emfile()) {
            ": the process is out of file descriptors; raise `ulimit -n` or lower max_connections"
        } else {
            ""
        };
        tracing::warn!(
            "cannot accept a {}: {e}{hint}{also}; retrying every {} ms",
            self.what,
            ACCEPT_BACKOFF.as_millis()
        );
        self.logged = Some(now);
        self.unlogged = 0;
    }
}

/// EMFILE, "too many open files" (the same number on Linux and macOS).
const fn libc_emfile() -> i32 {
    24
}

/// Errors of one connection that went away while it waited in the backlog:
/// the next one may be fine.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionRefused
    )
}

/// Warn if the process's open-file limit is below `max_connections` (of
/// the server whose connections are called `what`): then connections past
/// it fail to be accepted (and wait) before the cap is reached. Read from
/// /proc on Linux; elsewhere nothing is said.
pub(super) fn check_descriptor_limit(what: &str, max_connections: u32) {
    let Some(limit) = open_file_limit() else { return };
    if u64::from(max_connections) + 64 > limit {
        tracing::warn!(
            "max_connections is {max_connections} ({what}s) but this process may open only {limit} files \
             (`ulimit -n`): past about {} connections, new ones wait until descriptors are free",
            limit.saturating_sub(64)
        );
    }
}

/// The soft limit on open files, from /proc/self/limits.
fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..].split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_open_file_limit_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(open_file_limit().is_some_and(|n| n > 0), "/proc/self/limits has Max open files");
        }
    }

    #[test]
    fn connection_errors_are_passed_over_and_resource_errors_are_not() {
        assert!(is_connection_error(&io::Error::from(io::ErrorKind::ConnectionAborted)));
        assert!(!is_connection_error(&io::Error::from_raw_os_error(libc_emfile())));
    }
}
