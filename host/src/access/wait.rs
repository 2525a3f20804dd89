//! [`Wait`]: finishing an operation from synchronous code.

use std::future::Future;
use std::pin::pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

use tokio::runtime::{Handle, Runtime, RuntimeFlavor};

/// Run an operation to its end from synchronous code: `bucket.get("k").wait()`.
///
/// An operation a store answers at once (every memory-store operation) ends
/// on its first poll, without touching a runtime. One that waits on a server
/// blocks this thread on tokio until it ends: on the current runtime when
/// there is one (a worker of a multi-thread runtime hands its other tasks
/// off first), otherwise on a small runtime kept for such callers.
///
/// Call it from threads that may block: plain threads, `spawn_blocking`
/// threads, or multi-thread runtime workers. Async code awaits instead; a
/// current-thread runtime's own thread must never block (tokio refuses).
pub trait Wait: Future + Sized {
    /// This operation's output, waiting for it if need be.
    #[inline]
    fn wait(self) -> Self::Output {
        let mut future = pin!(self);
        if let Poll::Ready(out) = future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            return out;
        }
        block_on(future)
    }
}

impl<F: Future> Wait for F {}

#[cold]
fn block_on<F: Future>(future: F) -> F::Output {
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(|| handle.block_on(future))
        }
        Ok(handle) => handle.block_on(future),
        Err(_) => fallback().block_on(future),
    }
}

/// The runtime for callers with none: one worker, made on first use.
fn fallback() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("kvhost-wait")
            .enable_all()
            .build()
            .expect("cannot start a tokio runtime for synchronous kvhost calls")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ready_future_needs_no_runtime() {
        assert_eq!(std::future::ready(5).wait(), 5);
    }

    #[test]
    fn a_pending_future_is_driven_without_a_runtime_of_the_callers() {
        // The first poll is outside any runtime; the timer is made after.
        let slept = async {
            tokio::task::yield_now().await;
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            7
        };
        assert_eq!(slept.wait(), 7);
    }

    #[test]
    fn a_pending_future_is_driven_on_a_multi_thread_worker() {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let task = async {
            async {
                tokio::task::yield_now().await;
                3
            }
            .wait()
        };
        let out = rt.block_on(async { tokio::spawn(task).await });
        assert_eq!(out.unwrap(), 3);
    }
}
