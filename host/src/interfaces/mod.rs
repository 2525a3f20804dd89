//! The guest-facing host functions: each WIT interface translated to
//! [`Bucket`] operations, one file per interface, and the two linkers.
//!
//! Shaped like wasmtime's `wasi-keyvalue`: a [`crate::KvCtx`] lives in the
//! embedder's state, and a [`KvView`] borrows it together with the resource
//! table for each call. Each interface is written once, as a macro body, and
//! instantiated for both bindings: the async one awaits each bucket
//! operation, the sync one [waits](crate::Wait) for it.

pub(crate) mod bindings;
mod kvhost_store;
mod wasi_draft;
mod wasi_draft2;

use wasmtime::component::{HasData, Linker, Resource, ResourceTable};

use crate::access::{Bucket, KvCtx};
use crate::backend::Versioned;
use crate::error::{Error, Result};

/// A guest's context and resource table, borrowed for one host call.
pub struct KvView<'a> {
    ctx: &'a KvCtx,
    table: &'a mut ResourceTable,
}

impl<'a> KvView<'a> {
    /// Borrow the parts of the embedder's state that kvhost needs.
    pub fn new(ctx: &'a KvCtx, table: &'a mut ResourceTable) -> Self {
        Self { ctx, table }
    }

    /// Open `identifier` for the guest (grants checked) and put it in the table.
    fn open(&mut self, identifier: &str) -> Result<Resource<Bucket>> {
        let bucket = self.ctx.open(identifier)?;
        self.table.push(bucket).map_err(|e| Error::Other(format!("too many open buckets: {e}").into()))
    }

    /// The bucket behind a handle.
    fn bucket(&self, b: &Resource<Bucket>) -> Result<&Bucket> {
        self.table.get(b).map_err(|e| Error::Other(format!("bad bucket handle: {e}").into()))
    }

    /// The bucket behind a handle, to issue numbered cursors from.
    fn bucket_mut(&mut self, b: &Resource<Bucket>) -> Result<&mut Bucket> {
        self.table.get_mut(b).map_err(|e| Error::Other(format!("bad bucket handle: {e}").into()))
    }
}

/// A `wasi:keyvalue` compare-and-swap handle: a key, and what was read.
#[allow(unreachable_pub)] // the generated bindings re-export it as their `cas` resource
pub struct Cas {
    bucket: Bucket,
    key: String,
    current: Option<Versioned>,
}

/// Finish a bucket operation as the bindings being implemented run it.
macro_rules! finish {
    (awaited, $op:expr) => {
        $op.await
    };
    (waited, $op:expr) => {
        $crate::backend::Op::wait_sync($op)
    };
}
use finish;

/// wasi:keyvalue's error, the same three cases in both drafts, for a kvhost
/// error: no-such-store and access-denied as they are, every other case as
/// `other` with its message. `$store` is the draft's `store` module.
macro_rules! wasi_error {
    ($store:ident, $err:expr) => {
        match $err {
            $crate::error::Error::NoSuchStore(_) => $store::Error::NoSuchStore,
            $crate::error::Error::AccessDenied(_) => $store::Error::AccessDenied,
            other => $store::Error::Other(other.to_string()),
        }
    };
}
use wasi_error;

struct HasKv;

impl HasData for HasKv {
    type Data<'a> = KvView<'a>;
}

/// Link every interface of the bindings `$b` with `HasKv`.
macro_rules! link_all {
    ($b:path, $linker:expr, $get:expr) => {{
        use b::wasi::{keyvalue0_2_0_draft as draft, keyvalue0_2_0_draft2 as draft2};
        use $b as b;
        b::kvhost::store::store::add_to_linker::<_, HasKv>($linker, $get)?;
        draft2::store::add_to_linker::<_, HasKv>($linker, $get)?;
        draft2::atomics::add_to_linker::<_, HasKv>($linker, $get)?;
        draft2::batch::add_to_linker::<_, HasKv>($linker, $get)?;
        draft::store::add_to_linker::<_, HasKv>($linker, $get)?;
        draft::atomics::add_to_linker::<_, HasKv>($linker, $get)?;
        draft::batch::add_to_linker::<_, HasKv>($linker, $get)?;
        Ok(())
    }};
}

/// Add every interface kvhost implements to `linker`, for guests called
/// synchronously (`instantiate`, `call`): `kvhost:store`, and
/// `wasi:keyvalue` store, atomics and batch at `0.2.0-draft2` and
/// `0.2.0-draft`.
///
/// Host functions are synchronous. A memory store answers at once; a store
/// that waits on a server (SQL) blocks the guest's thread on tokio until it
/// answers (see [`crate::Wait`]), so run guests on threads that may block.
/// `get` borrows the kvhost state out of the embedder's store data.
pub fn add_to_linker_sync<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> KvView<'_>,
) -> wasmtime::Result<()> {
    link_all!(bindings::sync, linker, get)
}

/// Add every interface kvhost implements to `linker`, for guests called
/// asynchronously (`instantiate_async`, `call_async`), on a multi-thread or
/// a current-thread tokio runtime.
///
/// Data operations are async host functions: a guest waiting on a server
/// yields its thread to other tasks. Everything else (`open`, `info`,
/// dropping handles) stays synchronous. `get` borrows the kvhost state out
/// of the embedder's store data.
pub fn add_to_linker_async<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> KvView<'_>,
) -> wasmtime::Result<()> {
    link_all!(bindings, linker, get)
}
