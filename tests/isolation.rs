//! Grants and limits, seen from a real guest: a prefix or read-only grant is
//! enforced on every operation (lists and batches too) as access-denied, and
//! every store limit is an error that names it.

use std::sync::Arc;
use std::time::Duration;

use kvhost::guest::GuestLimits;
use kvhost::memory::MemoryStore;
use kvhost::{Catalog, Condition, Grant, KvCtx, Limits, Op, Store, StoreInfo, Versioned, Wait};
use kvhost_tests::blocking::Blocking;
use kvhost_tests::{kvhost, run_rust_guest, rust_guest, spawn_guest, stdout_ok, text};

/// A memory store `app:kv` holding `user:1`, `user:2` and `admin:1`.
fn seeded(limits: Limits) -> (Catalog, Blocking) {
    let store = Blocking(Arc::new(MemoryStore::builder("app:kv").build()));
    for k in ["user:1", "user:2", "admin:1"] {
        store.set(k, b"seed", None).unwrap();
    }
    let stores = Catalog::new();
    stores.insert(store.0.clone(), limits);
    (stores, store)
}

fn run(stores: &Catalog, grant: Grant, args: &[&str]) -> String {
    let kv = KvCtx::builder(stores.clone()).grant(grant).default_store("app:kv").build();
    stdout_ok(&run_rust_guest(kv, args, GuestLimits::default()).unwrap())
}

/// The lines of a `probe` run, as (operation, outcome).
fn probe(stores: &Catalog, grant: Grant, key: &str) -> Vec<(String, String)> {
    run(stores, grant, &["probe", key])
        .lines()
        .map(|l| {
            let (op, outcome) = l.split_once(": ").unwrap_or_else(|| panic!("bad probe line {l:?}"));
            (op.to_owned(), outcome.to_owned())
        })
        .collect()
}

#[test]
fn errors_with_access_denied_on_every_operation_outside_a_prefix_grant() {
    let (stores, store) = seeded(Limits::default());
    let lines = probe(&stores, Grant::new("app:kv").prefix("user:"), "admin:1");
    assert_eq!(lines.len(), 12, "{lines:?}");
    for (op, outcome) in &lines {
        match op.as_str() {
            // A prefix outside the grant lists nothing rather than failing.
            "list-keys" => assert_eq!(outcome, "0 keys"),
            _ => assert_eq!(outcome, "access-denied", "{op}"),
        }
    }
    assert_eq!(store.get("admin:1").unwrap().as_deref(), Some(&b"seed"[..]), "untouched");
    assert!(!store.exists("admin:1#n").unwrap());
}

#[test]
fn prefix_grant_allows_every_operation_inside_it_except_clear() {
    let (stores, store) = seeded(Limits::default());
    let lines = probe(&stores, Grant::new("app:kv").prefix("user:"), "user:1");
    for (op, outcome) in &lines {
        match op.as_str() {
            "clear" => assert_eq!(outcome, "access-denied"),
            "list-keys" => assert_eq!(outcome, "1 keys"),
            _ => assert_eq!(outcome, "ok", "{op}"),
        }
    }
    assert_eq!(store.list("", None, 10).unwrap(), ["admin:1", "user:1#n", "user:2"], "clear was refused");
}

#[test]
fn lists_only_the_keys_a_prefix_grant_covers() {
    let (stores, _) = seeded(Limits::default());
    let out = run(&stores, Grant::new("app:kv").prefix("user:"), &["list", ""]);
    assert_eq!(out, "user:1\nuser:2\npages 1\n");
}

#[test]
fn read_only_grant_serves_reads_and_denies_every_write() {
    let (stores, store) = seeded(Limits::default());
    let lines = probe(&stores, Grant::new("app:kv").read_only(), "user:1");
    for (op, outcome) in &lines {
        match op.as_str() {
            "get" | "exists" | "get-entry" | "get-many" => assert_eq!(outcome, "ok", "{op}"),
            "list-keys" => assert_eq!(outcome, "1 keys"),
            _ => assert_eq!(outcome, "access-denied", "{op}"),
        }
    }
    assert_eq!(store.list("", None, 10).unwrap(), ["admin:1", "user:1", "user:2"]);
}

#[test]
fn registry_grants_reach_the_guest() {
    let dir = tempfile::tempdir().unwrap();
    let reg = dir.path().join("registry.yaml");
    let guest = rust_guest();
    std::fs::write(
        &reg,
        format!(
            "namespace: app\nentries:\n  - {{name: kv, kind: store.memory}}\n  - name: reader\n    kind: wasm.component\n    path: {}\n    stores: [{{id: app:kv, prefix: \"user:\", access: read}}]\n    default_store: app:kv\n    args: [probe, \"user:1\"]\n    lifecycle: {{auto_start: true}}\n",
            guest.display()
        ),
    )
    .unwrap();
    let out = kvhost(&["run", "--config", reg.to_str().unwrap()]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("get: ok\n") && stdout.contains("set: access-denied\n"), "{stdout}");
    assert!(stdout.contains("clear: access-denied\n"), "{stdout}");
}

#[test]
fn list_pages_end_early_at_max_result_bytes_and_lose_nothing() {
    let limits = Limits { max_result_bytes: 300, ..Limits::default() };
    let (stores, store) = seeded(limits);
    let keys: Vec<String> = (0..10).map(|i| format!("big:{i}{}", "x".repeat(94))).collect();
    for k in &keys {
        store.set(k, b"v", None).unwrap();
    }
    let out = run(&stores, Grant::new("app:kv"), &["list", "big:"]);
    let listed: Vec<&str> = out.lines().filter(|l| l.starts_with("big:")).collect();
    assert_eq!(listed, keys, "every key once, in order");
    // 100-byte keys, 300 bytes a page: 3 a page, so 4 pages.
    assert!(out.ends_with("pages 4\n"), "{out}");
}

#[test]
fn errors_naming_max_result_bytes_when_a_batch_is_too_large() {
    let limits = Limits { max_result_bytes: 1000, ..Limits::default() };
    let (stores, store) = seeded(limits);
    store.set("a", &[1; 600], None).unwrap();
    store.set("b", &[1; 600], None).unwrap();
    let out = run(&stores, Grant::new("app:kv"), &["get-many", "a", "b"]);
    assert!(
        out.starts_with(
            "get-many: too-large: get-many result is 1200 bytes, over this store's max_result_bytes (1000)"
        ),
        "{out}"
    );
    assert_eq!(run(&stores, Grant::new("app:kv"), &["get-many", "a"]), "get-many: 1 values, 600 bytes\n");
    let out = run(&stores, Grant::new("app:kv"), &["set-many", "s", "4", "300"]);
    assert!(
        out.contains("too-large: set-many request is 1208 bytes, over this store's max_result_bytes (1000)"),
        "{out}"
    );
    assert!(!store.exists("s0").unwrap(), "a refused batch writes nothing");
}

#[test]
fn errors_naming_max_value_bytes_and_max_key_bytes() {
    let limits = Limits { max_value_bytes: 10, max_key_bytes: 8, ..Limits::default() };
    let (stores, _) = seeded(limits);
    let kv = KvCtx::builder(stores).default_store("app:kv").build();
    let out = run_rust_guest(kv.clone(), &["set", "k", "12345678901"], GuestLimits::default()).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("too-large: value is 11 bytes, over this store's max_value_bytes (10)"), "{stderr}");
    let out = run_rust_guest(kv, &["set", "123456789", "v"], GuestLimits::default()).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("invalid-argument: key is 9 bytes, over this store's max_key_bytes (8)"), "{stderr}");
}

/// A memory store whose `get("slow")` waits until the test releases it: one
/// operation held in flight, deterministically.
struct Held {
    inner: MemoryStore,
    entered: tokio::sync::Notify,
    release: tokio::sync::Semaphore,
}

impl Store for Held {
    fn info(&self) -> &StoreInfo {
        self.inner.info()
    }
    fn get<'a>(&'a self, key: &'a str) -> Op<'a, Option<Vec<u8>>> {
        if key != "slow" {
            return self.inner.get(key);
        }
        Op::pending(async move {
            self.entered.notify_one();
            self.release.acquire().await.expect("open").forget();
            self.inner.get(key).await
        })
    }
    fn set<'a>(&'a self, k: &'a str, v: Vec<u8>, ttl: Option<Duration>) -> Op<'a, ()> {
        self.inner.set(k, v, ttl)
    }
    fn delete<'a>(&'a self, k: &'a str) -> Op<'a, bool> {
        self.inner.delete(k)
    }
    fn exists<'a>(&'a self, k: &'a str) -> Op<'a, bool> {
        self.inner.exists(k)
    }
    fn clear(&self) -> Op<'_, ()> {
        self.inner.clear()
    }
    fn remove_expired(&self) -> Op<'_, u64> {
        self.inner.remove_expired()
    }
    fn list<'a>(&'a self, p: &'a str, a: Option<&'a str>, l: usize) -> Op<'a, Vec<String>> {
        self.inner.list(p, a, l)
    }
    fn get_entry<'a>(&'a self, k: &'a str) -> Op<'a, Option<Versioned>> {
        self.inner.get_entry(k)
    }
    fn put<'a>(&'a self, k: &'a str, v: Vec<u8>, ttl: Option<Duration>, c: Condition) -> Op<'a, u64> {
        self.inner.put(k, v, ttl, c)
    }
    fn increment<'a>(&'a self, k: &'a str, d: i64) -> Op<'a, i64> {
        self.inner.increment(k, d)
    }
    fn get_many<'a>(&'a self, keys: &'a [String]) -> Op<'a, Vec<Option<Vec<u8>>>> {
        self.inner.get_many(keys)
    }
    fn set_many<'a>(&'a self, entries: &'a [(String, Vec<u8>)], ttl: Option<Duration>) -> Op<'a, ()> {
        self.inner.set_many(entries, ttl)
    }
    fn delete_many<'a>(&'a self, keys: &'a [String]) -> Op<'a, u64> {
        self.inner.delete_many(keys)
    }
}

/// A `Held` store `app:kv` with `max_concurrency` 1 and this wait, granted
/// as the default store.
fn held_store(wait: Duration) -> (Arc<Held>, Catalog, KvCtx) {
    let held = Arc::new(Held {
        inner: MemoryStore::builder("app:kv").build(),
        entered: tokio::sync::Notify::new(),
        release: tokio::sync::Semaphore::new(0),
    });
    let catalog = Catalog::new();
    catalog.insert(held.clone(), Limits { max_concurrency: 1, max_concurrency_wait: wait, ..Limits::default() });
    let kv = KvCtx::builder(catalog.clone()).default_store("app:kv").build();
    (held, catalog, kv)
}

#[test]
fn waits_for_a_permit_then_errors_naming_max_concurrency_when_a_store_has_too_many_operations_in_flight() {
    let (held, _, kv) = held_store(Duration::from_millis(100));
    let rt = kvhost_tests::rt();
    // One guest holds the store's only permit...
    let first = spawn_guest(&rust_guest(), kv.clone(), &["get", "slow"], GuestLimits::default());
    rt.block_on(held.entered.notified());
    // ...so another guest's call waits for it, then is refused, naming the limit.
    let out = run_rust_guest(kv.clone(), &["exists", "k"], GuestLimits::default()).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.exit_code, 1);
    assert!(
        stderr.contains("unavailable: store app:kv already has 1 operations in flight, its max_concurrency, and none finished within 100ms (max_concurrency_wait)"),
        "{stderr}"
    );
    held.release.add_permits(1);
    assert_eq!(stdout_ok(&rt.block_on(first).unwrap().unwrap()), "(none)\n");
    // The permit is free again.
    assert_eq!(stdout_ok(&run_rust_guest(kv, &["exists", "k"], GuestLimits::default()).unwrap()), "false\n");
}

#[test]
fn an_operation_over_max_concurrency_gets_a_permit_freed_while_it_waits() {
    let (held, catalog, kv) = held_store(Duration::from_secs(60));
    let rt = kvhost_tests::rt();
    let guest = rust_guest();
    let first = spawn_guest(&guest, kv.clone(), &["get", "slow"], GuestLimits::default());
    rt.block_on(held.entered.notified());
    let second = spawn_guest(&guest, kv, &["set", "k", "v"], GuestLimits::default());
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while catalog.waiting("app:kv") != Some(1) {
        assert!(std::time::Instant::now() < deadline, "the second guest never waited for the permit");
        std::thread::yield_now();
    }
    assert!(!held.inner.exists("k").wait().unwrap(), "the second guest waits");
    held.release.add_permits(1);
    stdout_ok(&rt.block_on(first).unwrap().unwrap());
    stdout_ok(&rt.block_on(second).unwrap().unwrap());
    assert!(held.inner.exists("k").wait().unwrap(), "the waiting write went through");
}
