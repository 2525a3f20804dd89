//! What bounds one guest instance: its memory and time limits as declared
//! ([`GuestLimits`]), and the [`Watchdog`] that ends an instance waiting on
//! a store once it is past its deadline or its runner is interrupted.

use std::future::Future;
use std::time::{Duration, Instant};

/// Resource limits of one guest instance (`limits:` of a registry component,
/// `--max-memory` and `--timeout` on the command line).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GuestLimits {
    /// Most bytes of linear memory the guest may grow to, over all of its
    /// memories together. None = [`super::DEFAULT_MAX_MEMORY`] (512 MiB).
    pub max_memory: Option<u64>,
    /// Wall-clock budget for one run (one request, one watched change).
    /// None = unlimited.
    pub timeout: Option<Duration>,
}

/// When a guest must stop by, and its time limit.
pub(super) type Deadline = Option<(Instant, Duration)>;

/// The deadline of a run that starts now under `limits`.
pub(super) fn deadline(limits: &GuestLimits) -> Deadline {
    limits.timeout.map(|t| (Instant::now() + t, t))
}

/// Ends a guest that is waiting (on a store, on I/O) when its runner is
/// interrupted or its deadline passes. A guest that computes meets the same
/// limits at its epoch ticks instead (see `GuestRunner::instance`).
pub(super) struct Watchdog {
    pub(super) interrupted: tokio::sync::watch::Receiver<bool>,
    pub(super) deadline: Deadline,
}

impl Watchdog {
    /// Run `guest` until it ends, the runner is interrupted, or the deadline
    /// passes while it waits; the last two end it with a [`Stopped`] error.
    pub(super) async fn run<T>(self, guest: impl Future<Output = wasmtime::Result<T>>) -> wasmtime::Result<T> {
        let Self { mut interrupted, deadline } = self;
        let limit = async {
            let timed_out = async {
                match deadline {
                    Some((at, limit)) => {
                        tokio::time::sleep_until(at.into()).await;
                        limit
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = interrupted.wait_for(|stop| *stop) => Stopped::Interrupted,
                limit = timed_out => Stopped::OverTime(limit),
            }
        };
        tokio::select! {
            result = guest => result,
            why = limit => Err(wasmtime::Error::new(why)),
        }
    }
}

/// Why the runner stopped a guest that had not finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Stopped {
    #[error("guest interrupted")]
    Interrupted,
    #[error("guest exceeded its time limit of {} (limits.timeout)", humantime::format_duration(*.0))]
    OverTime(Duration),
}

impl Stopped {
    /// Why a guest must stop now, if it must: interrupted, or past its deadline.
    pub(super) fn why(interrupted: bool, deadline: Deadline) -> Option<Self> {
        match deadline {
            _ if interrupted => Some(Self::Interrupted),
            Some((at, limit)) if Instant::now() >= at => Some(Self::OverTime(limit)),
            _ => None,
        }
    }

    /// The reason `e` carries, if the runner stopped the guest.
    #[cfg_attr(not(feature = "serve"), allow(dead_code))]
    pub(crate) fn of(e: &wasmtime::Error) -> Option<Self> {
        e.chain().find_map(|c| c.downcast_ref::<Self>()).copied()
    }
}
