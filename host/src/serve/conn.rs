//! One connection's phases, as the header and idle timeouts see them: an IO
//! wrapper that notices a client's first bytes and the writes of a
//! response, and the watchdog that closes the connection once its phase
//! has lasted too long.
//!
//! hyper's own `header_read_timeout` cannot do this: it also starts while a
//! kept-alive connection waits for its next request, so it would close idle
//! connections at the header timeout rather than the idle timeout.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::ServeLimits;

/// Where a connection is, each phase with the time it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Waiting for a whole request head: since it opened, or since the
    /// first byte after the last response.
    Head,
    /// A request is being answered: bounded by the request timeout, not
    /// by this watchdog.
    Busy,
    /// Its last response is written; waiting for the next request.
    Idle,
}

/// A connection's phase and when it began, shared by its IO, its service
/// and its watchdog.
pub(super) struct Activity {
    opened: Instant,
    /// The phase in the top two bits, milliseconds since `opened` below.
    state: AtomicU64,
    changed: Notify,
}

const SHIFT: u32 = 62;
const MILLIS: u64 = (1 << SHIFT) - 1;

impl Activity {
    /// A connection that opened now, waiting for its first head.
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Self { opened: Instant::now(), state: AtomicU64::new(0), changed: Notify::new() })
    }

    fn load(&self) -> (Phase, Instant) {
        let state = self.state.load(Ordering::Acquire);
        let phase = match state >> SHIFT {
            0 => Phase::Head,
            1 => Phase::Busy,
            _ => Phase::Idle,
        };
        (phase, self.opened + std::time::Duration::from_millis(state & MILLIS))
    }

    fn encode(&self, phase: Phase) -> u64 {
        let millis = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(MILLIS).min(MILLIS);
        ((phase as u64) << SHIFT) | millis
    }

    /// Move to `phase` from now on, and tell the watchdog.
    pub(super) fn set(&self, phase: Phase) {
        self.state.store(self.encode(phase), Ordering::Release);
        self.changed.notify_one();
    }

    /// Bytes arrived: on an idle connection, the next head has begun.
    fn read_some(&self) {
        let state = self.state.load(Ordering::Acquire);
        if state >> SHIFT == Phase::Idle as u64
            && self.state.compare_exchange(state, self.encode(Phase::Head), Ordering::AcqRel, Ordering::Acquire).is_ok()
        {
            self.changed.notify_one();
        }
    }

    /// Bytes of a response left: an idle connection still flushing its
    /// last response to a slow reader is not idle yet.
    fn wrote_some(&self) {
        let state = self.state.load(Ordering::Acquire);
        if state >> SHIFT == Phase::Idle as u64 {
            let _ = self.state.compare_exchange(state, self.encode(Phase::Idle), Ordering::AcqRel, Ordering::Acquire);
        }
    }

    /// The phase the connection is in, when it began and the limit it has
    /// (none while a request is being answered).
    fn limit(&self, limits: &ServeLimits) -> (Phase, Instant, Option<std::time::Duration>) {
        let (phase, since) = self.load();
        let limit = match phase {
            Phase::Head => Some(limits.header_timeout),
            Phase::Idle => Some(limits.idle_timeout),
            Phase::Busy => None,
        };
        (phase, since, limit)
    }

    /// Resolves once the connection has stayed in one phase past its limit
    /// (the head past `header_timeout`, idle past `idle_timeout`), with
    /// the phase and the limit; never while a request is being answered.
    pub(super) async fn expired(&self, limits: &ServeLimits) -> (Phase, std::time::Duration) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let (phase, since, limit) = self.limit(limits);
            let Some(limit) = limit else {
                changed.await;
                continue;
            };
            let deadline = since + limit;
            if Instant::now() >= deadline {
                return (phase, limit);
            }
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => {}
                () = changed => {}
            }
        }
    }
}

/// A connection's IO, reporting what passes through it to its [`Activity`].
pub(super) struct Watched<T> {
    io: T,
    activity: Arc<Activity>,
}

impl<T> Watched<T> {
    pub(super) fn new(io: T, activity: Arc<Activity>) -> Self {
        Self { io, activity }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.read_some();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote_some();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote_some();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn limits() -> ServeLimits {
        ServeLimits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn a_new_connection_has_the_header_timeout_from_when_it_opened() {
        let activity = Activity::new();
        assert_eq!(activity.limit(&limits()), (Phase::Head, activity.opened, Some(Duration::from_secs(10))));
    }

    #[tokio::test]
    async fn a_connection_answering_has_no_limit_and_an_idle_one_the_idle_timeout() {
        let activity = Activity::new();
        activity.set(Phase::Busy);
        assert_eq!(activity.limit(&limits()).2, None, "the request timeout bounds a request, not the watchdog");
        activity.set(Phase::Idle);
        let (phase, _, limit) = activity.limit(&limits());
        assert_eq!((phase, limit), (Phase::Idle, Some(Duration::from_secs(60))), "not the header timeout");
    }

    #[tokio::test]
    async fn the_first_byte_after_idling_starts_the_header_timeout_and_later_bytes_do_not_restart_it() {
        let activity = Activity::new();
        activity.set(Phase::Idle);
        let idle_since = activity.limit(&limits()).1;
        activity.read_some();
        let (phase, head_since, limit) = activity.limit(&limits());
        assert_eq!((phase, limit), (Phase::Head, Some(Duration::from_secs(10))));
        assert!(head_since >= idle_since);
        activity.read_some();
        assert_eq!(activity.limit(&limits()).1, head_since, "a slow head cannot extend its own deadline");
    }

    #[tokio::test]
    async fn the_watchdog_wakes_when_a_busy_connection_goes_idle() {
        // An idle timeout already past: once the connection is idle, the
        // watchdog must return at once rather than wait on as if busy.
        let activity = Activity::new();
        activity.set(Phase::Busy);
        let short = ServeLimits { idle_timeout: Duration::from_nanos(1), ..limits() };
        let watching = {
            let activity = activity.clone();
            tokio::spawn(async move { activity.expired(&short).await })
        };
        tokio::task::yield_now().await;
        activity.set(Phase::Idle);
        assert_eq!(watching.await.unwrap(), (Phase::Idle, Duration::from_nanos(1)));
    }
}
