//! [`GuestState`]: what each guest instance owns in its wasmtime store.

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::memory_budget::MemoryBudget;
use crate::access::KvCtx;

/// The data of one instance's wasmtime store.
pub(crate) struct GuestState {
    pub(super) wasi: WasiCtx,
    pub(super) table: ResourceTable,
    pub(super) kv: KvCtx,
    pub(super) memory: MemoryBudget,
    #[cfg(feature = "serve")]
    pub(super) http: wasi_http::HttpState,
    /// With the pooling allocator: this instance's place in the pool, given
    /// back when the store is dropped.
    pub(super) _pool_place: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl WasiView for GuestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// An instance's `wasi:http` state. A guest has no outgoing network:
/// `wasi:http/outgoing-handler` is linked (components built for
/// `wasi:http/proxy` import it) and refuses every request.
#[cfg(feature = "serve")]
mod wasi_http {
    use std::future::Future;

    use wasmtime_wasi_http::{WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

    /// An instance's `wasi:http` state.
    #[derive(Default)]
    pub(in crate::guest) struct HttpState {
        ctx: WasiHttpCtx,
        hooks: NoOutgoing,
    }

    /// Hooks that refuse outgoing requests: kvhost gives guests stores, not the
    /// network.
    #[derive(Default)]
    struct NoOutgoing;

    /// What `send_request` returns: the response and a future for its body's errors.
    type Sent = Box<dyn Future<Output = wasmtime_wasi_http::Result<(http::Response<WasiBody>, BodyErrors)>> + Send>;
    type BodyErrors = Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>;

    impl WasiHttpHooks for NoOutgoing {
        fn send_request(
            &mut self,
            _request: http::Request<WasiBody>,
            _options: Option<wasmtime_wasi_http::RequestOptions>,
            _fut: BodyErrors,
        ) -> Sent {
            Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) })
        }
    }

    impl WasiHttpView for super::GuestState {
        fn http(&mut self) -> WasiHttpCtxView<'_> {
            WasiHttpCtxView { ctx: &mut self.http.ctx, table: &mut self.table, hooks: &mut self.http.hooks }
        }
    }
}
