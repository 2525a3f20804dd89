//! Redis stores beyond the conformance suite: what other clients see, keys
//! whose prefix is full of glob characters, two kvhost processes sharing one
//! store, and guests through `kvhost run`.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use kvhost::clock::SystemClock;
use kvhost::redis::{RedisStore, redis_version};
use kvhost_tests::backend::{connect_redis, runtime, unique_table};
use kvhost_tests::blocking::Blocking;
use kvhost_tests::{build_rust_guest, kvhost_bin, rust_guest, text};

fn raw() -> redis::Connection {
    redis::Client::open("redis://127.0.0.1:6379/0").unwrap().get_connection().unwrap()
}

/// A registry with `db.redis` `app:redis` and `store.redis` `app:cache` on
/// a prefix of this test's own, and that prefix.
fn registry(dir: &std::path::Path) -> (String, String) {
    let prefix = format!("{}:", unique_table("kvhost-redis"));
    let yaml = format!(
        "namespace: app\nentries:\n  - {{name: redis, kind: db.redis, host: 127.0.0.1, port: 6379}}\n  - {{name: cache, kind: store.redis, database: app:redis, key_prefix: \"{prefix}\"}}\n"
    );
    let file = dir.join("registry.yaml");
    std::fs::write(&file, yaml).unwrap();
    (file.display().to_string(), prefix)
}

fn clear_prefix(prefix: &str) {
    let mut con = raw();
    let keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg(format!("{prefix}*")).query(&mut con).unwrap();
    if !keys.is_empty() {
        redis::cmd("DEL").arg(keys).query::<()>(&mut con).unwrap();
    }
}

#[test]
fn values_are_plain_redis_strings_that_other_clients_read_and_redis_expires() {
    let rt = runtime();
    let db = connect_redis(&rt);
    let prefix = format!("{}:", unique_table("kvhost-plain"));
    let store = Blocking(Arc::new(rt.block_on(RedisStore::open("t:s", db, &prefix, Arc::new(SystemClock))).unwrap()));
    let mut con = raw();
    store.set("greeting", b"hello", Some(Duration::from_secs(60))).unwrap();
    let value: Vec<u8> = redis::cmd("GET").arg(format!("{prefix}greeting")).query(&mut con).unwrap();
    assert_eq!(value, b"hello", "redis-cli GET <prefix><key> reads it");
    let ttl: i64 = redis::cmd("PTTL").arg(format!("{prefix}greeting")).query(&mut con).unwrap();
    assert!(ttl > 0 && ttl <= 60_000, "Redis expires it itself: PTTL {ttl}");
    store.set("greeting", b"hi", None).unwrap();
    let ttl: i64 = redis::cmd("PTTL").arg(format!("{prefix}greeting")).query(&mut con).unwrap();
    assert_eq!(ttl, -1, "an overwrite without TTL clears it");
    // What another client writes under the prefix, kvhost reads, with its version.
    redis::cmd("SET").arg(format!("{prefix}from-cli")).arg("42").query::<()>(&mut con).unwrap();
    let entry = store.get_entry("from-cli").unwrap().unwrap();
    assert_eq!((entry.value.as_slice(), entry.version), (&b"42"[..], redis_version(b"42")));
    assert_eq!(store.increment("from-cli", 1).unwrap(), 43);
    store.clear().unwrap();
}

#[test]
fn clear_and_list_touch_only_this_stores_keys_whatever_the_prefix_holds() {
    let rt = runtime();
    let db = connect_redis(&rt);
    // Glob characters everywhere: an unescaped SCAN MATCH would reach the neighbours.
    let base = unique_table("kvhost-glob");
    let prefix = format!("{base}*[ab]?\\:");
    let store = Blocking(Arc::new(
        rt.block_on(RedisStore::open("t:glob", db.clone(), &prefix, Arc::new(SystemClock))).unwrap(),
    ));
    let mut con = raw();
    let neighbours =
        [format!("{base}XaY\\:k"), format!("{base}*[ab]?\\"), format!("{base}*b]?\\:k"), format!("{base}:k")];
    for n in &neighbours {
        redis::cmd("SET").arg(n).arg("someone else's").query::<()>(&mut con).unwrap();
    }
    for k in ["*", "?", "[x]", "\\", "plain"] {
        store.set(k, b"mine", None).unwrap();
    }
    assert_eq!(store.list("", None, 100).unwrap(), ["*", "?", "[x]", "\\", "plain"]);
    assert_eq!(store.list("[", None, 100).unwrap(), ["[x]"], "a prefix with glob characters is literal");
    store.clear().unwrap();
    assert!(store.list("", None, 100).unwrap().is_empty());
    for n in &neighbours {
        let value: Option<String> = redis::cmd("GET").arg(n).query(&mut con).unwrap();
        assert_eq!(value.as_deref(), Some("someone else's"), "{n} was not this store's");
        redis::cmd("DEL").arg(n).query::<()>(&mut con).unwrap();
    }
}

#[test]
fn two_kvhost_processes_share_one_store_and_count_exactly() {
    connect_redis(&runtime());
    let dir = tempfile::tempdir().unwrap();
    let (reg, prefix) = registry(dir.path());
    let draft = build_rust_guest("rust-wasi-draft", "kv-draft");
    // Two hosts at once, 5,000 increments of one counter each.
    let hammers: Vec<_> = (0..2)
        .map(|_| {
            let mut hammer = Command::new(kvhost_bin());
            hammer.args([
                "run",
                "--config",
                &reg,
                "--default-store",
                "app:cache",
                draft.to_str().unwrap(),
                "hammer",
                "5000",
            ]);
            std::thread::spawn(move || hammer.output())
        })
        .collect();
    for h in hammers {
        let out = h.join().unwrap().unwrap();
        assert!(out.status.success(), "{:?}", text(&out));
    }
    let counter: String = redis::cmd("GET").arg(format!("{prefix}counter")).query(&mut raw()).unwrap();
    assert_eq!(counter, "10000");
    // A value one process writes, the other reads.
    let guest = rust_guest();
    let run = ["run", "--config", &reg, "--default-store", "app:cache", guest.to_str().unwrap()];
    let out = Command::new(kvhost_bin()).args(run).args(["set", "shared", "from one host"]).output().unwrap();
    assert!(out.status.success(), "{:?}", text(&out));
    let out = Command::new(kvhost_bin()).args(run).args(["expect", "shared", "from one host"]).output().unwrap();
    assert!(out.status.success(), "{:?}", text(&out));
    clear_prefix(&prefix);
}

#[test]
fn guests_run_on_redis_through_kvhost_run_and_keys_lists_them() {
    connect_redis(&runtime());
    let dir = tempfile::tempdir().unwrap();
    let (reg, prefix) = registry(dir.path());
    let guest = rust_guest();
    let run = ["run", "--config", &reg, "--default-store", "app:cache", guest.to_str().unwrap()];
    let out = Command::new(kvhost_bin()).args(run).arg("demo").output().unwrap();
    let stdout = text(&out).0;
    assert!(stdout.contains("store app:cache on redis backend"), "{:?}", text(&out));
    assert!(stdout.contains("all 24 checks passed"), "{:?}", text(&out));
    Command::new(kvhost_bin()).args(run).args(["fill", "k", "3"]).output().unwrap();
    let out = Command::new(kvhost_bin()).args(["keys", "--config", &reg, "app:cache"]).output().unwrap();
    assert_eq!(text(&out).0, "k0\nk1\nk2\n", "{:?}", text(&out));
    clear_prefix(&prefix);
}

#[test]
fn an_unreachable_redis_is_a_clear_start_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("registry.yaml");
    std::fs::write(
        &file,
        "namespace: app\nentries:\n  - {name: redis, kind: db.redis, port: 9, lifecycle: {start_timeout: 20s}}\n  - {name: cache, kind: store.redis, database: app:redis}\n",
    )
    .unwrap();
    let guest = rust_guest();
    let out = Command::new(kvhost_bin())
        .args(["run", "--config", file.to_str().unwrap(), "--default-store", "app:cache", guest.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = text(&out).1;
    assert!(stderr.contains("cannot start app:redis"), "{stderr}");
    assert!(stderr.contains("cannot connect to redis at 127.0.0.1:9, database 0"), "{stderr}");
}

#[test]
fn a_wrong_password_is_refused_without_showing_it() {
    let rt = runtime();
    connect_redis(&rt);
    let cfg = kvhost::redis::RedisDatabaseConfig {
        username: Some("nobody".into()),
        password: Some("s3cret-pw".into()),
        ..kvhost::redis::RedisDatabaseConfig::local()
    };
    let err = rt.block_on(kvhost::redis::RedisDatabase::connect("t:redis", &cfg)).unwrap_err();
    let message = format!("{err:#}");
    assert!(message.contains("cannot connect to redis at 127.0.0.1:6379"), "{message}");
    assert!(!message.contains("s3cret-pw"), "the password must not show: {message}");
}
