//! Faults between kvhost and its database, made by a real TCP proxy
//! (support/proxy.rs) in front of this machine's PostgreSQL, MariaDB and
//! Redis: a server that stops answering (every byte held, every socket open)
//! makes an operation fail with `unavailable` naming the store and
//! `query_timeout` instead of hanging; connections cut mid-stream lose no
//! acknowledged write; 50 ms of latency changes no result; and each time the
//! store recovers by itself, without being reopened.
//!
//! No assertion here is on time, except a generous bound (20 s, forty times
//! the 500 ms `query_timeout`) that tells a hang from an answer.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use kvhost::guest::GuestLimits;
use kvhost::{Catalog, Error, KvCtx, Limits};
use kvhost_tests::proxied::{Proxied, Server};
use kvhost_tests::run_rust_guest;

const QUERY_TIMEOUT: Duration = Duration::from_millis(500);
/// Longer than any answer can take: past it, the operation hung.
const HANG: Duration = Duration::from_secs(20);

fn proxied(server: Server) -> Proxied {
    Proxied::new(server, QUERY_TIMEOUT)
}

/// `op` fails with `unavailable`, and returns before [`HANG`].
#[track_caller]
fn unavailable<T: std::fmt::Debug>(what: &str, op: impl FnOnce() -> kvhost::Result<T>) -> String {
    let start = Instant::now();
    let result = op();
    assert!(start.elapsed() < HANG, "{what} hung for {:?}", start.elapsed());
    match result {
        Err(e @ Error::Unavailable(_)) => e.to_string(),
        other => panic!("{what}: expected unavailable, got {other:?}"),
    }
}

/// `op` succeeds within a few attempts, each of which either succeeds or is
/// `unavailable` (a connection found dead on first use after a cut).
#[track_caller]
fn recovers<T>(what: &str, mut op: impl FnMut() -> kvhost::Result<T>) -> T {
    for _ in 0..10 {
        match op() {
            Ok(v) => return v,
            Err(Error::Unavailable(_)) => continue,
            Err(e) => panic!("{what}: {e}"),
        }
    }
    panic!("{what}: still unavailable after 10 attempts once the server answers again")
}

fn frozen_server_is_unavailable_within_query_timeout_then_recovers(server: Server) {
    let p = proxied(server);
    p.store.set("k", b"before", None).unwrap();
    p.proxy.freeze();
    let message = unavailable("get on a frozen server", || p.store.get("k"));
    assert!(
        message.contains("app:kv: no answer from database app:") && message.contains("within 500ms (query_timeout)"),
        "names the store, its database and the timeout: {message}"
    );
    unavailable("set on a frozen server", || p.store.set("k", b"lost?", None));
    unavailable("increment on a frozen server", || p.store.increment("n", 1));
    p.proxy.pass();
    // The same store, not reopened: the abandoned connections were dropped.
    p.store.set("k", b"after", None).expect("a write once the server answers again");
    assert_eq!(p.store.get("k").unwrap().as_deref(), Some(&b"after"[..]));
    assert!(p.store.increment("n", 1).unwrap() >= 1);
}

fn cut_connections_are_unavailable_then_recover(server: Server) {
    let p = proxied(server);
    p.store.set("k", b"before", None).unwrap();
    p.proxy.cut();
    unavailable("get while every connection is cut", || p.store.get("k"));
    unavailable("set while every connection is cut", || p.store.set("k", b"x", None));
    p.proxy.pass();
    recovers("set once connections are accepted again", || p.store.set("k", b"after", None));
    assert_eq!(p.store.get("k").unwrap().as_deref(), Some(&b"after"[..]));
}

fn acknowledged_writes_survive_connections_cut_mid_stream(server: Server) {
    let p = proxied(server);
    let acked = AtomicU64::new(0);
    let failed = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let acknowledged: Vec<u64> = std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut ok = Vec::new();
            let mut i = 0u64;
            while !stop.load(Ordering::Acquire) {
                let start = Instant::now();
                match p.store.set(&format!("w{i}"), i.to_string().as_bytes(), None) {
                    Ok(()) => {
                        ok.push(i);
                        acked.fetch_add(1, Ordering::Release);
                    }
                    Err(Error::Unavailable(_)) => {
                        failed.fetch_add(1, Ordering::Release);
                    }
                    Err(e) => panic!("write {i}: {e}"),
                }
                assert!(start.elapsed() < HANG, "write {i} hung");
                i += 1;
            }
            ok
        });
        let wait_until = |what: &str, done: &dyn Fn() -> bool| {
            let start = Instant::now();
            while !done() {
                assert!(start.elapsed() < HANG, "waited too long for {what}");
                std::thread::yield_now();
            }
        };
        wait_until("the first writes", &|| acked.load(Ordering::Acquire) >= 50);
        p.proxy.cut();
        wait_until("a write to fail", &|| failed.load(Ordering::Acquire) >= 1);
        p.proxy.pass();
        let before = acked.load(Ordering::Acquire);
        wait_until("writes to succeed again", &|| acked.load(Ordering::Acquire) >= before + 50);
        stop.store(true, Ordering::Release);
        writer.join().unwrap()
    });
    for i in acknowledged {
        assert_eq!(p.store.get(&format!("w{i}")).unwrap(), Some(i.to_string().into_bytes()), "acknowledged write {i}");
    }
}

fn latency_of_50ms_changes_no_result(server: Server) {
    // A new connection takes several round trips, a transaction four: more
    // than 500 ms at 100 ms each.
    let p = Proxied::new(server, Duration::from_secs(10));
    p.proxy.delay(Duration::from_millis(50));
    p.store.set("k", b"v", None).unwrap();
    assert_eq!(p.store.get("k").unwrap().as_deref(), Some(&b"v"[..]));
    assert_eq!(p.store.increment("n", 2).unwrap(), 2);
    assert_eq!(p.store.increment("n", 3).unwrap(), 5);
    assert!(p.store.delete("k").unwrap());
    assert_eq!(p.store.get("k").unwrap(), None);
}

macro_rules! each_server {
    ($($server:ident => $kind:expr),* $(,)?) => {$(
        mod $server {
            use super::*;
            #[test]
            fn frozen_server_is_unavailable_within_query_timeout_then_recovers() {
                super::frozen_server_is_unavailable_within_query_timeout_then_recovers($kind);
            }
            #[test]
            fn cut_connections_are_unavailable_then_recover() {
                super::cut_connections_are_unavailable_then_recover($kind);
            }
            #[test]
            fn acknowledged_writes_survive_connections_cut_mid_stream() {
                super::acknowledged_writes_survive_connections_cut_mid_stream($kind);
            }
            #[test]
            fn latency_of_50ms_changes_no_result() {
                super::latency_of_50ms_changes_no_result($kind);
            }
        }
    )*};
}

each_server! {
    postgres => Server::Postgres,
    mariadb => Server::Mariadb,
    redis => Server::Redis,
}

#[test]
fn a_guest_get_on_a_frozen_postgres_is_unavailable_not_a_trap() {
    let p = proxied(Server::Postgres);
    p.store.set("k", b"v", None).unwrap();
    let catalog = Catalog::new();
    catalog.insert(p.store.0.clone(), Limits::default());
    let kv = KvCtx::builder(catalog).default_store("app:kv").build();
    // Built and compiled before the clock starts.
    let warm = run_rust_guest(kv.clone(), &["get", "k"], GuestLimits::default()).unwrap();
    assert_eq!(String::from_utf8_lossy(&warm.stdout).trim(), "v");
    p.proxy.freeze();
    let start = Instant::now();
    let out = run_rust_guest(kv, &["get", "k"], GuestLimits::default()).expect("the guest ran");
    assert!(start.elapsed() < HANG, "the guest hung");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.exit_code, 0, "the guest reported the failure");
    assert!(
        stderr.contains("get: unavailable")
            && stderr.contains("app:kv: no answer from database app:db (db.sql.postgres) within 500ms (query_timeout)"),
        "the guest saw unavailable, not a trap: {stderr}"
    );
}
