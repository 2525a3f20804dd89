//! # kvhost
//!
//! A key-value store for WebAssembly components. Guests import the
//! `kvhost:store` WIT interface; this crate implements it for wasmtime on top
//! of an in-memory backend and SQL backends (PostgreSQL, MySQL/MariaDB,
//! SQLite), with stores declared in a YAML [`registry`].
//!
//! ## Embedding
//!
//! Put a [`KvCtx`] in your store data, and link kvhost next to WASI with one
//! call to [`add_to_linker`], the way wasmtime's own WASI crates work:
//!
//! ```
//! use std::sync::Arc;
//! use kvhost::{Grant, KvCtx, KvView, MemoryStore, Stores};
//! use kvhost::wasmtime::component::{Linker, ResourceTable};
//! use kvhost::wasmtime::{Engine, Store};
//! use kvhost::wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
//!
//! struct Host {
//!     wasi: WasiCtx,
//!     table: ResourceTable,
//!     kv: KvCtx,
//! }
//!
//! impl WasiView for Host {
//!     fn ctx(&mut self) -> WasiCtxView<'_> {
//!         WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
//!     }
//! }
//!
//! # fn main() -> anyhow::Result<()> {
//! let engine = Engine::default();
//! let mut linker = Linker::<Host>::new(&engine);
//! kvhost::wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
//! kvhost::add_to_linker(&mut linker, |h: &mut Host| KvView::new(&h.kv, &mut h.table))?;
//!
//! // Stores are shared by every guest; grants are per guest, deny by default.
//! let stores = Stores::new();
//! stores.insert(Arc::new(MemoryStore::builder("app:cache").max_size(1000).build()));
//! stores.insert(Arc::new(MemoryStore::builder("app:users").build()));
//! // This guest may also read, and only read, the keys of user 42.
//! let kv = KvCtx::builder(stores)
//!     .default_store("app:cache")
//!     .grant(Grant::new("app:users").prefix("user:42:").read_only())
//!     .build();
//! let users = kv.open("app:users")?; // what the guest's open("app:users") gets
//! assert_eq!(users.get("user:42:name")?, None);
//! assert!(matches!(users.set("user:42:name", b"Ada", None), Err(kvhost::Error::AccessDenied(_))));
//! assert!(matches!(users.get("user:7:name"), Err(kvhost::Error::AccessDenied(_))));
//!
//! let mut store = Store::new(&engine, Host { wasi: WasiCtx::builder().build(), table: ResourceTable::new(), kv });
//! // let component = Component::from_file(&engine, "guest.wasm")?;
//! // let instance = linker.instantiate(&mut store, &component)?;
//! # let _ = &mut store;
//! # Ok(())
//! # }
//! ```
//!
//! To run whole registries and command guests, see [`Runtime`] and [`Runner`].
//!
//! ## Contents
//!
//! - [`Store`]: the backend trait; [`MemoryStore`] and [`sql::SqlStore`] implement it.
//! - [`Stores`]: the running stores by ID.
//! - [`Limits`]: per-store limits (key, value and batch bytes, concurrency).
//! - [`Grant`]: a store a guest may open, optionally by key prefix or read only.
//! - [`KvCtx`], [`KvView`], [`add_to_linker`]: the guest-facing host functions of
//!   `kvhost:store` and `wasi:keyvalue` (0.2.0-draft2 and 0.2.0-draft).
//! - [`registry`]: YAML registry files.
//! - [`Runtime`]: starts and stops a registry's entries.
//! - [`Runner`]: compiles and runs guest components; [`ComponentCache`] keeps
//!   what it compiled.
//! - [`Clock`]: injectable time, for TTL.

#![warn(missing_docs)]

mod bindings;
mod cache;
mod clock;
mod ctx;
mod cursor;
mod error;
mod gate;
mod grant;
mod guest;
mod interfaces;
mod limiter;
mod limits;
mod memory;
pub mod registry;
mod runtime;
pub mod sql;
mod store;
mod stores;

pub use cache::{ComponentCache, Source};
pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use ctx::{Bucket, Cas, KvCtx, KvCtxBuilder, KvView, add_to_linker};
pub use error::{Error, Result};
pub use grant::{Access, Grant};
pub use guest::{GuestOutput, GuestRun, Prepared, Runner, Stdio};
pub use limiter::DEFAULT_MAX_MEMORY;
pub use limits::Limits;
pub use memory::{MemoryStore, MemoryStoreBuilder};
pub use runtime::{ComponentExit, Runtime};
pub use store::{Condition, SharedStore, Store, StoreInfo, Versioned, add_decimal, ttl_from_ms, value_version};
pub use stores::Stores;

/// The wasmtime this crate is built against, for embedders.
pub use wasmtime;
/// The wasmtime-wasi this crate is built against, for embedders.
pub use wasmtime_wasi;
