//! HTTP guests: components that export `wasi:http/incoming-handler`, one
//! fresh instance per request, with the same stores, grants and limits as a
//! command.
//!
//! A guest has no outgoing network: `wasi:http/outgoing-handler` is linked
//! (components built for `wasi:http/proxy` import it) and refuses every
//! request with `HTTP-request-denied`.

use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Bytes};
use hyper::{Request, Response, StatusCode};
use wasmtime::component::Component;
use wasmtime_wasi::WasiCtx;
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

use super::diagnose::{self, failure};
use super::limits::{GuestLimits, Stopped};
use super::runner::GuestRunner;
use super::state::GuestState;
use crate::access::KvCtx;

/// What an HTTP response from a guest is made of.
pub type HttpResponse = Response<HyperOutgoingBody>;

/// A component linked against kvhost, WASI and `wasi:http`, ready to
/// instantiate per request. Cloning is cheap and shares the compiled code.
#[derive(Clone)]
pub struct HttpPrepared(ProxyPre<GuestState>);

impl GuestRunner {
    /// Link an HTTP component (one that exports `wasi:http/incoming-handler`)
    /// once, so that each request only instantiates it.
    pub fn prepare_http(&self, component: &Component) -> anyhow::Result<HttpPrepared> {
        let pre = self.linker.instantiate_pre(component).map_err(diagnose::link_error)?;
        let pre = ProxyPre::new(pre)
            .map_err(|_| diagnose::not_runnable(&self.engine, component, "wasi:http/incoming-handler"))?;
        Ok(HttpPrepared(pre))
    }

    /// Answer one request with a fresh instance of `guest` that may open the
    /// stores `kv` grants, within `limits`.
    ///
    /// The guest's response is returned as soon as it sets one, its body
    /// streaming while the guest writes it. A guest past `limits.timeout`
    /// before it answers gets 504; one that traps, runs out of memory or
    /// returns without answering gets 500. The reason goes to the log, never
    /// to the client.
    pub async fn handle<B>(
        &self,
        guest: &HttpPrepared,
        request: Request<B>,
        kv: KvCtx,
        limits: &GuestLimits,
    ) -> HttpResponse
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let mut wasi = WasiCtx::builder();
        wasi.inherit_stdout().inherit_stderr();
        let (mut store, watchdog) = self.instance(wasi.build(), kv, limits).await;
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let mut http = store.data_mut().http();
        let resources = http
            .new_incoming_request(wasmtime_wasi_http::p2::bindings::http::types::Scheme::Http, request)
            .and_then(|req| Ok((req, http.new_response_outparam(sender)?)));
        let (req, out) = match resources {
            Ok(r) => r,
            Err(e) => return plain(StatusCode::BAD_REQUEST, &format!("bad request: {e}\n")),
        };
        let pre = guest.0.clone();
        // The guest runs as a task of its own: it may go on writing the body
        // after it has handed over the response.
        let task = tokio::spawn(async move {
            let ran = watchdog
                .run(async {
                    let proxy = pre.instantiate_async(&mut store).await?;
                    proxy.wasi_http_incoming_handler().call_handle(&mut store, req, out).await
                })
                .await;
            // Logged here: a guest that fails after answering fails too.
            ran.map_err(|e| {
                let stopped = Stopped::of(&e);
                tracing::warn!("{:#}", failure("http handler", e, store.data().memory.refusal()));
                stopped
            })
        });
        match receiver.await {
            Ok(Ok(response)) => return response,
            Ok(Err(code)) => tracing::warn!("http handler answered with an error: {code:?}"),
            Err(_) => match task.await {
                Ok(Err(Some(Stopped::OverTime(_)))) => {
                    return plain(StatusCode::GATEWAY_TIMEOUT, "the handler did not answer within its time limit\n");
                }
                Ok(Err(_)) => {}
                Ok(Ok(())) => tracing::warn!("http handler returned without setting a response"),
                Err(join) => tracing::warn!("http handler task failed: {join}"),
            },
        }
        plain(StatusCode::INTERNAL_SERVER_ERROR, "internal server error\n")
    }
}

/// A plain-text response from the host itself.
fn plain(status: StatusCode, text: &str) -> HttpResponse {
    let body = Full::new(Bytes::copy_from_slice(text.as_bytes())).map_err(|never| match never {}).boxed_unsync();
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain"));
    response
}
