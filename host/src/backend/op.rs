//! [`Op`]: what a backend operation returns, either its result at once or a
//! future that will produce it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::runtime::Handle;

use crate::error::Result;

/// The result of one backend operation: ready now, or pending on I/O.
///
/// A store that answers from memory returns [`Op::ready`] and allocates
/// nothing; a store that waits on a server returns [`Op::pending`], one boxed
/// future, which is noise beside a network round trip. An `Op` is a
/// [`Future`]: async callers await it, and a ready one completes on its
/// first poll.
///
/// A ready operation has already happened when the `Op` is made; a pending
/// one happens as it is awaited. Either way, await it (or
/// [`crate::Wait::wait`] for it) to learn how it ended.
#[must_use = "an operation's outcome is known only once it is awaited"]
pub struct Op<'a, T>(Inner<'a, T>);

enum Inner<'a, T> {
    Ready(Option<Result<T>>),
    Pending(Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>),
}

impl<'a, T> Op<'a, T> {
    /// An operation that has already finished.
    #[inline]
    pub fn ready(result: Result<T>) -> Self {
        Self(Inner::Ready(Some(result)))
    }

    /// An operation that finishes when `future` does.
    pub fn pending(future: impl Future<Output = Result<T>> + Send + 'a) -> Self {
        Self(Inner::Pending(Box::pin(future)))
    }

    /// An operation that finishes when `future` does, polled inside the
    /// tokio runtime of `runtime` whoever polls it: a connection, a timer or
    /// a retry's sleep made on the way then belongs to that runtime (the one
    /// a pool or a connection lives on), and a synchronous caller's first
    /// poll, outside any runtime, is safe.
    pub fn pending_on(runtime: &'a Handle, future: impl Future<Output = Result<T>> + Send + 'a) -> Self {
        Self::pending(OnRuntime { runtime, future })
    }

    /// Whether the result is already there.
    pub fn is_ready(&self) -> bool {
        matches!(self.0, Inner::Ready(_))
    }

    /// The result: at once if it is ready, else waited for as
    /// [`crate::Wait`] does. What the synchronous linker's functions call.
    #[inline]
    pub(crate) fn wait_sync(self) -> Result<T> {
        match self.into_ready() {
            Ok(result) => result,
            Err(op) => op.block(),
        }
    }

    /// A pending operation's result, blocking this thread (see `Wait`).
    #[cold]
    #[inline(never)]
    fn block(self) -> Result<T> {
        crate::Wait::wait(self)
    }

    /// The result if it is already there, or this operation to await.
    #[inline]
    pub(crate) fn into_ready(self) -> std::result::Result<Result<T>, Self> {
        match self.0 {
            Inner::Ready(Some(result)) => Ok(result),
            inner => Err(Self(inner)),
        }
    }

    /// This operation with `f` applied to its result: at once if it is
    /// ready, when it finishes otherwise.
    #[inline]
    pub fn map<U>(self, f: impl FnOnce(Result<T>) -> Result<U> + Send + 'a) -> Op<'a, U>
    where
        T: 'a,
    {
        match self.0 {
            Inner::Ready(result) => Op::ready(f(result.expect("Op mapped after it completed"))),
            Inner::Pending(future) => Op::pending(async move { f(future.await) }),
        }
    }
}

pin_project_lite::pin_project! {
    /// A future polled inside a given tokio runtime; see [`Op::pending_on`].
    struct OnRuntime<'a, F> {
        runtime: &'a Handle,
        #[pin]
        future: F,
    }
}

impl<F: Future> Future for OnRuntime<'_, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _entered = this.runtime.enter();
        this.future.poll(cx)
    }
}

impl<T> From<Result<T>> for Op<'_, T> {
    fn from(result: Result<T>) -> Self {
        Self::ready(result)
    }
}

// Nothing is ever pinned in place inside an `Op`: a ready result is moved out,
// and a pending future is already pinned in its box.
impl<T> Unpin for Op<'_, T> {}

impl<T> Future for Op<'_, T> {
    type Output = Result<T>;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        match &mut self.0 {
            Inner::Ready(result) => Poll::Ready(result.take().expect("Op polled after it completed")),
            Inner::Pending(future) => future.as_mut().poll(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn poll_once<T>(op: &mut Op<'_, T>) -> Poll<Result<T>> {
        Pin::new(op).poll(&mut Context::from_waker(std::task::Waker::noop()))
    }

    #[test]
    fn a_ready_op_completes_on_its_first_poll() {
        let mut op = Op::ready(Ok(7));
        assert!(op.is_ready());
        assert!(matches!(poll_once(&mut op), Poll::Ready(Ok(7))));
    }

    #[test]
    fn a_pending_op_completes_when_its_future_does() {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let rx = std::sync::Mutex::new(rx);
        let mut woken = false;
        let mut op: Op<'_, ()> = Op::pending(std::future::poll_fn(move |_| {
            if std::mem::replace(&mut woken, true) && rx.lock().unwrap().try_recv().is_ok() {
                Poll::Ready(Err(Error::Conflict("done".into())))
            } else {
                Poll::Pending
            }
        }));
        assert!(!op.is_ready());
        assert!(poll_once(&mut op).is_pending());
        tx.send(()).unwrap();
        assert!(matches!(poll_once(&mut op), Poll::Ready(Err(Error::Conflict(_)))));
    }
}
