//! The per-store cap on operations in flight (`max_concurrency`).
//!
//! Every bucket of a store shares its [`Gate`], so the cap holds across all
//! guests and the embedder together. An operation over the cap waits for a
//! permit, at most `max_concurrency_wait`, then fails with `unavailable`, which a
//! guest can retry. Taking a free permit costs two atomic operations and
//! allocates nothing; only waiting arms a timer.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

use crate::error::{Error, Result};

/// The permits of one store.
#[derive(Debug)]
pub(crate) struct Gate {
    /// Most operations in flight; 0 = unlimited.
    max: u32,
    /// How long an operation waits for a permit.
    wait: Duration,
    in_flight: AtomicU32,
    /// Operations waiting for a permit, so that a release only notifies when
    /// someone waits.
    waiting: AtomicU32,
    freed: Notify,
}

/// One operation in flight; dropping it frees the permit, on every path.
#[must_use]
pub(crate) struct Permit<'a>(&'a Gate);

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
        if self.0.waiting.load(Ordering::SeqCst) > 0 {
            self.0.freed.notify_one();
        }
    }
}

impl Gate {
    pub(crate) fn new(max: u32, wait: Duration) -> Self {
        Self { max, wait, in_flight: AtomicU32::new(0), waiting: AtomicU32::new(0), freed: Notify::new() }
    }

    /// Operations in flight now.
    pub(crate) fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Operations waiting for a permit now.
    pub(crate) fn waiting(&self) -> u32 {
        self.waiting.load(Ordering::Acquire)
    }

    /// A permit for one operation on store `store`, waiting at most the gate's
    /// wait for one to be freed.
    #[cfg(test)]
    pub(crate) async fn enter<'a>(&'a self, store: &'a str) -> Result<Permit<'a>> {
        match self.try_enter() {
            Some(permit) => Ok(permit),
            None => self.wait(store).await,
        }
    }

    /// A free permit, if there is one.
    pub(crate) fn try_enter(&self) -> Option<Permit<'_>> {
        if self.max == 0 {
            self.in_flight.fetch_add(1, Ordering::SeqCst);
            return Some(Permit(self));
        }
        self.in_flight
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| (n < self.max).then_some(n + 1))
            .ok()
            .map(|_| Permit(self))
    }

    /// Wait for a permit, at most the gate's wait. Boxed: the timer and the
    /// notification it needs would otherwise make every operation's future
    /// hundreds of bytes larger, though few ever wait.
    #[cold]
    pub(crate) fn wait<'a>(&'a self, store: &'a str) -> Pin<Box<dyn Future<Output = Result<Permit<'a>>> + Send + 'a>> {
        Box::pin(self.wait_for_permit(store))
    }

    async fn wait_for_permit(&self, store: &str) -> Result<Permit<'_>> {
        struct Waiting<'a>(&'a AtomicU32);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        // A synchronous caller's first poll runs outside any runtime (see
        // `Wait`); the timer below needs one, so step out to its next poll.
        if tokio::runtime::Handle::try_current().is_err() {
            tokio::task::yield_now().await;
            if tokio::runtime::Handle::try_current().is_err() {
                return Err(Error::Unavailable(
                    format!(
                        "store {store} is at its max_concurrency ({}), and waiting for a permit needs a tokio runtime",
                        self.max
                    )
                    .into(),
                ));
            }
        }
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let _waiting = Waiting(&self.waiting);
        let deadline = tokio::time::Instant::now() + self.wait;
        loop {
            // Registered before the permit is checked again, so that a release
            // between the check and the wait is not missed.
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if let Some(permit) = self.try_enter() {
                return Ok(permit);
            }
            if tokio::time::timeout_at(deadline, freed).await.is_err() {
                return Err(Error::Unavailable(
                    format!(
                        "store {store} already has {} operations in flight, its max_concurrency, and none finished \
                     within {} (max_concurrency_wait); retry, or raise max_concurrency",
                        self.max,
                        humantime::format_duration(self.wait)
                    )
                    .into(),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    #[test]
    fn errors_naming_the_limit_when_no_permit_frees_in_time() {
        rt().block_on(async {
            let gate = Gate::new(2, Duration::from_millis(50));
            let _held = [gate.enter("app:kv").await.unwrap(), gate.enter("app:kv").await.unwrap()];
            match gate.enter("app:kv").await {
                Err(Error::Unavailable(m)) => {
                    let m = m.message();
                    assert!(m.contains("max_concurrency") && m.contains("app:kv") && m.contains("50ms"), "{m}")
                }
                Ok(_) => panic!("a third permit was handed out"),
                Err(e) => panic!("expected unavailable, got {e}"),
            }
            assert_eq!(gate.in_flight(), 2, "a refused operation holds no permit");
        });
    }

    #[test]
    fn a_waiting_operation_gets_the_permit_another_frees() {
        rt().block_on(async {
            let gate = std::sync::Arc::new(Gate::new(1, Duration::from_secs(3600)));
            let held = gate.enter("app:kv").await.unwrap();
            let waiter = {
                let gate = gate.clone();
                tokio::spawn(async move { gate.enter("app:kv").await.map(drop) })
            };
            tokio::task::yield_now().await;
            assert!(!waiter.is_finished(), "no permit is free yet");
            drop(held);
            waiter.await.unwrap().unwrap();
            assert_eq!(gate.in_flight(), 0, "every permit is freed");
        });
    }

    #[test]
    fn an_unlimited_gate_hands_out_every_permit_and_counts_them() {
        rt().block_on(async {
            let gate = Gate::new(0, Duration::ZERO);
            let mut held = Vec::new();
            for _ in 0..1000 {
                held.push(gate.enter("app:kv").await.unwrap());
            }
            assert_eq!(gate.in_flight(), 1000);
            held.clear();
            assert_eq!(gate.in_flight(), 0);
        });
    }
}
