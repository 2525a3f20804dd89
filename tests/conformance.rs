//! One conformance suite, the same test functions, run against every backend:
//! memory, SQLite (file and `:memory:`), PostgreSQL and MariaDB.

use std::sync::Arc;
use std::time::Duration;

use kvhost::{Error, Limits, Store};
use kvhost_tests::backend::{Backend, Kind};

const SEC: Option<Duration> = Some(Duration::from_secs(1));

fn get(s: &dyn Store, k: &str) -> Option<Vec<u8>> {
    s.get(k).unwrap()
}

fn get_of_missing_key_is_none(b: &Backend) {
    assert_eq!(get(&*b.store, "missing"), None);
    assert!(!b.store.exists("missing").unwrap());
}

fn set_then_get_round_trips_every_byte(b: &Backend) {
    let value: Vec<u8> = (0..=255u8).chain([0, 0, b'\'', b'"', b'\\', b';']).collect();
    b.store.set("bytes", &value, None).unwrap();
    assert_eq!(get(&*b.store, "bytes"), Some(value));
    b.store.set("empty", b"", None).unwrap();
    assert_eq!(get(&*b.store, "empty"), Some(Vec::new()), "an empty value is a value, not absence");
}

fn set_overwrites_value_and_ttl(b: &Backend) {
    b.store.set("k", b"old", SEC).unwrap();
    b.store.set("k", b"new", None).unwrap();
    b.clock.advance(Duration::from_secs(5));
    assert_eq!(get(&*b.store, "k").as_deref(), Some(&b"new"[..]));
    b.store.set("k", b"newer", SEC).unwrap();
    b.clock.advance(Duration::from_secs(1));
    assert_eq!(get(&*b.store, "k"), None, "the new TTL applies");
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
    assert_eq!(get(&*b.store, "x"), None);
    assert_eq!(get(&*b.store, "y"), None);
    assert_eq!(get(&*b.other, "x").as_deref(), Some(&b"3"[..]));
}

fn expired_entry_is_invisible_at_once_before_cleanup(b: &Backend) {
    b.store.set("k", b"v", SEC).unwrap();
    b.clock.advance(Duration::from_millis(999));
    assert!(b.store.exists("k").unwrap(), "live one millisecond before expiry");
    b.clock.advance(Duration::from_millis(1));
    assert_eq!(get(&*b.store, "k"), None);
    assert!(!b.store.exists("k").unwrap());
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
        assert_eq!(get(&*b.store, k), Some(v), "key {k:?}");
    }
    let mut big = vec![0u8; 1 << 20];
    for (i, byte) in big.iter_mut().enumerate() {
        *byte = (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3];
    }
    b.store.set("one-mebibyte", &big, None).unwrap();
    assert_eq!(get(&*b.store, "one-mebibyte"), Some(big));
    assert_eq!(keys.iter().filter(|k| b.store.exists(k).unwrap()).count(), keys.len());
}

fn keys_compare_exactly(b: &Backend) {
    for k in ["key", "Key", "KEY", "key ", "kéy", "ke\u{301}y"] {
        b.store.set(k, k.as_bytes(), None).unwrap();
    }
    for k in ["key", "Key", "KEY", "key ", "kéy", "ke\u{301}y"] {
        assert_eq!(get(&*b.store, k).as_deref(), Some(k.as_bytes()), "case, trailing space and normalization matter: {k:?}");
    }
}

fn longest_allowed_key_round_trips(b: &Backend) {
    let max = b.store.info().limits.max_key_bytes as usize;
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
            let store = Arc::clone(&b.store);
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
            assert_eq!(get(&*b.store, &format!("t{t}-{i}")), Some(format!("{t}/{i}").into_bytes()));
        }
    }
    let last = get(&*b.store, "contended").expect("the contended key holds one writer's value");
    assert!(String::from_utf8(last).unwrap().parse::<usize>().unwrap() < THREADS);
}

fn info_names_the_backend(b: &Backend) {
    let info = b.store.info();
    let (backend, durable) = match b.kind {
        Kind::Memory => ("memory", false),
        Kind::SqliteFile => ("sqlite", true),
        Kind::SqliteMemory => ("sqlite", false),
        Kind::Postgres => ("postgres", true),
        Kind::Mysql => ("mysql", true),
    };
    assert_eq!((info.backend, info.durable), (backend, durable));
    assert_eq!(info.id, "test:a");
}

fn limits_are_checked_before_the_backend(b: &Backend) {
    let limits = b.store.info().limits;
    assert!(matches!(limits.check_key(""), Err(Error::InvalidArgument(_))));
    assert!(matches!(limits.check_key("nul\0key"), Err(Error::InvalidArgument(_))));
    assert!(matches!(limits.check_key(&"k".repeat(256)), Err(Error::InvalidArgument(_))));
    assert!(matches!(limits.check_value(&vec![0; (1 << 20) + 1]), Err(Error::TooLarge(_))));
    assert_eq!(limits, Limits::default());
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
                remove_expired_purges_only_expired_entries_in_batches,
                hostile_keys_and_values_round_trip_intact,
                keys_compare_exactly,
                longest_allowed_key_round_trips,
                concurrent_writers_all_land,
                info_names_the_backend,
                limits_are_checked_before_the_backend,
            );
        }
    )*};
    (@tests $kind:expr; $($test:ident),* $(,)?) => {$(
        #[test]
        fn $test() {
            if let Some(b) = Backend::new($kind) {
                super::$test(&b);
            }
        }
    )*};
}

conformance! {
    memory => Kind::Memory,
    sqlite_file => Kind::SqliteFile,
    sqlite_memory => Kind::SqliteMemory,
    postgres => Kind::Postgres,
    mysql => Kind::Mysql,
}
