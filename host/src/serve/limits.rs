//! What bounds the clients of an HTTP server: how long a client may take to
//! send a request head and stay idle, how many connections are open at
//! once, how large a request body may be (`http:` of a registry component,
//! the flags of `kvhost serve`).

use std::time::Duration;

/// How long a guest may take to answer one request unless its limits say
/// otherwise (`limits.timeout`, `--timeout`): past it the client gets 504.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The most bytes a request head (request line and headers) may take; a
/// longer one is answered 431 (hyper's read buffer, `max_buf_size`).
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Bounds on the clients of one HTTP server. The defaults are SPEC.md's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeLimits {
    /// A connection that has not sent a whole request head this long after
    /// it opened, or after the first byte of its next request, is closed.
    pub header_timeout: Duration,
    /// A kept-alive connection with no request for this long after its last
    /// response is closed.
    pub idle_timeout: Duration,
    /// Most connections open at once; beyond it new ones wait in the
    /// listener's backlog until one closes.
    pub max_connections: u32,
    /// Most bytes of a request body: a larger Content-Length is answered 413
    /// before the guest runs; a body that grows past it while streaming is
    /// an error to the guest, and 413 if the guest has not answered yet.
    pub max_body: u64,
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 10_000,
            max_body: 10 * 1024 * 1024,
        }
    }
}

impl ServeLimits {
    /// Whether every limit can hold: timeouts above zero, at least one
    /// connection. The error names the field at fault.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.header_timeout.is_zero() {
            return Err(("header_timeout", "must be more than 0: a client needs time to send its request".into()));
        }
        if self.idle_timeout.is_zero() {
            return Err(("idle_timeout", "must be more than 0".into()));
        }
        if self.max_connections == 0 {
            return Err(("max_connections", "must be at least 1: with 0 no client is ever served".into()));
        }
        Ok(())
    }
}
