//! Running guest components: a wasmtime engine with WASI 0.2 and kvhost
//! linked, each guest a task on the tokio runtime.
//!
//! Guests run on wasmtime's async support: a guest waiting on a store that
//! waits on a server gives its thread back to the runtime, and a guest that
//! computes yields at every epoch tick, so a thousand guests share the
//! runtime's few worker threads.
//!
//! - [`GuestRunner`] (runner.rs): the engine and linker, compiling
//!   ([`ComponentCache`] keeps compiled components), and each instance's
//!   store; the epoch ticker (ticker.rs) it owns.
//! - Commands (command.rs): [`GuestRunner::run`] with a [`GuestRun`].
//! - HTTP handlers (http.rs): [`GuestRunner::handle`], one instance per
//!   request.
//! - Watchers (watcher.rs): [`GuestRunner::call_watcher`], one instance
//!   per change to a watched store; [`WatcherPrepared::deliver`] for a
//!   stream of them.
//! - Limits (limits.rs, memory_budget.rs): [`GuestLimits`], the watchdog
//!   that enforces the deadline, the memory budget.
//! - diagnose.rs: why a component cannot run, or why a run failed, in one
//!   line that says what to do.

mod command;
// Loading precompiled code (`Component::deserialize`), confined to this
// module behind a MAC check.
#[allow(unsafe_code)]
mod component_cache;
mod diagnose;
#[cfg(feature = "serve")]
mod http;
mod limits;
mod memory_budget;
mod runner;
mod state;
mod ticker;
mod watcher;

pub use self::command::{GuestOutput, GuestRun, Prepared, Stdio};
pub use self::component_cache::{ComponentCache, Source};
#[cfg(feature = "serve")]
pub use self::http::{HttpPrepared, HttpResponse};
pub use self::limits::GuestLimits;
pub use self::memory_budget::DEFAULT_MAX_MEMORY;
pub use self::runner::GuestRunner;
pub use self::watcher::{CallOutcome, WatcherContext, WatcherPrepared};

/// How many instances of an HTTP guest `kvhost serve` and a registry's HTTP
/// and watcher components keep alive at once (the size of a [`GuestRunner::pooled`]),
/// unless told otherwise.
pub const DEFAULT_MAX_INSTANCES: u32 = 1000;
