//! [`HttpServer`]: each request's body and time limits around the guest
//! (its connections are [`Connections`]'); and the metrics endpoint.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use http_body_util::BodyExt as _;
use hyper::body::Body as _;
use hyper::{Request, StatusCode};
use tokio::net::TcpListener;

use super::body::Capped;
use super::{Connections, DEFAULT_REQUEST_TIMEOUT, ServeLimits};
use crate::access::KvCtx;
use crate::guest::{GuestLimits, GuestRunner, HttpPrepared, HttpResponse};
use crate::metrics::Metrics;

/// How long requests in flight may go on after shutdown begins, unless the
/// caller says otherwise.
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves one HTTP guest: each request gets a fresh instance that may open
/// the stores of `kv` (shared by every request), within `limits` (per
/// request), its clients within [`ServeLimits`].
pub struct HttpServer {
    runner: Arc<GuestRunner>,
    guest: HttpPrepared,
    kv: KvCtx,
    limits: GuestLimits,
    serve_limits: ServeLimits,
    stop_timeout: Duration,
    metrics: Option<(Metrics, String)>,
}

impl HttpServer {
    /// A server for `guest` (from [`GuestRunner::prepare_http`]). A request
    /// the guest has not answered within `limits.timeout` (else
    /// [`DEFAULT_REQUEST_TIMEOUT`], 60 s) gets 504.
    pub fn new(runner: Arc<GuestRunner>, guest: HttpPrepared, kv: KvCtx, mut limits: GuestLimits) -> Self {
        limits.timeout = limits.timeout.or(Some(DEFAULT_REQUEST_TIMEOUT));
        Self {
            runner,
            guest,
            kv,
            limits,
            serve_limits: ServeLimits::default(),
            stop_timeout: DEFAULT_STOP_TIMEOUT,
            metrics: None,
        }
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

    /// Every bound on clients at once (the defaults are SPEC.md's).
    pub fn serve_limits(mut self, limits: ServeLimits) -> Self {
        self.serve_limits = limits;
        self
    }

    /// Close a connection that has not sent a whole request head this long
    /// after it opened (or after the first byte of its next request).
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.serve_limits.header_timeout = timeout;
        self
    }

    /// Close a kept-alive connection idle this long after its last response.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.serve_limits.idle_timeout = timeout;
        self
    }

    /// Serve at most `n` connections at once; more wait in the backlog.
    pub fn max_connections(mut self, n: u32) -> Self {
        self.serve_limits.max_connections = n;
        self
    }

    /// Answer 413 to a request body over `bytes`.
    pub fn max_body(mut self, bytes: u64) -> Self {
        self.serve_limits.max_body = bytes;
        self
    }

    /// Accept connections on `listener` until `shutdown` resolves, then stop
    /// accepting, let requests in flight finish (up to the stop timeout) and
    /// return. A guest that fails fails its own request only; a client that
    /// is too slow, too idle or too large is answered or closed within the
    /// [`ServeLimits`].
    pub async fn serve(self, listener: TcpListener, shutdown: impl Future<Output = ()>) {
        let connections =
            Connections { limits: self.serve_limits, name: "connection", stop_timeout: self.stop_timeout };
        let this = Arc::new(self);
        let answer = move |request| {
            let server = this.clone();
            async move { server.answer(request).await }
        };
        connections.serve(listener, shutdown, answer).await;
    }

    /// One request: refused 413 if its body is declared too large, else
    /// answered by the guest with its body capped, and 413 in place of the
    /// guest's answer if the body grew too large before it answered.
    async fn answer(&self, request: Request<hyper::body::Incoming>) -> HttpResponse {
        let guard = self.metrics.as_ref().map(|(m, component)| m.http_request(component));
        let max = self.serve_limits.max_body;
        let response = if request.body().size_hint().lower() > max {
            too_large(max)
        } else {
            let over = Arc::new(AtomicBool::new(false));
            let request = request.map(|body| Capped::new(body, max, over.clone()));
            let response = self.runner.handle(&self.guest, request, self.kv.clone(), &self.limits).await;
            if over.load(Ordering::Relaxed) { too_large(max) } else { response }
        };
        if let Some(guard) = guard {
            guard.finish(response.status().as_u16());
        }
        response
    }
}

/// 413, closing the connection: the rest of the body is not read.
fn too_large(max: u64) -> HttpResponse {
    let text = format!("request body over {max} bytes (max_body)\n");
    let body = http_body_util::Full::new(hyper::body::Bytes::from(text)).map_err(|never| match never {}).boxed_unsync();
    let mut response = hyper::Response::new(body);
    *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
    let headers = response.headers_mut();
    headers.insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("text/plain"));
    headers.insert(hyper::header::CONNECTION, hyper::header::HeaderValue::from_static("close"));
    response
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

/// Most connections the metrics endpoint takes at once: a scraper needs
/// one or two, and a flood of them must not take the descriptors the
/// server being measured needs.
const METRICS_MAX_CONNECTIONS: u32 = 64;

/// Serve `metrics` as text at `GET /metrics` on `listener` until `shutdown`
/// resolves, its clients bounded as the guest's are ([`ServeLimits`]'
/// timeouts), at most 64 connections at once.
pub async fn serve_metrics(metrics: Metrics, listener: TcpListener, shutdown: impl Future<Output = ()>) {
    use http_body_util::Full;
    use hyper::body::Bytes;
    let connections = Connections {
        limits: ServeLimits { max_connections: METRICS_MAX_CONNECTIONS, ..ServeLimits::default() },
        name: "metrics connection",
        stop_timeout: DEFAULT_STOP_TIMEOUT,
    };
    let answer = move |request: Request<hyper::body::Incoming>| {
        let (status, content_type, body) = match (request.method(), request.uri().path()) {
            (&hyper::Method::GET, "/metrics") => {
                (StatusCode::OK, "application/openmetrics-text; version=1.0.0; charset=utf-8", metrics.encode())
            }
            _ => (StatusCode::NOT_FOUND, "text/plain", "GET /metrics\n".to_owned()),
        };
        let response = hyper::Response::builder()
            .status(status)
            .header(hyper::header::CONTENT_TYPE, content_type)
            .body(Full::new(Bytes::from(body)))
            .expect("a valid response");
        std::future::ready(response)
    };
    connections.serve(listener, shutdown, answer).await;
}
