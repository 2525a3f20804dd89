//! Responses with the headers every answer carries, and the small parts of
//! URLs the API reads (percent-encoded path segments, query parameters).

use std::convert::Infallible;

use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt as _, Full};
use hyper::StatusCode;
use hyper::body::Bytes;
use hyper::header::{self, HeaderValue};

use crate::error::Error;

/// What every handler answers.
pub(super) type Response = hyper::Response<BoxBody<Bytes, Infallible>>;

/// The page may load only its own assets and talk only to this server; it
/// may not be framed; nothing is cached.
const CSP: &str =
    "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// A response of `status` with `body` of `content_type`, and the headers
/// every answer carries.
pub(super) fn with_body(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response {
    let mut response = hyper::Response::new(Full::new(body.into()).boxed());
    *response.status_mut() = status;
    secure(&mut response);
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_str(content_type).expect("a media type"));
    response
}

/// The security headers, on `response`.
pub(super) fn secure(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// `value` as a JSON response.
pub(super) fn json(status: StatusCode, value: &serde_json::Value) -> Response {
    with_body(status, "application/json", value.to_string())
}

/// An error as JSON: `{"error": kind, "message": ...}`.
pub(super) fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    json(status, &serde_json::json!({ "error": kind, "message": message }))
}

/// A store's error, with the status that says what kind it is.
pub(super) fn store_error(e: &Error) -> Response {
    let status = match e {
        Error::NoSuchStore(_) => StatusCode::NOT_FOUND,
        Error::AccessDenied(_) => StatusCode::FORBIDDEN,
        Error::InvalidArgument(_) => StatusCode::BAD_REQUEST,
        Error::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        Error::Conflict(_) => StatusCode::CONFLICT,
        Error::StoreFull { .. } => StatusCode::INSUFFICIENT_STORAGE,
        Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        Error::Other(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error(status, e.kind(), &e.to_string())
}

/// A 400 naming what is wrong with the request.
pub(super) fn bad_request(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "bad-request", message)
}

/// The query's parameters, decoded (`+` is a space); undecodable ones are
/// left out.
pub(super) fn query(uri: &hyper::Uri) -> Vec<(String, String)> {
    uri.query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            Some((decode(&k.replace('+', " "))?, decode(&v.replace('+', " "))?))
        })
        .collect()
}

/// A percent-encoded string decoded, or `None` if it is malformed or not
/// UTF-8.
pub(super) fn decode(encoded: &str) -> Option<String> {
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_takes_percent_escapes_and_refuses_malformed_ones() {
        assert_eq!(decode("a%2Fb%3Ac").as_deref(), Some("a/b:c"));
        assert_eq!(decode("%E2%9C%93").as_deref(), Some("\u{2713}"));
        assert_eq!(decode("%zz"), None);
        assert_eq!(decode("%4"), None);
        assert_eq!(decode("%ff"), None, "not UTF-8");
    }

    #[test]
    fn query_decodes_each_parameter() {
        let uri: hyper::Uri = "/x?prefix=user%3A&limit=5&q=a+b&flag".parse().unwrap();
        let q = query(&uri);
        assert_eq!(q[0], ("prefix".into(), "user:".into()));
        assert_eq!(q[2], ("q".into(), "a b".into()));
        assert_eq!(q[3], ("flag".into(), String::new()));
    }
}
