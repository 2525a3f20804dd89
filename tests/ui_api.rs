//! The key browser's API without a browser: every refusal (no token, wrong
//! token, wrong Host, read-only, a write with the token only in a cookie),
//! and what the page relies on (listing by cursor, values, TTL, writes,
//! clearing by prefix, the change stream), against a real `kvhost ui`.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use kvhost::Wait as _;
use kvhost_tests::ui::{MEMORY, REDIS, SQLITE, Stores, TOKEN, Ui};
use serde_json::Value;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

struct Reply {
    status: u16,
    headers: ureq::http::HeaderMap,
    /// The body as text (lossy: a download may be any bytes).
    body: String,
    bytes: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

fn send(request: ureq::RequestBuilder<ureq::typestate::WithoutBody>) -> Reply {
    reply(request.call())
}

fn reply(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    let mut response = result.unwrap_or_else(|e| panic!("HTTP request failed: {e}"));
    let bytes = response.body_mut().with_config().limit(16 << 20).read_to_vec().unwrap();
    let body = String::from_utf8_lossy(&bytes).into_owned();
    Reply { status: response.status().as_u16(), headers: response.headers().clone(), body, bytes }
}

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

fn get(ui: &Ui, path: &str) -> Reply {
    send(agent().get(format!("{}{path}", ui.url)).header("Authorization", bearer()))
}

fn put(ui: &Ui, path: &str, body: &[u8]) -> Reply {
    reply(agent().put(format!("{}{path}", ui.url)).header("Authorization", bearer()).send(body))
}

/// Percent-encoded, every byte but letters and digits.
fn pct(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

fn key_path(store: &str, key: &str) -> String {
    format!("/api/stores/{}/keys/{}", pct(store), pct(key))
}

#[test]
fn requests_without_the_token_are_refused_with_401() {
    let stores = Stores::start();
    let ui = Ui::start(&stores, &[]);
    for path in ["/", "/app.js", "/api/stores", &format!("/api/stores/{SQLITE}/keys")] {
        let r = send(agent().get(format!("{}{path}", ui.url)));
        assert_eq!(r.status, 401, "GET {path} without a token: {}", r.body);
        assert!(r.body.contains("no token"), "{}", r.body);
    }
    let r = reply(agent().put(format!("{}{}", ui.url, key_path(SQLITE, "k"))).send("v"));
    assert_eq!(r.status, 401);
    assert_eq!(stores.bucket(SQLITE).get("k").wait().unwrap(), None);
}

#[test]
fn a_wrong_token_is_refused_with_401_wherever_it_is() {
    let stores = Stores::start();
    let ui = Ui::start(&stores, &[]);
    let url = format!("{}/api/stores", ui.url);
    let by_header = send(agent().get(&url).header("Authorization", "Bearer not-the-token"));
    assert_eq!(by_header.status, 401);
    assert!(by_header.body.contains("wrong token"), "{}", by_header.body);
    assert_eq!(send(agent().get(format!("{url}?token=not-the-token"))).status, 401);
    assert_eq!(send(agent().get(format!("{url}?token={TOKEN}x"))).status, 401, "a longer token is wrong too");
    assert_eq!(send(agent().get(&url).header("Authorization", format!("Basic {TOKEN}"))).status, 401);
    assert_eq!(send(agent().get(&url).header("Authorization", bearer())).status, 200);
    assert_eq!(send(agent().get(format!("{url}?token={TOKEN}"))).status, 200);
}

#[test]
fn a_host_header_that_is_not_the_served_address_is_refused() {
    let stores = Stores::start();
    let ui = Ui::start(&stores, &[]);
    let port = ui.authority().rsplit_once(':').unwrap().1.to_owned();
    let request = |host: &str| {
        format!(
            "GET /api/stores HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n"
        )
    };
    // A DNS-rebinding page: the attacker's name, resolving to 127.0.0.1.
    let (head, body) = ui.raw(&request(&format!("rebind.attacker.example:{port}")));
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
    assert!(body.contains("not the address this key browser serves"), "{body}");
    let (head, _) = ui.raw(&request("127.0.0.1:1"));
    assert!(head.starts_with("HTTP/1.1 403"), "another port: {head}");
    let (head, _) = ui.raw(&request(ui.authority()));
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let (head, _) = ui.raw(&request(&format!("localhost:{port}")));
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
}

#[test]
fn read_only_refuses_every_write_with_403_and_still_reads() {
    let stores = Stores::start();
    stores.bucket(SQLITE).set("kept", b"v", None).wait().unwrap();
    let ui = Ui::start(&stores, &["--read-only"]);
    let r = put(&ui, &key_path(SQLITE, "new"), b"v");
    assert_eq!((r.status, r.json()["error"].as_str()), (403, Some("read-only")), "{}", r.body);
    let r = send(agent().delete(format!("{}{}", ui.url, key_path(SQLITE, "kept"))).header("Authorization", bearer()));
    assert_eq!(r.status, 403);
    let r = reply(
        agent().post(format!("{}/api/stores/{SQLITE}/clear", ui.url)).header("Authorization", bearer()).send_empty(),
    );
    assert_eq!(r.status, 403);
    assert_eq!(get(&ui, "/api/stores").json()["read_only"], true);
    assert_eq!(get(&ui, &key_path(SQLITE, "kept")).status, 200);
    let sqlite = stores.bucket(SQLITE);
    assert_eq!(sqlite.get("kept").wait().unwrap().as_deref(), Some(&b"v"[..]));
    assert_eq!(sqlite.get("new").wait().unwrap(), None);
}

#[test]
fn writes_with_the_token_only_in_a_cookie_or_the_query_are_refused() {
    let stores = Stores::start();
    let ui = Ui::start(&stores, &[]);
    // The page's first load sets the cookie; it lets reads in.
    let page = send(agent().get(format!("{}/?token={TOKEN}", ui.url)));
    assert_eq!(page.status, 200);
    let cookie = page.headers["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    assert!(page.headers["set-cookie"].to_str().unwrap().contains("HttpOnly"));
    assert!(page.headers["set-cookie"].to_str().unwrap().contains("SameSite=Strict"));
    let read = send(agent().get(format!("{}/api/stores", ui.url)).header("Cookie", &cookie));
    assert_eq!(read.status, 200, "{}", read.body);
    // A cross-site form could send the cookie: a write needs the header.
    let path = key_path(SQLITE, "forged");
    let r = reply(agent().put(format!("{}{path}", ui.url)).header("Cookie", &cookie).send("v"));
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(r.body.contains("Authorization: Bearer"), "{}", r.body);
    let r = reply(agent().put(format!("{}{path}?token={TOKEN}", ui.url)).send("v"));
    assert_eq!(r.status, 401, "the query does not do for writes either");
    assert_eq!(stores.bucket(SQLITE).get("forged").wait().unwrap(), None);
    assert_eq!(put(&ui, &path, b"v").status, 200);
}

#[test]
fn responses_carry_the_security_headers() {
    let stores = Stores::start();
    let ui = Ui::start(&stores, &[]);
    for path in ["/", "/api/stores"] {
        let r = get(&ui, path);
        let header = |name: &str| r.headers.get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        assert!(header("content-security-policy").starts_with("default-src 'self'"), "{path}");
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert_eq!(header("cache-control"), "no-store");
    }
}

#[test]
fn stores_are_listed_with_kind_durability_versioning_and_limits() {
    let stores = Stores::start();
    let ui = Ui::start(&stores, &[]);
    let listed = get(&ui, "/api/stores").json();
    let ids: Vec<&str> = listed["stores"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [REDIS, SQLITE, MEMORY]);
    let memory = &listed["stores"][2];
    assert_eq!(memory["kind"], "memory");
    assert_eq!(memory["entries"], 0, "a memory store knows its entries");
    assert_eq!(memory["durable"], false);
    assert_eq!(memory["watch"], "local");
    let redis = &listed["stores"][0];
    assert_eq!(redis["kind"], "redis");
    assert_eq!(redis["entries"], Value::Null, "not known without asking the server");
    assert_eq!(redis["watch"], "shared");
    assert_eq!(listed["stores"][1]["kind"], "sqlite");
    assert_eq!(listed["stores"][1]["limits"]["max_key_bytes"], 255);
}

#[test]
fn keys_are_listed_a_page_at_a_time_by_prefix() {
    let stores = Stores::start();
    let sqlite = stores.bucket(SQLITE);
    let entries: Vec<(String, Vec<u8>)> = (0..250).map(|i| (format!("user:{i:04}"), b"v".to_vec())).collect();
    sqlite.set_many(&entries, None).wait().unwrap();
    sqlite.set("other", b"v", None).wait().unwrap();
    let ui = Ui::start(&stores, &[]);
    let (mut seen, mut cursor, mut pages) = (Vec::new(), String::new(), 0);
    loop {
        let page = get(&ui, &format!("/api/stores/{SQLITE}/keys?prefix=user%3A&limit=100&cursor={cursor}")).json();
        seen.extend(page["keys"].as_array().unwrap().iter().map(|k| k.as_str().unwrap().to_owned()));
        pages += 1;
        match page["cursor"].as_str() {
            Some(next) => cursor = pct(next),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, entries.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>());
    assert_eq!(get(&ui, &format!("/api/stores/{SQLITE}/count?prefix=user%3A")).json()["count"], 250);
    assert_eq!(get(&ui, &format!("/api/stores/{SQLITE}/keys?limit=x")).status, 400);
    assert_eq!(get(&ui, "/api/stores/ui%3Anope/keys").status, 404);
}

#[test]
fn a_value_comes_with_its_size_version_and_ttl_and_large_ones_in_part() {
    let stores = Stores::start();
    let ui = Ui::start(&stores, &[]);
    let key = "dir/a key:\u{e9}";
    let r = put(&ui, &format!("{}?ttl=3600", key_path(SQLITE, key)), br#"{"a":1}"#);
    assert_eq!(r.status, 200, "{}", r.body);
    let sqlite = stores.bucket(SQLITE);
    assert_eq!(sqlite.get(key).wait().unwrap().as_deref(), Some(&br#"{"a":1}"#[..]));
    let value = get(&ui, &key_path(SQLITE, key)).json();
    assert_eq!(value["key"], key);
    assert_eq!(value["size"], 7);
    assert_eq!(value["utf8"], true);
    assert_eq!(value["expires"], "in");
    let ttl = value["ttl_ms"].as_u64().unwrap();
    assert!(ttl > 3_000_000 && ttl <= 3_600_000, "{ttl}");
    assert_eq!(value["version"], r.json()["version"]);
    let big = vec![0xffu8; 200_000];
    sqlite.set("big", big.clone(), None).wait().unwrap();
    let value = get(&ui, &key_path(SQLITE, "big")).json();
    assert_eq!((value["size"].as_u64(), value["truncated"].as_bool()), (Some(200_000), Some(true)));
    assert_eq!(value["utf8"], false);
    assert_eq!(value["expires"], "never");
    assert_eq!(value["preview_base64"].as_str().unwrap().len(), 65536 / 3 * 4 + 4);
    let raw = get(&ui, &format!("{}?raw=1", key_path(SQLITE, "big")));
    assert_eq!(raw.headers["content-type"], "application/octet-stream");
    assert_eq!(raw.bytes, big, "the download is the whole value");
    assert_eq!(get(&ui, &key_path(SQLITE, "missing")).status, 404);
    assert_eq!(get(&ui, "/api/stores/ui%3Afiles/keys/%zz").status, 400);
}

#[test]
fn writes_go_through_the_store_limits() {
    let stores = Stores::start();
    let ui = Ui::start(&stores, &[]);
    let r = put(&ui, &key_path(MEMORY, &"k".repeat(256)), b"v");
    assert_eq!((r.status, r.json()["error"].as_str()), (400, Some("invalid-argument")), "{}", r.body);
    let r = put(&ui, &key_path(MEMORY, "huge"), &vec![b'x'; (1 << 20) + 1]);
    assert_eq!(r.status, 413, "{}", r.body);
    assert!(r.body.contains("max_value_bytes"), "{}", r.body);
    assert_eq!(put(&ui, &format!("{}?ttl=soon", key_path(MEMORY, "k")), b"v").status, 400);
}

#[test]
fn deleting_and_clearing_by_prefix_report_what_went() {
    let stores = Stores::start();
    let redis = stores.bucket(REDIS);
    let entries: Vec<(String, Vec<u8>)> = (0..1500).map(|i| (format!("tmp:{i}"), b"v".to_vec())).collect();
    redis.set_many(&entries, None).wait().unwrap();
    redis.set("keep", b"v", None).wait().unwrap();
    let ui = Ui::start(&stores, &[]);
    let del = |key: &str| {
        send(agent().delete(format!("{}{}", ui.url, key_path(REDIS, key))).header("Authorization", bearer()))
    };
    assert_eq!(del("tmp:0").json()["deleted"], true);
    assert_eq!(del("tmp:0").json()["deleted"], false);
    let clear = |prefix: &str| {
        reply(
            agent()
                .post(format!("{}/api/stores/{REDIS}/clear?prefix={prefix}", ui.url))
                .header("Authorization", bearer())
                .send_empty(),
        )
        .json()
    };
    assert_eq!(clear("tmp%3A")["removed"], 1499);
    assert_eq!(redis.get("keep").wait().unwrap().as_deref(), Some(&b"v"[..]));
    assert_eq!(clear("")["removed"], 1);
    assert_eq!(redis.get("keep").wait().unwrap(), None);
}

#[test]
fn the_change_stream_sends_sets_and_deletes_as_they_happen() {
    let stores = Stores::start();
    let ui = Ui::start(&stores, &[]);
    let mut stream = TcpStream::connect(ui.authority()).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        stream,
        "GET /api/stores/{REDIS}/events?prefix=live%3A HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {TOKEN}\r\n\r\n",
        ui.authority()
    )
    .unwrap();
    let mut lines = BufReader::new(stream).lines().map(Result::unwrap);
    assert!(lines.next().unwrap().starts_with("HTTP/1.1 200"));
    assert!(
        lines.by_ref().take_while(|l| !l.is_empty()).any(|l| l.eq_ignore_ascii_case("content-type: text/event-stream"))
    );
    // Chunked: wait for the stream's first comment, so the watcher listens.
    assert!(lines.by_ref().any(|l| l == ": listening"));
    // Written by this process, not the key browser: Redis shares changes.
    let redis = stores.bucket(REDIS);
    redis.set("other", b"v", None).wait().unwrap();
    redis.set("live:1", b"hello", None).wait().unwrap();
    redis.delete("live:1").wait().unwrap();
    let events: Vec<String> = lines.filter(|l| l.starts_with("event:") || l.starts_with("data:")).take(4).collect();
    assert_eq!(
        events,
        ["event: set", r#"data: {"key":"live:1","size":5}"#, "event: delete", r#"data: {"key":"live:1"}"#]
    );
}

/// What the key browser holds against clients, served in this process with
/// short limits (300 ms) so that it closes what it must soon; the tests only
/// wait (at most [`BOUND`]) for it to act.
mod hostile {
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    use std::net::TcpStream;

    use kvhost::Wait as _;
    use kvhost::serve::ServeLimits;
    use kvhost_tests::served::read_to_close;

    use super::*;

    const BOUND: Duration = Duration::from_secs(30);
    const SHORT: Duration = Duration::from_millis(300);
    const LONG: Duration = Duration::from_secs(600);

    fn connect(addr: std::net::SocketAddr) -> TcpStream {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(BOUND)).unwrap();
        stream
    }

    fn request(addr: std::net::SocketAddr, path: &str) -> String {
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\n\r\n")
    }

    /// The stores listed on a kept-alive connection: the status line.
    fn list_stores(stream: &mut BufReader<TcpStream>, addr: std::net::SocketAddr) -> String {
        stream.get_mut().write_all(request(addr, "/api/stores").as_bytes()).unwrap();
        let mut status = String::new();
        stream.read_line(&mut status).unwrap();
        let mut length = 0;
        loop {
            let mut line = String::new();
            stream.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        stream.read_exact(&mut body).unwrap();
        status
    }

    #[test]
    fn a_key_browser_closes_a_connection_that_never_finishes_its_request_head() {
        let stores = Stores::start();
        let ui = stores.serve_ui(ServeLimits { header_timeout: SHORT, idle_timeout: LONG, ..Default::default() });
        let mut silent = connect(ui.addr);
        let mut half = connect(ui.addr);
        half.write_all(format!("GET /api/stores HTTP/1.1\r\nHost: {}\r\n", ui.addr).as_bytes()).unwrap();
        let mut good = BufReader::new(connect(ui.addr));
        assert!(list_stores(&mut good, ui.addr).starts_with("HTTP/1.1 200"), "a whole request is answered");
        assert_eq!(read_to_close(&mut silent), b"", "closed without an answer");
        assert_eq!(read_to_close(&mut half), b"", "closed without an answer");
        assert!(list_stores(&mut good, ui.addr).starts_with("HTTP/1.1 200"), "kept alive: no idle timeout yet");
    }

    #[test]
    fn a_key_browser_keeps_an_event_stream_open_past_the_idle_timeout() {
        let stores = Stores::start();
        let ui = stores.serve_ui(ServeLimits { header_timeout: SHORT, idle_timeout: SHORT, ..Default::default() });
        let mut events = connect(ui.addr);
        events.write_all(request(ui.addr, &format!("/api/stores/{REDIS}/events?prefix=late%3A")).as_bytes()).unwrap();
        let mut lines = BufReader::new(events).lines().map(Result::unwrap);
        assert!(lines.next().unwrap().starts_with("HTTP/1.1 200"));
        assert!(lines.by_ref().any(|l| l == ": listening"));
        // The clock: a connection that went idle after the stream began is
        // closed, so the stream has outlived the idle (and header) timeout.
        let mut idle = BufReader::new(connect(ui.addr));
        assert!(list_stores(&mut idle, ui.addr).starts_with("HTTP/1.1 200"));
        assert_eq!(read_to_close(idle.get_mut()), b"", "an idle connection is closed");
        stores.bucket(REDIS).set("late:1", b"still here", None).wait().unwrap();
        let event: Vec<String> =
            lines.by_ref().filter(|l| l.starts_with("event:") || l.starts_with("data:")).take(2).collect();
        assert_eq!(event, ["event: set", r#"data: {"key":"late:1","size":10}"#], "the stream is still served");
    }

    #[test]
    fn shutting_down_a_key_browser_ends_its_event_streams() {
        let stores = Stores::start();
        let mut ui = stores.serve_ui(ServeLimits::default());
        let mut events = connect(ui.addr);
        events.write_all(request(ui.addr, &format!("/api/stores/{REDIS}/events")).as_bytes()).unwrap();
        let mut events = BufReader::new(events);
        let mut line = String::new();
        while line != ": listening\n" {
            line.clear();
            events.read_line(&mut line).unwrap();
        }
        assert!(ui.shut_down(BOUND), "serve returned");
        let rest = String::from_utf8(read_to_close(events.get_mut())).unwrap();
        assert!(rest.ends_with("0\r\n\r\n"), "the stream ended with its last chunk: {rest:?}");
    }
}
