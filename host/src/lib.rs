//! # kvhost
//!
//! A key-value store for WebAssembly components. Guests import the
//! `kvhost:store` WIT interface, or the standard `wasi:keyvalue` (store,
//! atomics and batch, at `0.2.0-draft2` as Spin implements it and at
//! `0.2.0-draft` as `wasmtime run -S keyvalue` does); this crate implements
//! them for wasmtime over an in-memory store ([`memory`]), SQL stores on
//! PostgreSQL, MySQL/MariaDB and SQLite ([`sql`]) and Redis or Valkey stores
//! ([`redis`]), with stores declared in a YAML [`registry`].
//!
//! ## Embedding, synchronously
//!
//! Put a [`KvCtx`] in your store data and link kvhost next to WASI, the way
//! wasmtime's own WASI crates work. [`add_to_linker_sync`] is for hosts that
//! call guests synchronously (`instantiate`, `call`):
//!
//! ```
//! use std::sync::Arc;
//! use kvhost::memory::MemoryStore;
//! use kvhost::{Catalog, Grant, KvCtx, KvView, Limits, Wait};
//! use kvhost::wasmtime::component::{Linker, ResourceTable};
//! use kvhost::wasmtime::{Engine, Store};
//! use kvhost::wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
//!
//! struct MyState {
//!     wasi: WasiCtx,
//!     table: ResourceTable,
//!     kv: KvCtx,
//! }
//!
//! impl WasiView for MyState {
//!     fn ctx(&mut self) -> WasiCtxView<'_> {
//!         WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
//!     }
//! }
//!
//! # fn main() -> anyhow::Result<()> {
//! let engine = Engine::default();
//! let mut linker = Linker::<MyState>::new(&engine);
//! kvhost::wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
//! kvhost::add_to_linker_sync(&mut linker, |s: &mut MyState| KvView::new(&s.kv, &mut s.table))?;
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
//! let mut store = Store::new(&engine, MyState { wasi: WasiCtx::builder().build(), table: ResourceTable::new(), kv });
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
//!     let host = Host::new(registry);
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
//! To run whole registries and their components, see [`Host`]; to run
//! guest components yourself, [`guest::GuestRunner`].
//!
//! ## Contents, by layer
//!
//! - [`registry`]: YAML registry files, which declare stores, databases and
//!   components.
//! - [`Host`]: starts a registry's stores and databases in dependency order,
//!   runs its components, reports their [`HostStatus`], stops everything in
//!   reverse.
//! - [`guest`]: compiles guest components and runs each as a task, within
//!   its memory and time limits: commands, and HTTP handlers ([`serve`]).
//! - [`add_to_linker_sync`], [`add_to_linker_async`], [`KvView`]: the
//!   guest-facing host functions of `kvhost:store` and `wasi:keyvalue`.
//! - [`KvCtx`], [`Grant`], [`Catalog`], [`Limits`], [`Bucket`]: what a caller
//!   may open, and the bucket that applies every rule to every operation.
//! - [`Store`], [`Op`]: the backend contract; [`memory`], [`sql`] and
//!   [`redis`]: the backends; [`clock`]: their injectable time.
//! - [`watch`]: the changes made to a store, as a stream
//!   ([`Bucket::watch`]).
//! - [`ui`]: the key browser, a page and a JSON API over every store of a
//!   catalog (`kvhost ui`).
//! - [`metrics`]: Prometheus metrics of store operations, watchers and HTTP
//!   requests.
//!
//! ## Glossary
//!
//! - **store**: a named set of entries, declared by a `store.*` registry
//!   entry and kept by a backend (a [`Store`]).
//! - **entry**: one key with its value (and expiry, and version) in a store;
//!   also one item of a registry file ([`registry::Entry`]), by context.
//! - **bucket**: a store opened under a grant ([`Bucket`]), as `open` gives
//!   it to a guest.
//! - **grant**: which store a guest may open, under which key prefix, and
//!   whether it may write ([`Grant`]).
//! - **limits**: a store's bounds on keys, values, batches and concurrent
//!   operations ([`Limits`]); a guest's bounds on memory and time are its
//!   [`guest::GuestLimits`].
//! - **permit**: a place among a store's `max_concurrency` operations in
//!   flight.
//! - **slot**: the memory store's one allocation per entry (expiry,
//!   version, key and value together).
//! - **instance**: one instantiation of a guest component; a pooled runner
//!   keeps a fixed number of places for instances.
//! - **component**: a `wasm.component` registry entry: a command, an HTTP
//!   handler.

#![warn(missing_docs, unreachable_pub)]
#![deny(unsafe_code)]

mod access;
mod backend;
mod config;
mod error;
pub mod guest;
mod host;
mod interfaces;
pub mod metrics;
pub mod registry;
pub mod serve;
#[cfg(feature = "serve")]
pub mod ui;
pub mod watch;

pub use access::{Access, Bucket, Catalog, Grant, KvCtx, KvCtxBuilder, Limits, Page, Wait};
pub use backend::{Condition, Expiry, Op, SharedStore, Store, StoreInfo, Versioned};
pub use error::{Error, Result};
pub use host::{ComponentExit, EntryState, Host, HostBuilder, HostStatus};
pub use interfaces::{KvView, add_to_linker_async, add_to_linker_sync};

/// Time as the stores see it, injectable so that tests move time instead of
/// sleeping.
pub mod clock {
    pub use crate::backend::clock::{Clock, ManualClock, SharedClock, SystemClock};
}

/// The in-memory store (`store.memory`): a sharded concurrent map with TTL
/// and a size cap, gone when the host stops.
pub mod memory {
    pub use crate::backend::memory::{MemoryConfig, MemoryStore, MemoryStoreBuilder};
}

/// SQL stores over sqlx (`store.sql` in `db.sql.postgres`, `db.sql.mysql`
/// and `db.sql.sqlite` entries): PostgreSQL, MySQL/MariaDB and SQLite, each
/// behind its cargo feature (`postgres`, `mysql`, `sqlite`; all on by
/// default).
#[cfg(feature = "sql")]
pub mod sql {
    pub use crate::backend::sql::{
        DatabaseTarget, Dialect, PoolConfig, SqlDatabase, SqlDatabaseConfig, SqlStore, SqlStoreConfig, TableNames,
        valid_identifier, value_version,
    };
}

/// Redis and Valkey stores (`store.redis` in `db.redis` entries), behind the
/// cargo feature `redis` (on by default).
#[cfg(feature = "redis")]
pub mod redis {
    pub use crate::backend::redis::{
        RedisDatabase, RedisDatabaseConfig, RedisStore, RedisStoreConfig, RedisTls, redis_version,
    };
}

/// The wasmtime this crate is built against, for embedders.
pub use wasmtime;
/// The wasmtime-wasi this crate is built against, for embedders.
pub use wasmtime_wasi;
