//! The epoch ticker: a thread that advances an engine's epoch every
//! [`EPOCH_TICK`], so that computing guests yield, meet their deadlines and
//! see an interrupt. It stops when its [`Ticker`] is dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wasmtime::Engine;

/// How often the engine's epoch ticks: the granularity of timeouts and
/// Ctrl-C, and how often a computing guest yields its thread.
pub(super) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// A running ticker thread; dropping it stops the thread at its next tick.
pub(super) struct Ticker {
    stop: Arc<AtomicBool>,
}

impl Ticker {
    /// Start ticking `engine`'s epoch.
    pub(super) fn start(engine: &Engine) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let (engine, stopped) = (engine.clone(), stop.clone());
        std::thread::Builder::new().name("kvhost-epoch".into()).spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        })?;
        Ok(Self { stop })
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
