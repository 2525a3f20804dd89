//! The key browser: one page and a JSON API over every store of a
//! [`Catalog`], for operators (what `kvhost ui` serves).
//!
//! Every request carries the token ([`auth`]); every store operation goes
//! through a [`crate::Bucket`] from [`Catalog::open`], under the same limits
//! and concurrency cap as a guest's. The page's assets are built into the
//! binary: no network, no build step.
//!
//! | Method and path | What |
//! | --- | --- |
//! | `GET /` | the page |
//! | `GET /api/stores` | the stores, with kind, entries (when known), durability, versioning, limits |
//! | `GET /api/stores/{id}/keys?prefix=&cursor=&limit=` | one page of keys and the cursor of the next |
//! | `GET /api/stores/{id}/count?prefix=` | how many keys start with the prefix |
//! | `GET /api/stores/{id}/keys/{key}` | a value (its first 64 KiB, base64), size, version, TTL |
//! | `GET /api/stores/{id}/keys/{key}?raw=1` | the whole value, as a download |
//! | `PUT /api/stores/{id}/keys/{key}?ttl=SECONDS` | set the value to the body |
//! | `DELETE /api/stores/{id}/keys/{key}` | delete the key |
//! | `POST /api/stores/{id}/clear?prefix=` | delete every key with the prefix (all: clear) |
//! | `GET /api/stores/{id}/events?prefix=` | changes as server-sent events |
//!
//! Keys in paths are percent-encoded.

mod api;
mod auth;
mod reply;
mod sse;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

pub use auth::Token;

use crate::access::Catalog;
use crate::serve::{Connections, DEFAULT_STOP_TIMEOUT, ServeLimits};

/// The key browser's server: the page and the API over `catalog`'s stores.
pub struct UiServer {
    catalog: Catalog,
    token: Token,
    read_only: bool,
    limits: ServeLimits,
}

impl UiServer {
    /// A server for every store of `catalog`, open to requests that carry
    /// `token`, its clients within [`ServeLimits::default`].
    pub fn new(catalog: Catalog, token: Token) -> Self {
        Self { catalog, token, read_only: false, limits: ServeLimits::default() }
    }

    /// Refuse every write (set, delete, clear) with 403.
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// Bound clients by `limits`: the header and idle timeouts and the
    /// connection cap, as `kvhost serve` does (`max_body` is not used: the
    /// API bounds each body by the store's own limits).
    pub fn serve_limits(mut self, limits: ServeLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The address a browser opens: `http://ADDR/?token=TOKEN`.
    pub fn url(&self, addr: SocketAddr) -> String {
        format!("http://{addr}/?token={}", self.token.as_str())
    }

    /// Answer requests on `listener` until `shutdown` resolves, then end
    /// the event streams, let other requests in flight finish (up to
    /// [`DEFAULT_STOP_TIMEOUT`]) and return. Requests whose `Host` is not
    /// `listener`'s address are refused (DNS rebinding). Connections are
    /// held to the [`ServeLimits`] as `kvhost serve`'s are: one that has
    /// not sent its head within the header timeout, or is idle past the
    /// idle timeout, is closed; an event stream stays open as long as its
    /// client listens.
    pub async fn serve(self, listener: TcpListener, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
        let connections =
            Connections { limits: self.limits, name: "key browser connection", stop_timeout: DEFAULT_STOP_TIMEOUT };
        // Dropping `stop` ends every event stream.
        let (stop, stopping) = tokio::sync::watch::channel(());
        let served = Arc::new(Served { addr: listener.local_addr()?, server: self, stopping });
        let shutdown = async move {
            shutdown.await;
            drop(stop);
        };
        let answer = move |request| {
            let served = served.clone();
            async move { served.answer(request).await }
        };
        connections.serve(listener, shutdown, answer).await;
        Ok(())
    }
}

/// A server and the address it listens on.
struct Served {
    server: UiServer,
    addr: SocketAddr,
    stopping: sse::Stopping,
}

impl Served {
    async fn answer(&self, request: hyper::Request<hyper::body::Incoming>) -> reply::Response {
        let access = match auth::check(&request, &self.server.token, self.addr) {
            Ok(access) => access,
            Err(refused) => return *refused,
        };
        let write = !matches!(*request.method(), hyper::Method::GET | hyper::Method::HEAD);
        if write && !access.by_header {
            return reply::error(
                hyper::StatusCode::UNAUTHORIZED,
                "token-in-header",
                "writes need the token in an Authorization: Bearer header",
            );
        }
        if write && self.server.read_only {
            return reply::error(hyper::StatusCode::FORBIDDEN, "read-only", "this key browser is read-only");
        }
        let mut response = api::route(&self.server.catalog, self.server.read_only, &self.stopping, request).await;
        if access.by_query {
            // The page loaded from the printed URL: later requests of this
            // browser (assets, a reload, a download link) carry the cookie.
            response.headers_mut().insert(hyper::header::SET_COOKIE, auth::cookie(&self.server.token, self.addr));
        }
        response
    }
}
