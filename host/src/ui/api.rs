//! The routes: the page's assets and the JSON API, each store operation
//! through a [`Bucket`] from the catalog.

use std::time::Duration;

use base64::Engine as _;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::{Method, StatusCode};
use serde_json::json;

use super::reply::{self, Response};
use super::sse::Stopping;
use crate::access::{Bucket, Catalog};
use crate::backend::{Condition, Expiry};

/// How much of a value the page gets to show; the rest is a download.
pub(super) const PREVIEW_BYTES: usize = 64 * 1024;
/// The default page of keys.
const PAGE: u32 = 200;
/// Keys per round trip when counting or deleting by prefix.
const BATCH: u32 = 1000;

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const STYLE_CSS: &str = include_str!("assets/style.css");

/// One request's answer; `stopping` ends event streams when the server
/// shuts down.
pub(super) async fn route(
    catalog: &Catalog,
    read_only: bool,
    stopping: &Stopping,
    request: hyper::Request<Incoming>,
) -> Response {
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    match (&method, path.as_str()) {
        (&Method::GET, "/") => reply::with_body(StatusCode::OK, "text/html; charset=utf-8", INDEX_HTML),
        (&Method::GET, "/app.js") => reply::with_body(StatusCode::OK, "text/javascript; charset=utf-8", APP_JS),
        (&Method::GET, "/style.css") => reply::with_body(StatusCode::OK, "text/css; charset=utf-8", STYLE_CSS),
        (&Method::GET, "/api/stores") => stores(catalog, read_only),
        _ => match path.strip_prefix("/api/stores/").and_then(|rest| rest.split_once('/')) {
            Some((id, what)) => match reply::decode(id).and_then(|id| catalog.open(&id)) {
                Some(bucket) => store_route(&bucket, &method, what, stopping, request).await,
                None => reply::error(StatusCode::NOT_FOUND, "no-such-store", &format!("no store {id:?} is running")),
            },
            None => reply::error(StatusCode::NOT_FOUND, "not-found", &format!("nothing at {method} {path}")),
        },
    }
}

async fn store_route(
    bucket: &Bucket,
    method: &Method,
    what: &str,
    stopping: &Stopping,
    request: hyper::Request<Incoming>,
) -> Response {
    let query = reply::query(request.uri());
    let param = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let prefix = param("prefix").unwrap_or("");
    match (method, what) {
        (&Method::GET, "keys") => {
            let limit = match param("limit").map(str::parse::<u32>).transpose() {
                Ok(limit) => limit.unwrap_or(PAGE),
                Err(_) => return reply::bad_request("limit must be a whole number"),
            };
            match bucket.list(prefix, param("cursor").filter(|c| !c.is_empty()), limit).await {
                Ok(page) => reply::json(StatusCode::OK, &json!({ "keys": page.keys, "cursor": page.cursor })),
                Err(e) => reply::store_error(&e),
            }
        }
        (&Method::GET, "count") => match count(bucket, prefix).await {
            Ok(n) => reply::json(StatusCode::OK, &json!({ "count": n })),
            Err(e) => reply::store_error(&e),
        },
        (&Method::POST, "clear") => match clear(bucket, prefix).await {
            Ok(n) => reply::json(StatusCode::OK, &json!({ "removed": n })),
            Err(e) => reply::store_error(&e),
        },
        (&Method::GET, "events") => match bucket.watch(prefix) {
            Ok(changes) => super::sse::events(changes, stopping.clone()).await,
            Err(e) => reply::store_error(&e),
        },
        _ => match what.strip_prefix("keys/").map(reply::decode) {
            Some(Some(key)) => key_route(bucket, method, &key, param("raw").is_some(), param("ttl"), request).await,
            Some(None) => reply::bad_request("the key in the path is not percent-encoded UTF-8"),
            None => reply::error(StatusCode::NOT_FOUND, "not-found", &format!("nothing at {method} {what}")),
        },
    }
}

async fn key_route(
    bucket: &Bucket,
    method: &Method,
    key: &str,
    raw: bool,
    ttl: Option<&str>,
    request: hyper::Request<Incoming>,
) -> Response {
    match *method {
        Method::GET if raw => match bucket.get(key).await {
            Ok(Some(value)) => {
                let mut response = reply::with_body(StatusCode::OK, "application/octet-stream", value);
                let disposition = hyper::header::HeaderValue::from_static("attachment; filename=\"value.bin\"");
                response.headers_mut().insert(hyper::header::CONTENT_DISPOSITION, disposition);
                response
            }
            Ok(None) => absent(bucket, key),
            Err(e) => reply::store_error(&e),
        },
        Method::GET => value(bucket, key).await,
        Method::PUT => {
            let ttl = match ttl.filter(|t| !t.is_empty()).map(str::parse::<u64>).transpose() {
                Ok(ttl) => ttl.filter(|&s| s > 0).map(Duration::from_secs),
                Err(_) => return reply::bad_request("ttl must be a whole number of seconds"),
            };
            let max = bucket.limits().max_value_bytes as usize;
            let body = match Limited::new(request.into_body(), max + 1).collect().await {
                Ok(body) => body.to_bytes(),
                Err(e) if e.is::<LengthLimitError>() => {
                    let message = format!("the value is over store {}'s max_value_bytes ({max})", bucket.id());
                    return reply::error(StatusCode::PAYLOAD_TOO_LARGE, "too-large", &message);
                }
                Err(e) => return reply::bad_request(&format!("cannot read the request body: {e}")),
            };
            match bucket.put(key, body.to_vec(), ttl, Condition::Always).await {
                Ok(version) => reply::json(StatusCode::OK, &json!({ "version": version.to_string() })),
                Err(e) => reply::store_error(&e),
            }
        }
        Method::DELETE => match bucket.delete(key).await {
            Ok(deleted) => reply::json(StatusCode::OK, &json!({ "deleted": deleted })),
            Err(e) => reply::store_error(&e),
        },
        _ => reply::error(StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed", "keys take GET, PUT and DELETE"),
    }
}

/// A value as the page shows it: its first [`PREVIEW_BYTES`] in base64,
/// whether it is all UTF-8, its size, version and TTL.
async fn value(bucket: &Bucket, key: &str) -> Response {
    let entry = match bucket.get_entry(key).await {
        Ok(Some(entry)) => entry,
        Ok(None) => return absent(bucket, key),
        Err(e) => return reply::store_error(&e),
    };
    let (expires, ttl_ms) = match bucket.expiry(key).await {
        Ok(Some(Expiry::In(left))) => ("in", Some(left.as_millis() as u64)),
        Ok(Some(Expiry::Never)) => ("never", None),
        Ok(None) => ("expired", None),
        Err(_) => ("unknown", None),
    };
    let value = &entry.value;
    let shown = &value[..value.len().min(PREVIEW_BYTES)];
    reply::json(
        StatusCode::OK,
        &json!({
            "key": key,
            "size": value.len(),
            "version": entry.version.to_string(),
            "expires": expires,
            "ttl_ms": ttl_ms,
            "utf8": std::str::from_utf8(value).is_ok(),
            "truncated": shown.len() < value.len(),
            "preview_base64": base64::engine::general_purpose::STANDARD.encode(shown),
        }),
    )
}

fn absent(bucket: &Bucket, key: &str) -> Response {
    reply::error(StatusCode::NOT_FOUND, "no-such-key", &format!("store {} has no key {key:?}", bucket.id()))
}

/// How many keys start with `prefix`, a page at a time.
async fn count(bucket: &Bucket, prefix: &str) -> crate::Result<u64> {
    let (mut cursor, mut n) = (None::<String>, 0u64);
    loop {
        let page = bucket.list(prefix, cursor.as_deref(), BATCH).await?;
        n += page.keys.len() as u64;
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(n),
        }
    }
}

/// Delete every key starting with `prefix` (every key: the store's `clear`);
/// how many were removed (for a whole store, how many there were just before).
async fn clear(bucket: &Bucket, prefix: &str) -> crate::Result<u64> {
    if prefix.is_empty() {
        let n = count(bucket, "").await?;
        bucket.clear().await?;
        return Ok(n);
    }
    let (mut cursor, mut n) = (None::<String>, 0u64);
    loop {
        let page = bucket.list(prefix, cursor.as_deref(), BATCH).await?;
        n += bucket.delete_many(&page.keys).await?;
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(n),
        }
    }
}

/// The stores, for the page's first table.
fn stores(catalog: &Catalog, read_only: bool) -> Response {
    let stores: Vec<_> = catalog
        .ids()
        .iter()
        .filter_map(|id| catalog.open(id))
        .map(|bucket| {
            let (info, limits) = (bucket.info(), bucket.limits());
            json!({
                "id": info.id,
                "kind": info.backend,
                "entries": bucket.entries(),
                "durable": info.durable,
                "versioned": info.versioned,
                "watch": bucket.watch_scope().map(|s| s.as_str()),
                "limits": {
                    "max_key_bytes": limits.max_key_bytes,
                    "max_value_bytes": limits.max_value_bytes,
                    "max_result_bytes": limits.max_result_bytes,
                    "max_concurrency": limits.max_concurrency,
                },
            })
        })
        .collect();
    reply::json(StatusCode::OK, &json!({ "read_only": read_only, "preview_bytes": PREVIEW_BYTES, "stores": stores }))
}
