//! The bodies around a guest: a request body that may not grow past
//! `max_body`, and a response body that tells its connection when it has
//! been sent.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use hyper::body::{Body, Bytes, Frame, SizeHint};

use super::conn::{Activity, Phase};

/// A request body that fails once more than `max` bytes have come; the
/// failure is also flagged in `over`, so that the server can answer 413 in
/// place of whatever the guest makes of the error.
pub(super) struct Capped<B> {
    inner: B,
    seen: u64,
    max: u64,
    over: Arc<AtomicBool>,
}

impl<B> Capped<B> {
    pub(super) fn new(inner: B, max: u64, over: Arc<AtomicBool>) -> Self {
        Self { inner, seen: 0, max, over }
    }
}

impl<B> Body for Capped<B>
where
    B: Body<Data = Bytes, Error = hyper::Error> + Unpin,
{
    type Data = Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.over.load(Ordering::Relaxed) {
            return Poll::Ready(None);
        }
        let frame = match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => frame,
            Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => return Poll::Pending,
        };
        if let Some(data) = frame.data_ref() {
            self.seen = self.seen.saturating_add(data.len() as u64);
            if self.seen > self.max {
                self.over.store(true, Ordering::Relaxed);
                return Poll::Ready(Some(Err(wasmtime_wasi_http::Error::HttpRequestBodySize(Some(self.seen)))));
            }
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that marks its connection idle once it has ended (or
/// is dropped, whichever comes first): from then on the idle timeout runs.
pub(super) struct Ending<B> {
    inner: B,
    activity: Option<Arc<Activity>>,
}

impl<B> Ending<B> {
    pub(super) fn new(inner: B, activity: Arc<Activity>) -> Self {
        Self { inner, activity: Some(activity) }
    }

    fn end(&mut self) {
        if let Some(activity) = self.activity.take() {
            activity.set(Phase::Idle);
        }
    }
}

impl<B> Drop for Ending<B> {
    fn drop(&mut self) {
        self.end();
    }
}

impl<B: Body + Unpin> Body for Ending<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
            self.end();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
