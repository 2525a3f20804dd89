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

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

pub use auth::Token;

use crate::access::Catalog;

/// The key browser's server: the page and the API over `catalog`'s stores.
pub struct UiServer {
    catalog: Catalog,
    token: Token,
    read_only: bool,
}

impl UiServer {
    /// A server for every store of `catalog`, open to requests that carry
    /// `token`.
    pub fn new(catalog: Catalog, token: Token) -> Self {
        Self { catalog, token, read_only: false }
    }

    /// Refuse every write (set, delete, clear) with 403.
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// The address a browser opens: `http://ADDR/?token=TOKEN`.
    pub fn url(&self, addr: SocketAddr) -> String {
        format!("http://{addr}/?token={}", self.token.as_str())
    }

    /// Answer requests on `listener` until `shutdown` resolves. Requests
    /// whose `Host` is not `listener`'s address are refused (DNS
    /// rebinding).
    pub async fn serve(self, listener: TcpListener, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
        let served = Arc::new(Served { server: self, addr: listener.local_addr()? });
        tokio::pin!(shutdown);
        let mut acceptor = crate::serve::accept::Acceptor::new(&listener, "a key browser connection");
        while let Some((stream, peer)) = acceptor.next(shutdown.as_mut()).await {
            let served = served.clone();
            let service = service_fn(move |request| {
                let served = served.clone();
                async move { Ok::<_, Infallible>(served.answer(request).await) }
            });
            tokio::spawn(async move {
                if let Err(e) = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await {
                    tracing::debug!(%peer, "key browser connection ended: {e}");
                }
            });
        }
        Ok(())
    }
}

/// A server and the address it listens on.
struct Served {
    server: UiServer,
    addr: SocketAddr,
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
        let mut response = api::route(&self.server.catalog, self.server.read_only, request).await;
        if access.by_query {
            // The page loaded from the printed URL: later requests of this
            // browser (assets, a reload, a download link) carry the cookie.
            response.headers_mut().insert(hyper::header::SET_COOKIE, auth::cookie(&self.server.token, self.addr));
        }
        response
    }
}
