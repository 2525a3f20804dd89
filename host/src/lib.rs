//! # kvhost
//!
//! A key-value store for WebAssembly components. Guests import the
//! `kvhost:store` WIT interface (or the standard `wasi:keyvalue`); this crate
//! implements it for wasmtime on top of an in-memory backend and SQL backends
//! (PostgreSQL, MySQL/MariaDB, SQLite), with stores declared in a YAML
//! [`registry`].
//!
//! ## Embedding, synchronously
//!
//! Put a [`KvCtx`] in your store data and link kvhost next to WASI, the way
//! wasmtime's own WASI crates work. [`add_to_linker_sync`] is for hosts that
//! call guests synchronously (`instantiate`, `call`):
//!
//! ```
//! use std::sync::Arc;
//! use kvhost::{Catalog, Grant, KvCtx, KvView, Limits, MemoryStore, Wait};
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
//! kvhost::add_to_linker_sync(&mut linker, |h: &mut Host| KvView::new(&h.kv, &mut h.table))?;
//!
//! // Stores are shared by every guest; grants are per guest, deny by default.
//! let catalog = Catalog::new();
//! catalog.insert(Arc::new(MemoryStore::builder("app:cache").max_size(1000).build()), Limits::default());
//! catalog.insert(Arc::new(MemoryStore::builder("app:users").build()), Limits::default());
//! // This guest may also read, and only read, the keys of user 42.
//! let kv = KvCtx::builder(catalog)
//!     .default_store("app:cache")
//!     .grant(Grant::new("app:users").prefix("user:42:").read_only())
//!     .build();
//!
//! // What the guest's open("app:users") gets, under the same rules.
//! let users = kv.open("app:users")?;
//! assert_eq!(users.get("user:42:name").wait()?, None);
//! assert!(matches!(users.set("user:42:name", b"Ada", None).wait(), Err(kvhost::Error::AccessDenied(_))));
//! assert!(matches!(users.get("user:7:name").wait(), Err(kvhost::Error::AccessDenied(_))));
//!
//! let mut store = Store::new(&engine, Host { wasi: WasiCtx::builder().build(), table: ResourceTable::new(), kv });
//! // let component = Component::from_file(&engine, "guest.wasm")?;
//! // let instance = linker.instantiate(&mut store, &component)?;
//! # let _ = &mut store;
//! # Ok(())
//! # }
//! ```
//!
//! ## Embedding, asynchronously
//!
//! [`add_to_linker_async`] is for hosts that call guests with
//! `instantiate_async` / `call_async`: a guest waiting on a store that waits
//! on a server (SQL) yields its thread. This works on a current-thread
//! runtime, SQL stores included:
//!
//! ```
//! use kvhost::registry::Registry;
//! use kvhost::{Host, KvCtx, KvView};
//! use kvhost::wasmtime::component::{Linker, ResourceTable};
//! use kvhost::wasmtime::{Engine, Store};
//! use kvhost::wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
//!
//! struct Guest {
//!     wasi: WasiCtx,
//!     table: ResourceTable,
//!     kv: KvCtx,
//! }
//!
//! impl WasiView for Guest {
//!     fn ctx(&mut self) -> WasiCtxView<'_> {
//!         WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
//!     }
//! }
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> anyhow::Result<()> {
//!     let engine = Engine::default();
//!     let mut linker = Linker::<Guest>::new(&engine);
//!     kvhost::wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
//!     kvhost::add_to_linker_async(&mut linker, |g: &mut Guest| KvView::new(&g.kv, &mut g.table))?;
//!
//!     // A SQLite store, declared as a registry would declare it.
//!     let registry = Registry::from_yaml("inline.yaml", r#"
//! namespace: app
//! entries:
//!   - {name: db, kind: db.sql.sqlite, file: ":memory:"}
//!   - {name: kv, kind: store.sql, database: app:db, table_name: kv}
//! "#)?;
//!     let mut host = Host::new(registry);
//!     host.start(&["app:kv".to_owned()]).await?;
//!     let kv = KvCtx::builder(host.catalog().clone()).default_store("app:kv").build();
//!
//!     // The embedder's own calls go through the same bucket a guest gets.
//!     let bucket = kv.open("")?;
//!     bucket.set("greeting", b"hello", None).await?;
//!     assert_eq!(bucket.get("greeting").await?.as_deref(), Some(&b"hello"[..]));
//!
//!     let mut store = Store::new(&engine, Guest { wasi: WasiCtx::builder().build(), table: ResourceTable::new(), kv });
//!     // let component = Component::from_file(&engine, "guest.wasm")?;
//!     // let instance = linker.instantiate_async(&mut store, &component).await?;
//!     # let _ = &mut store;
//!     host.shutdown().await;
//!     Ok(())
//! }
//! ```
//!
//! To run whole registries and command guests, see [`Host`] and
//! [`GuestRunner`].
//!
//! ## Contents, by layer
//!
//! - [`registry`]: YAML registry files, which declare stores, databases and
//!   components.
//! - [`Host`]: starts a registry's entries in dependency order, runs its
//!   components, stops everything in reverse.
//! - [`GuestRunner`]: compiles guest components ([`ComponentCache`] keeps
//!   them) and runs each as a task, within its memory and time limits.
//! - [`add_to_linker_sync`], [`add_to_linker_async`], [`KvView`]: the
//!   guest-facing host functions of `kvhost:store` and `wasi:keyvalue`
//!   (0.2.0-draft2 and 0.2.0-draft).
//! - [`KvCtx`], [`Grant`], [`Catalog`], [`Limits`], [`Bucket`]: what a caller
//!   may open, and the bucket that applies every rule to every operation.
//! - [`Store`], [`Op`], [`MemoryStore`], [`sql`]: the backend contract and
//!   the backends; [`Clock`] is their injectable time.

#![warn(missing_docs)]

mod access;
mod backend;
mod config;
mod error;
mod guest;
mod host;
mod interfaces;
mod metrics;
pub mod registry;
#[cfg(feature = "serve")]
mod serve;

pub use access::{
    Access, Bucket, Catalog, Grant, KvCtx, KvCtxBuilder, Limits, MAX_ALIAS_BYTES, Page, Wait, check_names,
};
pub use backend::clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use backend::memory::{MemoryConfig, MemoryStore, MemoryStoreBuilder};
pub use backend::{
    Condition, Database, Op, SharedDatabase, SharedStore, Store, StoreInfo, Versioned, add_decimal, value_version,
};
pub use error::{Error, Result};
pub use guest::{
    ComponentCache, DEFAULT_MAX_INSTANCES, DEFAULT_MAX_MEMORY, GuestOutput, GuestRun, GuestRunner, Prepared, Source,
    Stdio,
};
#[cfg(feature = "serve")]
pub use guest::{HttpPrepared, HttpResponse};
pub use host::{ComponentExit, Host};
pub use interfaces::{KvView, add_to_linker_async, add_to_linker_sync};
pub use metrics::{Metrics, RequestGuard};
#[cfg(feature = "serve")]
pub use serve::{DEFAULT_STOP_TIMEOUT, HttpServer, serve_metrics};

/// SQL stores over sqlx: PostgreSQL, MySQL/MariaDB and SQLite, each behind
/// its cargo feature (`postgres`, `mysql`, `sqlite`; all on by default).
#[cfg(feature = "sql")]
pub mod sql {
    pub use crate::backend::sql::*;
}

/// Redis (and Valkey) stores.
#[cfg(feature = "redis")]
pub mod redis {
    pub use crate::backend::redis::*;
}

/// The wasmtime this crate is built against, for embedders.
pub use wasmtime;
/// The wasmtime-wasi this crate is built against, for embedders.
pub use wasmtime_wasi;
