//! The Rust SDK for [kvhost](https://docs.rs/kvhost) guests: key-value stores
//! for WebAssembly components, through the `kvhost:store@0.1.0` WIT interface.
//!
//! The crate ships the WIT and its bindings, so a guest needs nothing else:
//! build it for `wasm32-wasip2` and run it with `kvhost run guest.wasm`.
//!
//! ```no_run
//! use kvhost_guest::Store;
//!
//! fn main() -> Result<(), kvhost_guest::Error> {
//!     let store = Store::open_default()?;
//!     let visits = store.increment("visits", 1)?;
//!     println!("hello from a kvhost guest: visit {visits}");
//!     Ok(())
//! }
//! ```
//!
//! ```sh
//! cargo build --release --target wasm32-wasip2
//! kvhost run target/wasm32-wasip2/release/hello-kv.wasm
//! # hello from a kvhost guest: visit 1
//! ```
//!
//! # Stores
//!
//! [`Store::open_default`] opens the guest's default store and
//! [`Store::open`] a store by ID (`namespace:name`); the host decides which
//! IDs a guest may open (`kvhost run --allow ID`). Keys are strings, values
//! are bytes: anything that is `AsRef<[u8]>` (`&str`, `String`, `Vec<u8>`,
//! byte arrays) can be written.
//!
//! | Operation | Method |
//! |---|---|
//! | read, write, remove | [`get`](Store::get), [`set`](Store::set), [`delete`](Store::delete), [`exists`](Store::exists), [`clear`](Store::clear) |
//! | expiry | [`set_with_ttl`](Store::set_with_ttl), [`set_many_with_ttl`](Store::set_many_with_ttl), `ttl` of [`put`](Store::put) |
//! | versions, conditional writes | [`get_entry`](Store::get_entry), [`put`](Store::put), [`put_if_absent`](Store::put_if_absent), [`put_if_version`](Store::put_if_version) |
//! | counters | [`increment`](Store::increment) |
//! | batches | [`get_many`](Store::get_many), [`set_many`](Store::set_many), [`delete_many`](Store::delete_many) |
//! | listing keys | [`keys`](Store::keys) (an iterator that pages itself), [`list_keys`](Store::list_keys) (one page) |
//! | what the store is | [`info`](Store::info) |
//! | JSON values (feature `json`) | `get_json`, `set_json`, `set_json_with_ttl` |
//!
//! # TTLs
//!
//! TTLs are [`Duration`](std::time::Duration)s, sent to the host as whole
//! milliseconds, rounded up (1 ns lives 1 ms) and saturating at `u64::MAX`
//! ms. The WIT reads a TTL of 0 as "never expires"; so that a computed
//! duration never turns into "forever" by accident, this SDK refuses
//! `Duration::ZERO` with [`Error::InvalidArgument`] before asking the host.
//! Write without a TTL ([`Store::set`], or `put` with `None`) for entries
//! that never expire.
//!
//! ```no_run
//! use kvhost_guest::Store;
//! use std::time::Duration;
//!
//! # fn main() -> Result<(), kvhost_guest::Error> {
//! let store = Store::open("app:sessions")?;
//! store.set_with_ttl("session:42", b"ada", Duration::from_secs(30 * 60))?;
//! # Ok(())
//! # }
//! ```
//!
//! # Conditional writes
//!
//! Every write gives the entry a new version. [`Store::put`] writes only if
//! its [`Condition`] holds, atomically, and fails with [`Error::Conflict`]
//! otherwise:
//!
//! ```no_run
//! use kvhost_guest::{Error, Store};
//!
//! # fn main() -> Result<(), Error> {
//! let store = Store::open_default()?;
//! store.put_if_absent("owner", "me")?;
//! assert!(matches!(store.put_if_absent("owner", "you"), Err(Error::Conflict)));
//!
//! let entry = store.get_entry("owner")?.expect("just written");
//! store.put_if_version("owner", "me, again", entry.version)?;
//! # Ok(())
//! # }
//! ```
//!
//! # Listing keys
//!
//! [`Store::keys`] returns an iterator over every key under a prefix, in
//! ascending byte order; it asks the host for the next page (at most 1000
//! keys) only when it needs it.
//!
//! ```no_run
//! # fn main() -> Result<(), kvhost_guest::Error> {
//! # let store = kvhost_guest::Store::open_default()?;
//! let mut users = 0;
//! for key in store.keys("user:") {
//!     let key = key?;
//!     println!("{key}");
//!     users += 1;
//! }
//! # let _ = users;
//! # Ok(())
//! # }
//! ```
//!
//! # Errors
//!
//! Every fallible operation returns [`Error`], whose cases mirror the WIT's
//! `error` variant ([`Error::AccessDenied`], [`Error::Conflict`],
//! [`Error::Unavailable`]...). It implements [`std::error::Error`], so `?`
//! works in functions returning `Box<dyn Error>` or `anyhow::Result`.
//!
//! # Features
//!
//! - `json`: `Store::get_json`, `Store::set_json` and
//!   `Store::set_json_with_ttl` store any serde type as JSON, and [`Error`]
//!   gets a `Json` case (`Error::Json`). `cargo add kvhost-guest -F json`.
//!
//! # Targets
//!
//! The bindings call the host only on `wasm32` (build with
//! `--target wasm32-wasip2`). On other targets the crate compiles, so that
//! code using it can be type-checked and unit-tested, but every store
//! operation panics.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod error;
#[cfg(feature = "json")]
mod json;
mod keys;
mod store;
mod ttl;
mod types;

pub use error::{Error, Result};
pub use keys::Keys;
pub use store::Store;
pub use types::{Condition, Entry, Info, KeyPage};

/// The raw bindings generated from `wit/` (world `kvhost:store/guest`).
/// Private: the API above wraps everything in them.
mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "kvhost:store/guest",
    });
}
