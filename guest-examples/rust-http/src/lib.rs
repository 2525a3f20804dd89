//! http-kv: an HTTP guest (`wasi:http/proxy`) whose state lives in the host's
//! key-value stores through `wasi:keyvalue@0.2.0-draft2` (or, with the
//! feature `draft`, `0.2.0-draft`), so it survives across requests, instances
//! and (on SQL and Redis stores) hosts.
//!
//! - `GET /counter`: increments `counter` atomically, answers the new value.
//! - `GET /kv/KEY`: the value (404 if absent); `PUT /kv/KEY` sets it to the
//!   request body; `DELETE /kv/KEY` deletes it.
//! - `GET /kv?prefix=P`: the keys starting with P, as a JSON array.
//! - `GET /fault/spin` computes forever and `GET /fault/trap` traps: what the
//!   server's fault tests send, to show a bad request fails alone.
//! - `GET /sleep/MS` sets `sleeping:MS`, waits MS milliseconds, then answers:
//!   a request that is surely in flight, for the shutdown test.
//!
//! A store error is a 500 or 503 with its text, never a trap.

/// The key-value interface: `wasi:keyvalue@0.2.0-draft2` (Spin's), or with
/// the feature `draft` the `0.2.0-draft` that `wasmtime serve -S keyvalue`
/// implements, so the same guest runs under both servers.
#[cfg(not(feature = "draft"))]
mod kv {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "wasi:keyvalue/imports@0.2.0-draft2",
    });
    pub use self::wasi::keyvalue0_2_0_draft2::store;
    use self::wasi::keyvalue0_2_0_draft2::atomics;

    pub fn increment(bucket: &store::Bucket, key: &str) -> Result<u64, store::Error> {
        atomics::increment(bucket, key, 1).map(|n| n as u64)
    }

    /// One page of keys and the cursor of the next, if any.
    pub fn page(bucket: &store::Bucket, cursor: Option<String>) -> Result<(Vec<String>, Option<String>), store::Error> {
        bucket.list_keys(cursor.as_deref()).map(|r| (r.keys, r.cursor))
    }
}

#[cfg(feature = "draft")]
mod kv {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "wasi:keyvalue/imports@0.2.0-draft",
    });
    pub use self::wasi::keyvalue0_2_0_draft::store;
    use self::wasi::keyvalue0_2_0_draft::atomics;

    pub fn increment(bucket: &store::Bucket, key: &str) -> Result<u64, store::Error> {
        atomics::increment(bucket, key, 1)
    }

    /// One page of keys and the cursor of the next, if any.
    pub fn page(bucket: &store::Bucket, cursor: Option<u64>) -> Result<(Vec<String>, Option<u64>), store::Error> {
        bucket.list_keys(cursor).map(|r| (r.keys, r.cursor))
    }
}

use wasi::http::types::{Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam};
use wasi::io::streams::StreamError;

struct HttpKv;

wasi::http::proxy::export!(HttpKv);

impl wasi::exports::http::incoming_handler::Guest for HttpKv {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let (status, content_type, body) = route(&request);
        respond(out, status, content_type, &body);
    }
}

type Answer = (u16, &'static str, Vec<u8>);

fn text(status: u16, body: impl Into<String>) -> Answer {
    (status, "text/plain", body.into().into_bytes())
}

fn route(request: &IncomingRequest) -> Answer {
    let path_query = request.path_with_query().unwrap_or_default();
    let (path, query) = path_query.split_once('?').unwrap_or((&path_query, ""));
    let bucket = match kv::store::open("") {
        Ok(b) => b,
        Err(e) => return store_error(e),
    };
    match (request.method(), path) {
        (Method::Get, "/counter") => match kv::increment(&bucket, "counter") {
            Ok(n) => text(200, format!("{n}\n")),
            Err(e) => store_error(e),
        },
        (Method::Get, "/kv") => {
            let prefix = query.split('&').find_map(|p| p.strip_prefix("prefix=")).unwrap_or("");
            match keys(&bucket, prefix) {
                Ok(keys) => (200, "application/json", json_array(&keys).into_bytes()),
                Err(e) => store_error(e),
            }
        }
        (method, p) if p.starts_with("/kv/") && p.len() > 4 => {
            let key = &p[4..];
            match method {
                Method::Get => match bucket.get(key) {
                    Ok(Some(value)) => (200, "application/octet-stream", value),
                    Ok(None) => text(404, format!("no key {key}\n")),
                    Err(e) => store_error(e),
                },
                Method::Put => match read_body(request) {
                    Ok(value) => match bucket.set(key, &value) {
                        Ok(()) => text(204, ""),
                        Err(e) => store_error(e),
                    },
                    Err(e) => text(400, format!("cannot read the body: {e}\n")),
                },
                Method::Delete => match bucket.delete(key) {
                    Ok(()) => text(204, ""),
                    Err(e) => store_error(e),
                },
                _ => text(405, "GET, PUT or DELETE\n"),
            }
        }
        (Method::Get, "/fault/spin") => {
            let mut n: u64 = 0;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        (Method::Get, "/fault/trap") => panic!("the trap the fault tests ask for"),
        (Method::Get, p) if p.starts_with("/sleep/") => {
            let Ok(ms) = p["/sleep/".len()..].parse::<u64>() else { return text(400, "GET /sleep/MS\n") };
            if let Err(e) = bucket.set(&format!("sleeping:{ms}"), b"1") {
                return store_error(e);
            }
            std::thread::sleep(std::time::Duration::from_millis(ms));
            text(200, format!("slept {ms} ms\n"))
        }
        _ => text(404, "routes: GET /counter, GET|PUT|DELETE /kv/KEY, GET /kv?prefix=P\n"),
    }
}

/// Every key starting with `prefix`, paging through the store's cursor.
fn keys(bucket: &kv::store::Bucket, prefix: &str) -> Result<Vec<String>, kv::store::Error> {
    let (mut all, mut cursor) = (Vec::new(), None);
    loop {
        let (keys, next) = kv::page(bucket, cursor)?;
        all.extend(keys.into_iter().filter(|k| k.starts_with(prefix)));
        match next {
            Some(c) => cursor = Some(c),
            None => return Ok(all),
        }
    }
}

fn store_error(e: kv::store::Error) -> Answer {
    match e {
        kv::store::Error::AccessDenied => text(403, "store: access denied\n"),
        kv::store::Error::NoSuchStore => text(500, "store: no such store\n"),
        kv::store::Error::Other(why) if why.starts_with("unavailable") => text(503, format!("store: {why}\n")),
        kv::store::Error::Other(why) => text(500, format!("store: {why}\n")),
    }
}

fn json_array(items: &[String]) -> String {
    let mut out = String::from("[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        for c in item.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out.push_str("]\n");
    out
}

fn read_body(request: &IncomingRequest) -> Result<Vec<u8>, String> {
    let body = request.consume().map_err(|()| "the body was already taken".to_owned())?;
    let stream = body.stream().map_err(|()| "the body has no stream".to_owned())?;
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => bytes.extend(chunk),
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => return Err(e.to_debug_string()),
        }
    }
    Ok(bytes)
}

fn respond(out: ResponseOutparam, status: u16, content_type: &str, body: &[u8]) {
    let headers = Fields::new();
    let _ = headers.set("content-type", &[content_type.as_bytes().to_vec()]);
    let response = OutgoingResponse::new(headers);
    let _ = response.set_status_code(status);
    let Ok(outgoing) = response.body() else { return };
    ResponseOutparam::set(out, Ok(response));
    if let Ok(stream) = outgoing.write() {
        // wasi:io allows at most 4096 bytes per blocking write.
        for chunk in body.chunks(4096) {
            if stream.blocking_write_and_flush(chunk).is_err() {
                return;
            }
        }
    }
    let _ = OutgoingBody::finish(outgoing, None);
}
