//! Access: what a caller may do with a store, and the one place where every
//! rule is enforced.
//!
//! A [`Catalog`] holds the running stores, each guarded by its [`Limits`] and
//! concurrency cap. A [`KvCtx`] holds one guest's [`Grant`]s; opening a store
//! through it gives a [`Bucket`], which applies limits, grant and concurrency
//! cap, in that order, to every operation before the backend sees it, for
//! guests and embedders alike.

mod bucket;
mod catalog;
mod ctx;
pub(crate) mod cursor;
mod gate;
mod grant;
mod guarded;
mod limits;
mod wait;

pub use bucket::{Bucket, Page};
pub use catalog::Catalog;
pub use ctx::{KvCtx, KvCtxBuilder};
pub(crate) use grant::check_names;
pub use grant::{Access, Grant};
pub use limits::Limits;
pub use wait::Wait;
