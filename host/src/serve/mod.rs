//! An HTTP server whose every request is answered by a fresh instance of a
//! guest: what `kvhost serve` runs, and what embedders can run on their own
//! listener. It holds against hostile clients within its [`ServeLimits`].
//!
//! Without the cargo feature `serve` only [`ServeLimits`] is here (the
//! registry reads them either way).

mod limits;

pub use limits::{DEFAULT_REQUEST_TIMEOUT, MAX_HEAD_BYTES, ServeLimits};

#[cfg(feature = "serve")]
mod accept;
#[cfg(feature = "serve")]
mod body;
#[cfg(feature = "serve")]
mod conn;
#[cfg(feature = "serve")]
mod connections;
#[cfg(feature = "serve")]
mod server;

#[cfg(feature = "serve")]
pub(crate) use connections::Connections;
#[cfg(feature = "serve")]
pub use server::{DEFAULT_STOP_TIMEOUT, HttpServer, metrics_endpoint, serve_metrics};
