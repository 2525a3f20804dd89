//! An HTTP server whose every request is answered by a fresh instance of a
//! guest: what `kvhost serve` runs, and what embedders can run on their own
//! listener.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::access::KvCtx;
use crate::guest::GuestLimits;
use crate::guest::{GuestRunner, HttpPrepared};
use crate::metrics::Metrics;

/// How long requests in flight may go on after shutdown begins, unless the
/// caller says otherwise.
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves one HTTP guest: each request gets a fresh instance that may open
/// the stores of `kv` (shared by every request), within `limits` (per
/// request).
pub struct HttpServer {
    runner: Arc<GuestRunner>,
    guest: HttpPrepared,
    kv: KvCtx,
    limits: GuestLimits,
    stop_timeout: Duration,
    metrics: Option<(Metrics, String)>,
}

impl HttpServer {
    /// A server for `guest` (from [`GuestRunner::prepare_http`]).
    pub fn new(runner: Arc<GuestRunner>, guest: HttpPrepared, kv: KvCtx, limits: GuestLimits) -> Self {
        Self { runner, guest, kv, limits, stop_timeout: DEFAULT_STOP_TIMEOUT, metrics: None }
    }

    /// Record each request in `metrics`, labelled with `component`.
    pub fn metrics(mut self, metrics: Metrics, component: impl Into<String>) -> Self {
        self.metrics = Some((metrics, component.into()));
        self
    }

    /// How long requests in flight may go on once `shutdown` resolves.
    pub fn stop_timeout(mut self, timeout: Duration) -> Self {
        self.stop_timeout = timeout;
        self
    }

    /// Accept connections on `listener` until `shutdown` resolves, then stop
    /// accepting, let requests in flight finish (up to the stop timeout) and
    /// return. A guest that fails fails its own request only.
    pub async fn serve(self, listener: TcpListener, shutdown: impl Future<Output = ()>) {
        let stop_timeout = self.stop_timeout;
        let this = Arc::new(self);
        let graceful = GracefulShutdown::new();
        tokio::pin!(shutdown);
        while let Some((stream, peer)) = next_connection(&listener, shutdown.as_mut(), "a connection").await {
            let server = this.clone();
            let service = service_fn(move |request| {
                let server = server.clone();
                async move {
                    let guard = server.metrics.as_ref().map(|(m, component)| m.http_request(component));
                    let response =
                        server.runner.handle(&server.guest, request, server.kv.clone(), &server.limits).await;
                    if let Some(guard) = guard {
                        guard.finish(response.status().as_u16());
                    }
                    Ok::<_, Infallible>(response)
                }
            });
            let connection = graceful.watch(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!(%peer, "connection ended: {e}");
                }
            });
        }
        drop(listener);
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(stop_timeout) => {
                tracing::warn!("requests still in flight after {}: dropped", humantime::format_duration(stop_timeout));
            }
        }
    }
}

/// A new set of metrics, served at `http://ADDR/metrics` from now on (by a
/// task of the current runtime); with the address it listens on.
pub async fn metrics_endpoint(addr: std::net::SocketAddr) -> anyhow::Result<(Metrics, std::net::SocketAddr)> {
    use anyhow::Context as _;
    let listener = TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr} for metrics"))?;
    let local = listener.local_addr()?;
    let metrics = Metrics::new();
    tokio::spawn(serve_metrics(metrics.clone(), listener, std::future::pending()));
    Ok((metrics, local))
}

/// Serve `metrics` as text at `GET /metrics` on `listener` until `shutdown`
/// resolves.
pub async fn serve_metrics(metrics: Metrics, listener: TcpListener, shutdown: impl Future<Output = ()>) {
    use http_body_util::Full;
    use hyper::body::Bytes;
    tokio::pin!(shutdown);
    while let Some((stream, _)) = next_connection(&listener, shutdown.as_mut(), "a metrics connection").await {
        let metrics = metrics.clone();
        let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            let metrics = metrics.clone();
            async move {
                let (status, content_type, body) = match (request.method(), request.uri().path()) {
                    (&hyper::Method::GET, "/metrics") => (
                        hyper::StatusCode::OK,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        metrics.encode(),
                    ),
                    _ => (hyper::StatusCode::NOT_FOUND, "text/plain", "GET /metrics\n".to_owned()),
                };
                let response = hyper::Response::builder()
                    .status(status)
                    .header(hyper::header::CONTENT_TYPE, content_type)
                    .body(Full::new(Bytes::from(body)))
                    .expect("a valid response");
                Ok::<_, Infallible>(response)
            }
        });
        tokio::spawn(async move {
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

/// The next connection on `listener`, or `None` once `shutdown` resolves.
/// An accept that fails (out of file descriptors and the like) is logged as
/// failing to accept `what`, and retried after a pause.
async fn next_connection(
    listener: &TcpListener,
    mut shutdown: std::pin::Pin<&mut impl Future<Output = ()>>,
    what: &str,
) -> Option<(tokio::net::TcpStream, std::net::SocketAddr)> {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => return Some(accepted),
                Err(e) => {
                    tracing::warn!("cannot accept {what}: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            () = &mut shutdown => return None,
        }
    }
}
