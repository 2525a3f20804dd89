//! One conformance suite, the same test functions, run against every backend:
//! memory, SQLite (file and `:memory:`), PostgreSQL, MariaDB and Redis,
//! extremes included (TTLs of 1 ms and of `u64::MAX` ms, keys and values at
//! and one past every limit, increments past the i64 range).

use std::time::Duration;

use kvhost::{Error, Expiry, Wait};
use kvhost_tests::backend::{Backend, Kind};
use kvhost_tests::blocking::Blocking;

const SEC: Option<Duration> = Some(Duration::from_secs(1));

fn get(s: &Blocking, k: &str) -> Option<Vec<u8>> {
    s.get(k).unwrap()
}

fn get_of_missing_key_is_none(b: &Backend) {
    assert_eq!(get(&b.store, "missing"), None);
    assert!(!b.store.exists("missing").unwrap());
}

fn set_then_get_round_trips_every_byte(b: &Backend) {
    let value: Vec<u8> = (0..=255u8).chain([0, 0, b'\'', b'"', b'\\', b';']).collect();
    b.store.set("bytes", &value, None).unwrap();
    assert_eq!(get(&b.store, "bytes"), Some(value));
    b.store.set("empty", b"", None).unwrap();
    assert_eq!(get(&b.store, "empty"), Some(Vec::new()), "an empty value is a value, not absence");
}

fn set_overwrites_value_and_ttl(b: &Backend) {
    b.store.set("k", b"old", SEC).unwrap();
    b.store.set("k", b"new", None).unwrap();
    b.clock.advance(Duration::from_secs(5));
    assert_eq!(get(&b.store, "k").as_deref(), Some(&b"new"[..]));
    b.store.set("k", b"newer", SEC).unwrap();
    b.clock.advance(Duration::from_secs(1));
    assert_eq!(get(&b.store, "k"), None, "the new TTL applies");
}

fn delete_reports_whether_a_live_key_existed(b: &Backend) {
    b.store.set("k", b"v", None).unwrap();
    assert!(b.store.delete("k").unwrap());
    assert!(!b.store.delete("k").unwrap());
    assert!(!b.store.exists("k").unwrap());
    b.store.set("ttl", b"v", SEC).unwrap();
    b.clock.advance(Duration::from_secs(1));
    assert!(!b.store.delete("ttl").unwrap(), "an expired key was not there");
}

fn clear_removes_every_entry_of_this_store_only(b: &Backend) {
    b.store.set("x", b"1", None).unwrap();
    b.store.set("y", b"2", SEC).unwrap();
    b.other.set("x", b"3", None).unwrap();
    b.store.clear().unwrap();
    assert_eq!(get(&b.store, "x"), None);
    assert_eq!(get(&b.store, "y"), None);
    assert_eq!(get(&b.other, "x").as_deref(), Some(&b"3"[..]));
}

fn expired_entry_is_invisible_at_once_before_cleanup(b: &Backend) {
    b.store.set("k", b"v", SEC).unwrap();
    b.clock.advance(Duration::from_millis(999));
    assert!(b.store.exists("k").unwrap(), "live one millisecond before expiry");
    b.clock.advance(Duration::from_millis(1));
    assert_eq!(get(&b.store, "k"), None);
    assert!(!b.store.exists("k").unwrap());
}

fn expiry_reports_the_time_left_by_the_store_clock(b: &Backend) {
    b.store.set("ttl", b"v", Some(Duration::from_secs(60))).unwrap();
    b.store.set("forever", b"v", None).unwrap();
    b.clock.advance(Duration::from_millis(20_250));
    assert_eq!(b.store.expiry("ttl").unwrap(), Some(Expiry::In(Duration::from_millis(39_750))));
    assert_eq!(b.store.expiry("forever").unwrap(), Some(Expiry::Never));
    assert_eq!(b.store.expiry("missing").unwrap(), None);
    b.clock.advance(Duration::from_millis(39_750));
    assert_eq!(b.store.expiry("ttl").unwrap(), None, "an expired entry is absent");
    b.store.set("forever", b"v", Some(Duration::from_secs(5))).unwrap();
    assert_eq!(b.store.expiry("forever").unwrap(), Some(Expiry::In(Duration::from_secs(5))), "a write sets a new TTL");
}

fn zero_or_absent_ttl_never_expires(b: &Backend) {
    b.store.set("a", b"1", None).unwrap();
    b.store.set("b", b"2", Some(Duration::ZERO)).unwrap();
    b.clock.advance(Duration::from_secs(10 * 365 * 24 * 3600));
    assert!(b.store.exists("a").unwrap());
    assert!(b.store.exists("b").unwrap());
}

fn remove_expired_purges_only_expired_entries_in_batches(b: &Backend) {
    // More than one cleanup batch (1000 rows), so the batching loop runs.
    const N: usize = 2500;
    for i in 0..N {
        b.store.set(&format!("exp{i}"), b"v", SEC).unwrap();
    }
    for i in 0..10 {
        b.store.set(&format!("keep{i}"), b"v", None).unwrap();
    }
    b.other.set("exp0", b"other store", SEC).unwrap();
    assert_eq!(b.store.remove_expired().unwrap(), 0);
    b.clock.advance(Duration::from_secs(1));
    assert_eq!(b.store.remove_expired().unwrap(), N as u64);
    assert_eq!(b.store.remove_expired().unwrap(), 0);
    for i in 0..10 {
        assert!(b.store.exists(&format!("keep{i}")).unwrap());
    }
    assert_eq!(b.other.remove_expired().unwrap(), 1, "each store purges its own entries");
}

fn hostile_keys_and_values_round_trip_intact(b: &Backend) {
    let keys = [
        "'; DROP TABLE kv_store; --",
        "\" OR \"1\"=\"1",
        "`key`",
        "back\\slash",
        "100%_like_",
        "$1 ?1 ? :name",
        "tab\tnew\nline",
        "ключ-鍵-🔑",
        " leading and trailing ",
    ];
    for (i, k) in keys.iter().enumerate() {
        let v = format!("{k}\0value {i} '\"`;--\0").into_bytes();
        b.store.set(k, &v, None).unwrap();
        assert_eq!(get(&b.store, k), Some(v), "key {k:?}");
    }
    let mut big = vec![0u8; 1 << 20];
    for (i, byte) in big.iter_mut().enumerate() {
        *byte = (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3];
    }
    b.store.set("one-mebibyte", &big, None).unwrap();
    assert_eq!(get(&b.store, "one-mebibyte"), Some(big));
    assert_eq!(keys.iter().filter(|k| b.store.exists(k).unwrap()).count(), keys.len());
}

fn keys_compare_exactly(b: &Backend) {
    for k in ["key", "Key", "KEY", "key ", "kéy", "ke\u{301}y"] {
        b.store.set(k, k.as_bytes(), None).unwrap();
    }
    for k in ["key", "Key", "KEY", "key ", "kéy", "ke\u{301}y"] {
        assert_eq!(
            get(&b.store, k).as_deref(),
            Some(k.as_bytes()),
            "case, trailing space and normalization matter: {k:?}"
        );
    }
}

fn longest_allowed_key_round_trips(b: &Backend) {
    let max = kvhost::Limits::DEFAULT_MAX_KEY_BYTES as usize;
    let key: String = "é".repeat(max / 2) + &"k".repeat(max % 2);
    assert_eq!(key.len(), max);
    b.store.set(&key, b"v", None).unwrap();
    assert!(b.store.exists(&key).unwrap());
}

fn concurrent_writers_all_land(b: &Backend) {
    const THREADS: usize = 8;
    const EACH: usize = 40;
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let store = b.store.clone();
            s.spawn(move || {
                for i in 0..EACH {
                    store.set(&format!("t{t}-{i}"), format!("{t}/{i}").as_bytes(), None).unwrap();
                    store.set("contended", format!("{t}").as_bytes(), None).unwrap();
                }
            });
        }
    });
    for t in 0..THREADS {
        for i in 0..EACH {
            assert_eq!(get(&b.store, &format!("t{t}-{i}")), Some(format!("{t}/{i}").into_bytes()));
        }
    }
    let last = get(&b.store, "contended").expect("the contended key holds one writer's value");
    assert!(String::from_utf8(last).unwrap().parse::<usize>().unwrap() < THREADS);
}

fn info_names_the_backend(b: &Backend) {
    let info = b.store.info();
    let (backend, durable) = match b.kind {
        Kind::Memory => ("memory", false),
        Kind::SqliteFile | Kind::SqliteFileVersioned => ("sqlite", true),
        Kind::SqliteMemory => ("sqlite", false),
        Kind::Postgres | Kind::PostgresVersioned => ("postgres", true),
        Kind::Mysql | Kind::MysqlVersioned => ("mysql", true),
        Kind::Redis => ("redis", kvhost_tests::backend::redis_persists()),
    };
    assert_eq!((info.backend, info.durable), (backend, durable));
    assert_eq!(info.versioned, b.kind == Kind::Memory || b.kind.has_version_column());
    assert_eq!(info.id, "test:a");
}

fn limits_are_checked_before_the_backend(b: &Backend) {
    let bucket = b.kv().open("").unwrap();
    for key in ["", "nul\0key", &"k".repeat(256)] {
        assert!(matches!(bucket.set(key, b"v", None).wait(), Err(Error::InvalidArgument(_))), "{key:?}");
    }
    assert!(matches!(bucket.set("big", vec![0; (1 << 20) + 1], None).wait(), Err(Error::TooLarge(_))));
    assert!(b.store.list("", None, 10).unwrap().is_empty(), "the backend saw none of it");
}

fn list(s: &Blocking, prefix: &str, after: Option<&str>, limit: usize) -> Vec<String> {
    s.list(prefix, after, limit).unwrap()
}

fn list_returns_live_keys_by_prefix_in_byte_order(b: &Backend) {
    for k in ["user:b", "user:a", "user:é", "user:Z", "userx", "other", "user:~"] {
        b.store.set(k, b"v", None).unwrap();
    }
    b.store.set("user:expired", b"v", SEC).unwrap();
    b.other.set("user:other-store", b"v", None).unwrap();
    b.clock.advance(Duration::from_secs(1));
    assert_eq!(list(&b.store, "user:", None, 100), ["user:Z", "user:a", "user:b", "user:~", "user:é"]);
    assert_eq!(list(&b.store, "", None, 100).len(), 7);
    assert_eq!(list(&b.store, "user:", Some("user:a"), 2), ["user:b", "user:~"]);
    assert!(list(&b.store, "nothing", None, 10).is_empty());
    assert_eq!(list(&b.store, "%", None, 10), Vec::<String>::new(), "prefixes are literal, not patterns");
    b.store.set("100%_sure", b"v", None).unwrap();
    assert_eq!(list(&b.store, "100%", None, 10), ["100%_sure"]);
}

fn list_pages_are_stable_under_concurrent_inserts(b: &Backend) {
    let original: Vec<String> = (0..300).map(|i| format!("k{i:04}")).collect();
    for k in &original {
        b.store.set(k, b"v", None).unwrap();
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut page = 0;
    loop {
        let keys = list(&b.store, "k", after.as_deref(), 64);
        // Writers insert keys before, between and after the pages already read.
        for i in 0..5 {
            b.store.set(&format!("k{:04}-new{page}-{i}", i * 70), b"v", None).unwrap();
        }
        page += 1;
        let Some(last) = keys.last().cloned() else { break };
        seen.extend(keys);
        after = Some(last);
    }
    let seen_original: Vec<&String> = seen.iter().filter(|k| !k.contains("new")).collect();
    assert_eq!(seen_original, original.iter().collect::<Vec<_>>(), "every original key exactly once, in order");
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen, "no key repeated");
}

fn versions_change_on_writes_and_guard_conditional_puts(b: &Backend) {
    use kvhost::Condition::*;
    assert_eq!(b.store.get_entry("k").unwrap(), None);
    let v1 = b.store.put("k", b"one", None, IfAbsent).unwrap();
    let e = b.store.get_entry("k").unwrap().unwrap();
    assert_eq!((e.value.as_slice(), e.version), (&b"one"[..], v1));
    assert!(matches!(b.store.put("k", b"x", None, IfAbsent), Err(Error::Conflict(_))));
    let v2 = b.store.put("k", b"two", None, IfVersion(v1)).unwrap();
    assert_ne!(v1, v2);
    assert!(matches!(b.store.put("k", b"x", None, IfVersion(v1)), Err(Error::Conflict(_))), "stale version");
    assert!(matches!(b.store.put("missing", b"x", None, IfVersion(v1)), Err(Error::Conflict(_))));
    assert_eq!(get(&b.store, "k").as_deref(), Some(&b"two"[..]));
    b.store.put("k", b"three", None, Always).unwrap();
    assert_eq!(get(&b.store, "k").as_deref(), Some(&b"three"[..]));
    b.store.set("ttl", b"v", SEC).unwrap();
    b.clock.advance(Duration::from_secs(1));
    b.store.put("ttl", b"again", SEC, IfAbsent).expect("an expired key is absent");
    assert_eq!(get(&b.store, "ttl").as_deref(), Some(&b"again"[..]));
    b.clock.advance(Duration::from_secs(1));
    assert_eq!(get(&b.store, "ttl"), None, "a conditional put sets the TTL it was given");
}

fn versions_after_delete_and_rewrite(b: &Backend) {
    use kvhost::Condition::*;
    let v1 = b.store.put("k", b"same", None, Always).unwrap();
    assert_eq!(b.store.get_entry("k").unwrap().unwrap().version, v1, "put returns the stored version");
    b.store.delete("k").unwrap();
    let v2 = b.store.put("k", b"same", None, Always).unwrap();
    if b.store.info().versioned {
        assert_ne!(v1, v2, "a re-created key never reuses a version");
        assert!(matches!(b.store.put("k", b"x", None, IfVersion(v1)), Err(Error::Conflict(_))), "no ABA");
        b.store.set("k", b"same", None).unwrap();
        let v3 = b.store.get_entry("k").unwrap().unwrap().version;
        assert_ne!(v3, v2, "every write, even of the same value, is a new version");
        assert_eq!(b.store.increment("n", 1).unwrap(), 1);
        let vn = b.store.get_entry("n").unwrap().unwrap().version;
        b.store.increment("n", 1).unwrap();
        assert_ne!(b.store.get_entry("n").unwrap().unwrap().version, vn, "increments change the version");
    } else {
        assert_eq!(v1, v2, "without a version column, a version is the value's hash");
        let hash = if b.kind == Kind::Redis { kvhost::redis::redis_version } else { kvhost::sql::value_version };
        assert_eq!(v1, hash(b"same"));
    }
}

fn increment_keeps_decimal_text(b: &Backend) {
    assert_eq!(b.store.increment("n", 5).unwrap(), 5, "absent counts as 0");
    assert_eq!(get(&b.store, "n").as_deref(), Some(&b"5"[..]));
    b.store.set("preset", b"5", None).unwrap();
    assert_eq!(b.store.increment("preset", 1).unwrap(), 6);
    assert_eq!(b.store.increment("preset", -10).unwrap(), -4);
    assert_eq!(get(&b.store, "preset").as_deref(), Some(&b"-4"[..]));
    b.store.set("text", b"five", None).unwrap();
    let err = b.store.increment("text", 1).unwrap_err();
    assert!(matches!(&err, Error::InvalidArgument(m) if m.contains("not a decimal integer")), "{err}");
    b.store.set("big", i64::MAX.to_string().as_bytes(), None).unwrap();
    let err = b.store.increment("big", 1).unwrap_err();
    assert!(matches!(&err, Error::InvalidArgument(m) if m.contains("overflows")), "{err}");
    assert_eq!(get(&b.store, "big"), Some(i64::MAX.to_string().into_bytes()), "a failed increment changes nothing");
}

fn increment_keeps_ttl_and_restarts_expired_counters(b: &Backend) {
    b.store.set("c", b"10", SEC).unwrap();
    assert_eq!(b.store.increment("c", 1).unwrap(), 11);
    b.clock.advance(Duration::from_secs(1));
    assert_eq!(get(&b.store, "c"), None, "the TTL survived the increment");
    assert_eq!(b.store.increment("c", 1).unwrap(), 1, "an expired counter starts again from 0");
    b.clock.advance(Duration::from_secs(3600));
    assert_eq!(get(&b.store, "c").as_deref(), Some(&b"1"[..]), "and has no TTL");
}

fn concurrent_increments_and_cas_are_exact(b: &Backend) {
    const THREADS: usize = 6;
    const EACH: i64 = 25;
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            let store = b.store.clone();
            s.spawn(move || {
                for _ in 0..EACH {
                    store.increment("counter", 1).unwrap();
                    // A compare-and-swap loop on a second key.
                    loop {
                        let cur = store.get_entry("cas").unwrap();
                        let n: i64 = cur.as_ref().map_or(0, |e| String::from_utf8_lossy(&e.value).parse().unwrap());
                        let cond = cur.map_or(kvhost::Condition::IfAbsent, |e| kvhost::Condition::IfVersion(e.version));
                        match store.put("cas", (n + 1).to_string().as_bytes(), None, cond) {
                            Ok(_) => break,
                            Err(Error::Conflict(_)) => continue,
                            Err(e) => panic!("{e}"),
                        }
                    }
                }
            });
        }
    });
    let total = (THREADS as i64 * EACH).to_string().into_bytes();
    assert_eq!(get(&b.store, "counter"), Some(total.clone()));
    assert_eq!(get(&b.store, "cas"), Some(total));
}

fn batches_get_set_and_delete_many(b: &Backend) {
    let entries: Vec<(String, Vec<u8>)> = (0..2500).map(|i| (format!("b{i}"), format!("v{i}").into_bytes())).collect();
    b.store.set_many(&entries, None).unwrap();
    b.store.set_many(&[("dup".into(), b"first".to_vec()), ("dup".into(), b"last".to_vec())], SEC).unwrap();
    let keys: Vec<String> = vec!["b0".into(), "missing".into(), "b2499".into(), "b0".into(), "dup".into()];
    let got = b.store.get_many(&keys).unwrap();
    assert_eq!(
        got,
        [Some(b"v0".to_vec()), None, Some(b"v2499".to_vec()), Some(b"v0".to_vec()), Some(b"last".to_vec())]
    );
    b.clock.advance(Duration::from_secs(1));
    assert_eq!(b.store.get_many(&["dup".into()]).unwrap(), [None], "set-many applies the TTL");
    let all: Vec<String> = entries.iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(b.store.get_many(&all).unwrap().iter().flatten().count(), 2500);
    let doomed: Vec<String> = vec!["b1".into(), "b2".into(), "b1".into(), "missing".into(), "dup".into()];
    assert_eq!(b.store.delete_many(&doomed).unwrap(), 2, "live entries removed; repeats and expired not counted");
    assert_eq!(b.store.delete_many(&all).unwrap(), 2498);
    assert!(b.store.get_many(&all).unwrap().iter().all(Option::is_none));
    assert_eq!(b.store.get_many(&[]).unwrap(), Vec::<Option<Vec<u8>>>::new());
    b.store.set_many(&[], None).unwrap();
    assert_eq!(b.store.delete_many(&[]).unwrap(), 0);
}

fn ttl_of_one_millisecond_expires_when_that_millisecond_passes(b: &Backend) {
    let ms = Some(Duration::from_millis(1));
    b.store.set("k", b"v", ms).unwrap();
    b.store.put("p", b"v", ms, kvhost::Condition::IfAbsent).unwrap();
    b.store.set_many(&[("m".into(), b"v".to_vec())], ms).unwrap();
    if b.kind != Kind::Redis {
        // Redis also expires keys by its own clock, which has moved on
        // meanwhile: what it shows before the host's clock moves is not
        // deterministic there.
        assert!(b.store.exists("k").unwrap(), "live until its millisecond passes");
    }
    b.clock.advance(Duration::from_millis(1));
    for k in ["k", "p", "m"] {
        assert_eq!(get(&b.store, k), None, "{k}");
        assert!(!b.store.exists(k).unwrap(), "{k}");
    }
    assert!(list(&b.store, "", None, 10).is_empty());
}

fn ttl_of_u64_max_milliseconds_never_expires(b: &Backend) {
    let forever = Some(Duration::from_millis(u64::MAX));
    b.store.set("k", b"v", forever).unwrap();
    b.store.put("p", b"v", forever, kvhost::Condition::IfAbsent).unwrap();
    b.store.set_many(&[("m".into(), b"v".to_vec())], forever).unwrap();
    let bucket = b.kv().open("").unwrap();
    bucket.set("g", b"v".to_vec(), forever).wait().expect("the largest TTL a guest can give");
    // A century: versioned SQL stores derive versions from the clock
    // (ms << 20, which fits an i64 until the year 2248).
    b.clock.advance(Duration::from_secs(100 * 365 * 24 * 3600));
    for k in ["k", "p", "m", "g"] {
        assert_eq!(get(&b.store, k).as_deref(), Some(&b"v"[..]), "{k} is still there a century later");
    }
    assert_eq!(list(&b.store, "", None, 10), ["g", "k", "m", "p"]);
    b.store.set("n", b"1", forever).unwrap();
    assert_eq!(b.store.increment("n", 1).unwrap(), 2, "an increment keeps the key and its TTL");
}

fn keys_and_values_at_and_one_past_every_limit(b: &Backend) {
    const MIB: usize = 1 << 20;
    let bucket = b.kv().open("").unwrap();
    let invalid = |what: &str, r: kvhost::Result<()>| {
        assert!(matches!(r, Err(Error::InvalidArgument(_))), "{what}: {r:?}");
    };
    let too_large = |what: &str, r: kvhost::Result<()>| {
        assert!(matches!(r, Err(Error::TooLarge(_))), "{what}: {r:?}");
    };
    // max_key_bytes (255) with a value of max_value_bytes (1 MiB).
    let key = "é".repeat(127) + "k";
    assert_eq!(key.len(), 255);
    let value: Vec<u8> = (0..MIB).map(|i| (i % 251) as u8).collect();
    bucket.set(&key, value.clone(), None).wait().unwrap();
    assert_eq!(bucket.get(&key).wait().unwrap(), Some(value.clone()));
    let past = format!("{key}k");
    invalid("set, key 256 bytes", bucket.set(&past, b"v".to_vec(), None).wait());
    invalid("get, key 256 bytes", bucket.get(&past).wait().map(drop));
    invalid("exists, key 256 bytes", bucket.exists(&past).wait().map(drop));
    invalid("delete, key 256 bytes", bucket.delete(&past).wait().map(drop));
    invalid("increment, key 256 bytes", bucket.increment(&past, 1).wait().map(drop));
    too_large("set, value 1 MiB + 1", bucket.set("v", vec![0; MIB + 1], None).wait());
    // max_result_bytes (16 MiB): a set-many of exactly that, keys included,
    // and a get-many of it; one byte more is refused before the backend.
    let batch = |name: char, extra: usize| -> Vec<(String, Vec<u8>)> {
        (0..16usize)
            .map(|i| {
                let len = if i == 15 { MIB - 16 * 3 + extra } else { MIB };
                (format!("{name}{i:02}"), vec![i as u8; len])
            })
            .collect()
    };
    let at = batch('b', 0);
    assert_eq!(at.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>(), 16 * MIB);
    bucket.set_many(&at, None).wait().expect("a set-many of exactly max_result_bytes");
    let keys: Vec<String> = at.iter().map(|(k, _)| k.clone()).collect();
    let got = bucket.get_many(&keys).wait().expect("a get-many under max_result_bytes");
    assert!(got.iter().zip(&at).all(|(g, (_, v))| g.as_ref() == Some(v)), "every value round-trips");
    let mut over = batch('c', 0);
    over[15].1.push(0); // the last value is then 1 MiB - 47: one byte over in all
    too_large("set-many of max_result_bytes + 1", bucket.set_many(&over, None).wait());
    let over_keys: Vec<String> = over.iter().map(|(k, _)| k.clone()).collect();
    assert!(b.store.get_many(&over_keys).unwrap().iter().all(Option::is_none), "nothing of it was written");
    bucket.set("b16", vec![1; 48 + 1], None).wait().unwrap();
    let mut past_keys = keys.clone();
    past_keys.push("b16".into());
    too_large("get-many of max_result_bytes + 1", bucket.get_many(&past_keys).wait().map(drop));
}

fn increments_past_the_i64_range_and_odd_decimals_fail_alike(b: &Backend) {
    let overflows = |key: &str, delta: i64| {
        let before = get(&b.store, key);
        let err = b.store.increment(key, delta).unwrap_err();
        assert!(matches!(&err, Error::InvalidArgument(m) if m.contains("overflows")), "{key} + {delta}: {err}");
        assert_eq!(get(&b.store, key), before, "a failed increment changes nothing");
    };
    b.store.set("min", i64::MIN.to_string().as_bytes(), None).unwrap();
    overflows("min", -1);
    overflows("min", i64::MIN);
    assert_eq!(b.store.increment("min", i64::MAX).unwrap(), -1);
    assert_eq!(b.store.increment("zero", i64::MIN).unwrap(), i64::MIN, "absent is 0");
    overflows("zero", -1);
    b.store.set("max", i64::MAX.to_string().as_bytes(), None).unwrap();
    overflows("max", 1);
    overflows("max", i64::MAX);
    assert_eq!(b.store.increment("max", i64::MIN).unwrap(), -1);
    // Decimal text exactly as Redis writes it: no sign but `-`, no spaces,
    // no leading zeros, nothing outside the i64 range.
    for text in ["+5", "05", " 5", "5 ", "-0", "", "1e3", "0x10", "9223372036854775808", "-9223372036854775809"] {
        b.store.set("odd", text.as_bytes(), None).unwrap();
        let err = b.store.increment("odd", 1).unwrap_err();
        assert!(matches!(&err, Error::InvalidArgument(m) if m.contains("not a decimal integer")), "{text:?}: {err}");
        assert_eq!(get(&b.store, "odd").as_deref(), Some(text.as_bytes()), "{text:?} unchanged");
    }
}

macro_rules! conformance {
    ($($backend:ident => $kind:expr),* $(,)?) => {$(
        mod $backend {
            use super::*;
            conformance!(@tests $kind;
                get_of_missing_key_is_none,
                set_then_get_round_trips_every_byte,
                set_overwrites_value_and_ttl,
                delete_reports_whether_a_live_key_existed,
                clear_removes_every_entry_of_this_store_only,
                expired_entry_is_invisible_at_once_before_cleanup,
                zero_or_absent_ttl_never_expires,
                expiry_reports_the_time_left_by_the_store_clock,
                remove_expired_purges_only_expired_entries_in_batches,
                hostile_keys_and_values_round_trip_intact,
                keys_compare_exactly,
                longest_allowed_key_round_trips,
                concurrent_writers_all_land,
                info_names_the_backend,
                limits_are_checked_before_the_backend,
                list_returns_live_keys_by_prefix_in_byte_order,
                list_pages_are_stable_under_concurrent_inserts,
                versions_change_on_writes_and_guard_conditional_puts,
                versions_after_delete_and_rewrite,
                increment_keeps_decimal_text,
                increment_keeps_ttl_and_restarts_expired_counters,
                concurrent_increments_and_cas_are_exact,
                batches_get_set_and_delete_many,
                ttl_of_one_millisecond_expires_when_that_millisecond_passes,
                ttl_of_u64_max_milliseconds_never_expires,
                keys_and_values_at_and_one_past_every_limit,
                increments_past_the_i64_range_and_odd_decimals_fail_alike,
            );
        }
    )*};
    (@tests $kind:expr; $($test:ident),* $(,)?) => {$(
        #[test]
        fn $test() {
            super::$test(&Backend::new($kind));
        }
    )*};
}

conformance! {
    memory => Kind::Memory,
    sqlite_file => Kind::SqliteFile,
    sqlite_memory => Kind::SqliteMemory,
    postgres => Kind::Postgres,
    mysql => Kind::Mysql,
    sqlite_file_versioned => Kind::SqliteFileVersioned,
    postgres_versioned => Kind::PostgresVersioned,
    mysql_versioned => Kind::MysqlVersioned,
    redis => Kind::Redis,
}
