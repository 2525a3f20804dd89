//! `kvhost serve` against hostile clients, over real sockets: heads that
//! never end, connections that idle, floods beyond the connection cap,
//! bodies and heads too large, guests too slow, a process out of file
//! descriptors; good requests are answered throughout.
//!
//! The limits are set short (300 ms) so that the server closes what it must
//! soon; the tests never time the server, they only wait (at most
//! [`BOUND`]) for it to act.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::Duration;

use kvhost_tests::served::{Served, http_guest, read_to_close};

/// The longest a test waits for the server to answer or close: far beyond
/// the limits it sets, and far below the limits it does not mean to hit.
const BOUND: Duration = Duration::from_secs(30);

fn connect(served: &Served) -> TcpStream {
    let stream = TcpStream::connect(served.addr()).unwrap();
    stream.set_read_timeout(Some(BOUND)).unwrap();
    stream
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").into_bytes()
}

/// One line, CRLF and all, byte by byte (nothing past it is consumed).
fn read_line(stream: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut byte = [0; 1];
    while !got.ends_with(b"\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => got.push(byte[0]),
            other => panic!("the response stopped mid-line ({other:?}): {}", String::from_utf8_lossy(&got)),
        }
    }
    String::from_utf8(got).unwrap()
}

/// One response: its status and body, whether the body has a
/// Content-Length (the server's own answers), is chunked (the guest's),
/// runs to the end of the connection, or is absent (204).
fn response(stream: &mut TcpStream) -> (u16, String) {
    let status_line = read_line(stream);
    let status = status_line.split_whitespace().nth(1).and_then(|s| s.parse().ok());
    let status = status.unwrap_or_else(|| panic!("not a status line: {status_line:?}"));
    let (mut length, mut chunked) = (None, false);
    loop {
        let line = read_line(stream).to_ascii_lowercase();
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.strip_prefix("content-length:") {
            length = Some(v.trim().parse::<usize>().unwrap());
        }
        chunked |= line.starts_with("transfer-encoding:") && line.contains("chunked");
    }
    let mut body = Vec::new();
    if status == 204 || status == 304 {
        // No body, whatever the headers say.
    } else if chunked {
        loop {
            let size = usize::from_str_radix(read_line(stream).trim(), 16).unwrap();
            let mut chunk = vec![0; size + 2];
            stream.read_exact(&mut chunk).unwrap();
            body.extend_from_slice(&chunk[..size]);
            if size == 0 {
                break;
            }
        }
    } else if let Some(length) = length {
        body.resize(length, 0);
        stream.read_exact(&mut body).unwrap();
    } else {
        body = read_to_close(stream);
    }
    (status, String::from_utf8(body).unwrap())
}

#[test]
fn heads_that_never_end_are_disconnected_while_good_requests_are_served() {
    let served = Served::start(&["--header-timeout", "300ms"], &http_guest());
    // Half of them send half a head, the others nothing at all.
    let mut slow: Vec<TcpStream> = (0..50)
        .map(|i| {
            let mut s = connect(&served);
            if i % 2 == 0 {
                s.write_all(b"GET /counter HTTP/1.1\r\nHost: x\r\n").unwrap();
            }
            s
        })
        .collect();
    for n in 1..=20 {
        assert_eq!(served.get("/counter").body.trim(), n.to_string(), "a good request among slow heads");
    }
    for s in &mut slow {
        assert_eq!(read_to_close(s), b"", "closed without an answer");
    }
    assert_eq!(served.get("/counter").body.trim(), "21", "no slow head ever reached the guest");
}

#[test]
fn a_kept_alive_connection_is_closed_after_the_idle_timeout_not_the_header_timeout() {
    // The header timeout is far beyond BOUND: only the idle timeout can
    // close this connection in time.
    let served = Served::start(&["--idle-timeout", "300ms", "--header-timeout", "10m"], &http_guest());
    let mut s = connect(&served);
    for n in 1..=3 {
        s.write_all(&get("/counter")).unwrap();
        assert_eq!(response(&mut s), (200, format!("{n}\n")), "the connection is kept alive between requests");
    }
    assert_eq!(read_to_close(&mut s), b"", "closed once idle, without a word");
    assert_eq!(served.get("/counter").body.trim(), "4");
}

#[test]
fn connections_beyond_max_connections_wait_in_the_backlog_until_others_close() {
    let served = Served::start(&["--max-connections", "3"], &http_guest());
    let held: Vec<TcpStream> = (1..=3)
        .map(|n| {
            let mut s = connect(&served);
            s.write_all(&get("/counter")).unwrap();
            assert_eq!(response(&mut s), (200, format!("{n}\n")));
            s
        })
        .collect();
    // Five more connect (the kernel's backlog takes them) and ask.
    let close = b"GET /counter HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let mut waiting: Vec<TcpStream> = (0..5)
        .map(|_| {
            let mut s = connect(&served);
            s.write_all(close).unwrap();
            s
        })
        .collect();
    waiting[0].set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let unserved = waiting[0].read(&mut [0; 1]);
    assert!(
        matches!(&unserved, Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)),
        "served beyond --max-connections 3: {unserved:?}"
    );
    waiting[0].set_read_timeout(Some(BOUND)).unwrap();
    drop(held);
    let mut answers: Vec<u64> = waiting
        .iter_mut()
        .map(|s| {
            let (status, body) = response(s);
            assert_eq!(status, 200, "{body}");
            body.trim().parse().unwrap()
        })
        .collect();
    answers.sort_unstable();
    assert_eq!(answers, [4, 5, 6, 7, 8], "each waiting connection was served once the others closed");
}

#[test]
fn a_declared_body_over_max_body_is_413_and_the_guest_never_runs() {
    let served = Served::start(&["--max-body", "1KiB"], &http_guest());
    let mut s = connect(&served);
    s.write_all(b"GET /counter HTTP/1.1\r\nHost: x\r\nContent-Length: 1025\r\n\r\n").unwrap();
    let (status, body) = response(&mut s);
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("max_body"), "{body}");
    assert_eq!(read_to_close(&mut s), b"", "the body is not read: the connection closes");
    assert_eq!(served.get("/counter").body.trim(), "1", "the guest never ran for the refused request");
    let at_max = "x".repeat(1024);
    assert_eq!(served.put("/kv/big", &at_max).status, 204, "a body of exactly max_body is fine");
    assert_eq!(served.get("/kv/big").body, at_max);
}

#[test]
fn a_chunked_body_growing_past_max_body_is_413_and_nothing_is_stored() {
    let served = Served::start(&["--max-body", "1KiB"], &http_guest());
    let chunked = |path: &str, chunks: usize| {
        let mut request = format!("PUT {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
        for _ in 0..chunks {
            request.push_str(&format!("258\r\n{}\r\n", "x".repeat(0x258)));
        }
        request.push_str("0\r\n\r\n");
        request.into_bytes()
    };
    let mut s = connect(&served);
    s.write_all(&chunked("/kv/small", 1)).unwrap();
    assert_eq!(response(&mut s).0, 204, "600 bytes in chunks are under 1KiB");
    let mut s = connect(&served);
    s.write_all(&chunked("/kv/big", 2)).unwrap();
    let got = String::from_utf8(read_to_close(&mut s)).unwrap();
    assert!(got.starts_with("HTTP/1.1 413"), "1200 bytes in chunks: {got}");
    assert_eq!(served.get("/kv/big").status, 404, "nothing of the refused body was stored");
    assert_eq!(served.get("/kv/small").body.len(), 600);
}

#[test]
fn a_head_over_the_limit_is_431() {
    let served = Served::start(&[], &http_guest());
    let mut head = b"GET /counter HTTP/1.1\r\nHost: x\r\nX-Filler: ".to_vec();
    // Exactly the limit and never finished: the server reads all of it, so
    // it closes cleanly after answering (unread bytes would reset the
    // connection under the answer).
    head.resize(kvhost::serve::MAX_HEAD_BYTES, b'a');
    let mut s = connect(&served);
    s.write_all(&head).unwrap();
    let got = String::from_utf8(read_to_close(&mut s)).unwrap();
    assert!(got.starts_with("HTTP/1.1 431"), "{got}");
    assert_eq!(served.get("/counter").body.trim(), "1", "the server carries on");
}

#[test]
fn a_guest_slower_than_its_timeout_gets_504_while_others_are_served() {
    let served = Served::start(&["--timeout", "300ms"], &http_guest());
    thread::scope(|s| {
        let slow = s.spawn(|| served.get("/sleep/5000"));
        for n in 1..=10 {
            assert_eq!(served.get("/counter").body.trim(), n.to_string());
        }
        assert_eq!(slow.join().unwrap().status, 504);
    });
}

#[test]
fn registry_http_components_hold_the_same_limits() {
    let dir = tempfile::tempdir().unwrap();
    let registry = dir.path().join("registry.yaml");
    std::fs::write(
        &registry,
        format!(
            "namespace: app\nentries:\n  - {{name: kv, kind: store.memory}}\n  - {{name: web, kind: wasm.component, path: \"{}\", stores: [app:kv], default_store: app:kv, http: {{addr: \"127.0.0.1:0\", header_timeout: 300ms, max_body: 1KiB, max_connections: 100}}, limits: {{timeout: 300ms}}, lifecycle: {{auto_start: true}}}}\n",
            http_guest().display()
        ),
    )
    .unwrap();
    let served = Served::registry(&registry, 1);
    let mut slow = connect(&served);
    slow.write_all(b"GET /counter HTTP/1.1\r\n").unwrap();
    let mut large = connect(&served);
    large.write_all(b"PUT /kv/big HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n").unwrap();
    assert_eq!(response(&mut large).0, 413, "http.max_body");
    assert_eq!(served.get("/sleep/5000").status, 504, "limits.timeout");
    assert_eq!(read_to_close(&mut slow), b"", "http.header_timeout");
    assert_eq!(served.get("/counter").body.trim(), "1");
}

#[test]
fn out_of_file_descriptors_the_accept_loop_backs_off_says_so_and_recovers() {
    let served = Served::start_with_open_files(64, &["--max-connections", "1000"], &http_guest());
    served.wait_for_log("may open only 64 files");
    let clients: Vec<TcpStream> = (0..100).map(|_| connect(&served)).collect();
    served.wait_for_log("cannot accept a connection");
    drop(clients);
    assert_eq!(served.get("/counter").status, 200, "served again once descriptors are free");
    let log = served.log();
    assert!(log.contains("out of file descriptors"), "{log}");
    let said = log.matches("cannot accept").count();
    assert!(said <= 3, "the failure is logged at most every 10 s, not per retry ({said} times):\n{log}");
}
