//! Who may use the key browser: requests to the address it serves (the
//! `Host` header), carrying its token.

use std::net::SocketAddr;

use hyper::header::{AUTHORIZATION, COOKIE, HOST, HeaderValue};
use sha2::{Digest as _, Sha256};

use super::reply::{self, Response};

/// The secret every request must carry.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// A token given by the operator (`$KVHOST_UI_TOKEN`); an empty one, or
    /// one with characters a URL or a header would mangle, is refused.
    pub fn new(token: impl Into<String>) -> anyhow::Result<Self> {
        let token = token.into();
        anyhow::ensure!(
            !token.is_empty() && token.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)),
            "the key browser's token must be non-empty and only letters, digits, '-', '.', '_' or '~'"
        );
        Ok(Self(token))
    }

    /// A fresh random token: 32 hex digits (128 bits).
    pub fn random() -> anyhow::Result<Self> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness for the key browser's token: {e}"))?;
        Ok(Self(bytes.iter().map(|b| format!("{b:02x}")).collect()))
    }

    /// The token's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `given` is the token, in time that does not depend on where
    /// they differ (both are hashed, then every byte compared).
    fn matches(&self, given: &str) -> bool {
        let (a, b) = (Sha256::digest(self.0.as_bytes()), Sha256::digest(given.as_bytes()));
        a.iter().zip(b.iter()).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(..)")
    }
}

/// How a request carried the token.
pub(super) struct Access {
    /// In `Authorization: Bearer`: a page script sent it, not a cross-site form.
    pub by_header: bool,
    /// In the `token` query parameter (the printed URL).
    pub by_query: bool,
}

/// The request's `Host` must be the served address, and it must carry the
/// token in a header, the query or the cookie the page set. A refusal is
/// the response to send (boxed: it is the rare path).
pub(super) fn check<B>(request: &hyper::Request<B>, token: &Token, addr: SocketAddr) -> Result<Access, Box<Response>> {
    let host = request.headers().get(HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    if !host_is_served(host, addr) {
        return Err(Box::new(reply::error(
            hyper::StatusCode::FORBIDDEN,
            "wrong-host",
            &format!("the Host header {host:?} is not the address this key browser serves ({addr})"),
        )));
    }
    let header = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer ").map(str::trim));
    let query = reply::query(request.uri()).into_iter().find(|(k, _)| k == "token").map(|(_, v)| v);
    let cookie = request
        .headers()
        .get_all(COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == cookie_name(addr))
        .map(|(_, value)| value.to_owned());
    let by_header = header.is_some_and(|t| token.matches(t));
    let by_query = query.as_deref().is_some_and(|t| token.matches(t));
    let by_cookie = cookie.as_deref().is_some_and(|t| token.matches(t));
    if !(by_header || by_query || by_cookie) {
        let why = if header.is_some() || query.is_some() || cookie.is_some() {
            "wrong token"
        } else {
            "no token: open the URL kvhost ui printed, or send Authorization: Bearer TOKEN"
        };
        return Err(Box::new(reply::error(hyper::StatusCode::UNAUTHORIZED, "unauthorized", why)));
    }
    Ok(Access { by_header, by_query })
}

/// Whether `host` (a `Host` header) names `addr`: its IP (any IP when it
/// listens on all of them) or `localhost`, with its port. Any other name may
/// be a rebinding attacker's domain that resolves here.
fn host_is_served(host: &str, addr: SocketAddr) -> bool {
    let Some((name, port)) = host.rsplit_once(':') else { return false };
    if port.parse::<u16>().ok() != Some(addr.port()) {
        return false;
    }
    let name = name.trim_start_matches('[').trim_end_matches(']');
    match name.parse::<std::net::IpAddr>() {
        Ok(ip) => ip == addr.ip() || addr.ip().is_unspecified(),
        Err(_) => name.eq_ignore_ascii_case("localhost"),
    }
}

/// The cookie's name: one per port, so two key browsers on one machine do
/// not overwrite each other's.
fn cookie_name(addr: SocketAddr) -> String {
    format!("kvhost_ui_{}", addr.port())
}

/// The cookie that lets this browser's later reads (assets, a reload, a
/// download link) in without the token in the URL. Scripts cannot read it,
/// other sites' requests do not carry it, and writes do not accept it.
pub(super) fn cookie(token: &Token, addr: SocketAddr) -> HeaderValue {
    let cookie = format!("{}={}; HttpOnly; SameSite=Strict; Path=/", cookie_name(addr), token.as_str());
    HeaderValue::from_str(&cookie).expect("a token is URL-safe text")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_must_name_the_served_address() {
        let local: SocketAddr = "127.0.0.1:8081".parse().unwrap();
        assert!(host_is_served("127.0.0.1:8081", local));
        assert!(host_is_served("localhost:8081", local));
        assert!(!host_is_served("127.0.0.1:8082", local));
        assert!(!host_is_served("evil.example:8081", local));
        assert!(!host_is_served("127.0.0.1", local));
        let any: SocketAddr = "0.0.0.0:8081".parse().unwrap();
        assert!(host_is_served("192.0.2.7:8081", any));
        assert!(host_is_served("localhost:8081", any));
        assert!(!host_is_served("rebound.example:8081", any));
        let v6: SocketAddr = "[::1]:9000".parse().unwrap();
        assert!(host_is_served("[::1]:9000", v6));
    }

    #[test]
    fn tokens_match_only_themselves() {
        let token = Token::new("s3cret").unwrap();
        assert!(token.matches("s3cret"));
        assert!(!token.matches("s3cre"));
        assert!(!token.matches(""));
        assert!(Token::new("a b").is_err());
        assert_eq!(Token::random().unwrap().as_str().len(), 32);
    }
}
