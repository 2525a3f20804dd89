//! `kvhost serve` end to end: real HTTP requests to the HTTP guest
//! (`guest-examples/rust-http`), its state in memory, SQLite, PostgreSQL
//! and Redis stores.

use std::thread;

use kvhost_tests::served::{Served, http_guest, postgres, redis, sqlite};
use kvhost_tests::{kvhost, rust_guest, text};

/// 8 clients × 25 requests to `/counter` at once: every answer is distinct
/// and the counter ends at exactly 200 more than it started.
fn counter_counts_every_concurrent_request(served: &Served, start: u64) {
    counter_counts(served, start, 8, 25);
}

/// `clients` clients × `each` requests to `/counter` at once: every answer
/// is distinct and the counter ends at exactly that many more than it started.
fn counter_counts(served: &Served, start: u64, clients: u64, each: u64) {
    let answers: Vec<u64> = thread::scope(|s| {
        let clients: Vec<_> = (0..clients)
            .map(|_| {
                s.spawn(|| {
                    (0..each)
                        .map(|_| {
                            let r = served.get("/counter");
                            assert_eq!(r.status, 200, "{r:?}");
                            r.body.trim().parse::<u64>().unwrap()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        clients.into_iter().flat_map(|c| c.join().unwrap()).collect()
    });
    let mut sorted = answers.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (start + 1..=start + clients * each).collect::<Vec<_>>(), "each request counted once");
}

/// The counter over one store: 200 concurrent requests, then a new server on
/// the same registry carries on where the first stopped.
fn state_is_shared_by_requests_and_outlives_the_server(config: String) {
    let guest = http_guest();
    let args = ["--config", &config, "--default-store", "app:kv"];
    let served = Served::start(&args, &guest);
    counter_counts_every_concurrent_request(&served, 0);
    assert_eq!(served.put("/kv/greeting", "hello").status, 204);
    let (status, log) = served.stop();
    assert!(status.success(), "kvhost serve stopped with {status}:\n{log}");

    let served = Served::start(&args, &guest);
    assert_eq!(served.get("/counter").body.trim(), "201", "a new server sees the state the first left");
    assert_eq!(served.get("/kv/greeting").body, "hello");
}

#[test]
fn state_on_sqlite_is_shared_by_requests_and_outlives_the_server() {
    let dir = tempfile::tempdir().unwrap();
    state_is_shared_by_requests_and_outlives_the_server(sqlite(dir.path()));
}

#[test]
fn state_on_postgres_is_shared_by_requests_and_outlives_the_server() {
    let dir = tempfile::tempdir().unwrap();
    state_is_shared_by_requests_and_outlives_the_server(postgres(dir.path()));
}

#[test]
fn state_on_redis_is_shared_by_requests_and_outlives_the_server() {
    let dir = tempfile::tempdir().unwrap();
    state_is_shared_by_requests_and_outlives_the_server(redis(dir.path()));
}

#[test]
fn without_config_the_memory_store_lives_as_long_as_the_server() {
    let served = Served::start(&["--kv", "seeded=yes"], &http_guest());
    counter_counts_every_concurrent_request(&served, 0);
    counter_counts_every_concurrent_request(&served, 200);
    assert_eq!(served.get("/kv/seeded").body, "yes", "--kv presets the default store");
}

#[test]
fn the_json_api_sets_gets_lists_and_deletes() {
    let served = Served::start(&[], &http_guest());
    assert_eq!(served.put("/kv/user:1", "ada").status, 204);
    assert_eq!(served.put("/kv/user:2", "grace").status, 204);
    assert_eq!(served.put("/kv/team:1", "core").status, 204);
    assert_eq!(served.get("/kv/user:2").body, "grace");
    let listed = served.get("/kv?prefix=user:");
    assert_eq!((listed.status, listed.body.trim()), (200, r#"["user:1","user:2"]"#));
    assert_eq!(served.delete("/kv/user:1").status, 204);
    assert_eq!(served.get("/kv/user:1").status, 404);
    assert_eq!(served.get("/kv?prefix=user:").body.trim(), r#"["user:2"]"#);
}

#[test]
fn a_request_past_its_timeout_gets_504_while_others_are_served() {
    let served = Served::start(&["--timeout", "2s"], &http_guest());
    thread::scope(|s| {
        let spinning = s.spawn(|| served.get("/fault/spin"));
        // The spinning request holds an instance; others still get theirs.
        for n in 1..=20 {
            assert_eq!(served.get("/counter").body.trim(), n.to_string());
        }
        let r = spinning.join().unwrap();
        assert_eq!(r.status, 504, "{r:?}");
    });
    assert_eq!(served.get("/counter").status, 200, "the server carries on");
    served.wait_for_log("exceeded its time limit of 2s");
}

#[test]
fn a_trap_is_a_500_that_tells_the_client_nothing_of_it() {
    let served = Served::start(&[], &http_guest());
    let r = served.get("/fault/trap");
    assert_eq!(r.status, 500);
    assert!(!r.body.contains("trap") && !r.body.contains("panicked"), "the trap's text leaked: {r:?}");
    assert_eq!(served.get("/counter").body.trim(), "1", "the server carries on");
    let (status, log) = served.stop();
    assert!(status.success(), "{status}");
    assert!(log.contains("wasm trap"), "the log says why: {log}");
}

#[test]
fn memory_limit_fails_the_request_not_the_server() {
    // The guest's own memory is about 1 MiB: 64 KiB cannot hold it.
    let served = Served::start(&["--max-memory", "64KiB"], &http_guest());
    let r = served.get("/counter");
    assert_eq!(r.status, 500, "{r:?}");
    served.wait_for_log("max_memory");
}

#[test]
fn errors_when_the_component_is_not_an_http_handler() {
    let out = kvhost(&["serve", "--addr", "127.0.0.1:0", rust_guest().to_str().unwrap()]);
    let (_, err) = text(&out);
    assert!(!out.status.success());
    assert!(err.contains("it exports `wasi:cli/run@0.2"), "it says what the component exports: {err}");
    assert!(err.contains("not wasi:http/incoming-handler"), "{err}");
    assert!(err.contains("it is a command: run it with `kvhost run`"), "it says what to do instead: {err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

#[test]
fn errors_naming_the_address_it_cannot_listen_on() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = kvhost(&["serve", "--addr", &addr, http_guest().to_str().unwrap()]);
    let (_, err) = text(&out);
    assert!(!out.status.success());
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
}

#[test]
fn registry_http_components_on_two_addresses_share_their_stores() {
    let dir = tempfile::tempdir().unwrap();
    let guest = http_guest();
    let component = |name: &str| {
        format!(
            "  - {{name: {name}, kind: wasm.component, path: \"{}\", stores: [app:kv], default_store: app:kv, http: {{addr: \"127.0.0.1:0\"}}, limits: {{timeout: 5s}}, lifecycle: {{auto_start: true, stop_timeout: 5s}}}}\n",
            guest.display()
        )
    };
    let registry = dir.path().join("registry.yaml");
    std::fs::write(
        &registry,
        format!(
            "namespace: app\nmetrics: {{addr: \"127.0.0.1:0\"}}\nentries:\n  - {{name: kv, kind: store.memory}}\n{}{}",
            component("a"),
            component("b")
        ),
    )
    .unwrap();
    let served = Served::registry(&registry, 2);
    assert_ne!(served.urls[0], served.urls[1]);
    for n in 1..=20u64 {
        let url = &served.urls[(n % 2) as usize];
        assert_eq!(served.get_at(url, "/counter").body.trim(), n.to_string(), "one store behind both addresses");
    }
    // The registry's metrics.addr: each component's requests, and the store's.
    let text = served.scrape_metrics().body;
    for line in [
        r#"kvhost_http_requests_total{component="app:a",status="200"} 10"#,
        r#"kvhost_http_requests_total{component="app:b",status="200"} 10"#,
        r#"kvhost_store_operations_total{store="app:kv",op="increment",outcome="ok"} 20"#,
    ] {
        assert!(text.lines().any(|l| l == line), "no line {line:?} in:\n{text}");
    }
    let (status, log) = served.stop();
    assert!(status.success(), "SIGTERM stops the servers cleanly ({status}):\n{log}");
}

#[test]
fn sigterm_lets_a_request_in_flight_finish_then_stops() {
    let served = Served::start(&["--stop-timeout", "30s"], &http_guest());
    thread::scope(|s| {
        let sleeping = s.spawn(|| served.get("/sleep/1500"));
        // The guest marks the store before it waits: then it is in flight.
        let mut polls = 0;
        while served.get("/kv/sleeping:1500").status != 200 {
            polls += 1;
            assert!(polls < 100_000, "the sleeping request never started");
        }
        let pid = served.pid().to_string();
        assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let r = sleeping.join().unwrap();
        assert_eq!((r.status, r.body.trim()), (200, "slept 1500 ms"), "the request in flight was answered");
    });
    let (status, log) = served.stop();
    assert!(status.success(), "{status}:\n{log}");
    assert!(log.contains("stopping: finishing requests in flight"), "{log}");
}

#[test]
fn the_same_guest_keeps_its_counter_on_kvhost_serve_and_not_on_wasmtime_serve() {
    // The guest built on wasi:keyvalue 0.2.0-draft, which both servers implement.
    let guest = kvhost_tests::served::http_guest_draft();
    let peer = Served::wasmtime(&guest);
    let ours = Served::start(&[], &guest);
    for n in 1..=5 {
        assert_eq!(peer.get("/counter").body.trim(), "1", "wasmtime serve gives each request a fresh store");
        assert_eq!(ours.get("/counter").body.trim(), n.to_string(), "kvhost serve keeps the store");
    }
}

#[test]
fn metrics_count_store_operations_and_requests_by_status() {
    let served = Served::start(&["--metrics", "127.0.0.1:0"], &http_guest());
    for _ in 0..3 {
        assert_eq!(served.get("/counter").status, 200);
    }
    assert_eq!(served.get("/kv/absent").status, 404);
    assert_eq!(served.get("/fault/trap").status, 500);
    let metrics = served.scrape_metrics();
    assert_eq!(metrics.status, 200);
    let text = metrics.body;
    for line in [
        r#"kvhost_store_operations_total{store="default",op="increment",outcome="ok"} 3"#,
        r#"kvhost_store_operations_total{store="default",op="get",outcome="ok"} 1"#,
        r#"kvhost_store_operation_seconds_count{store="default",op="increment"} 3"#,
        r#"kvhost_store_entries{store="default"} 1"#,
        r#"kvhost_http_requests_total{component="http_kv",status="200"} 3"#,
        r#"kvhost_http_requests_total{component="http_kv",status="404"} 1"#,
        r#"kvhost_http_requests_total{component="http_kv",status="500"} 1"#,
        r#"kvhost_http_requests_in_flight{component="http_kv"} 0"#,
        r#"kvhost_http_request_seconds_count{component="http_kv"} 5"#,
    ] {
        assert!(text.lines().any(|l| l == line), "no line {line:?} in:\n{text}");
    }
}

/// The Python HTTP guest (componentize-py) on `config`'s store, or the
/// in-memory default store: counting under concurrency and the JSON API.
fn python_guest_serves(config: Option<&str>) {
    let guest = kvhost_tests::guests::guest(kvhost_tests::guests::Lang::PythonHttp);
    let args: Vec<&str> = match config {
        Some(config) => vec!["--config", config, "--default-store", "app:kv"],
        None => Vec::new(),
    };
    let served = Served::start(&args, &guest);
    counter_counts(&served, 0, 4, 5);
    assert_eq!(served.put("/kv/user:1", "ada").status, 204);
    assert_eq!(served.put("/kv/team:1", "core").status, 204);
    assert_eq!(served.get("/kv/user:1").body, "ada");
    assert_eq!(served.get("/kv?prefix=user:").body.trim(), r#"["user:1"]"#);
    assert_eq!(served.delete("/kv/user:1").status, 204);
    assert_eq!(served.get("/kv/user:1").status, 404);
}

#[test]
fn python_http_guest_keeps_state_on_memory_and_sqlite() {
    python_guest_serves(None);
    let dir = tempfile::tempdir().unwrap();
    python_guest_serves(Some(&sqlite(dir.path())));
}

#[test]
fn python_http_guest_keeps_state_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    python_guest_serves(Some(&postgres(dir.path())));
}
