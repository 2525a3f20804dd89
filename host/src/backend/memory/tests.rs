use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use super::*;
use crate::backend::clock::{Clock, ManualClock};

/// `full` natively; about a hundredth under Miri, which runs code some
/// thousand times slower, so that `cargo miri test` checks every test.
const fn scaled(full: u64) -> u64 {
    if cfg!(miri) { full / 100 + 1 } else { full }
}

fn store_with(max_size: u64) -> (MemoryStore, ManualClock) {
    let clock = ManualClock::new(1_000_000);
    let store = MemoryStore::builder("test:mem").max_size(max_size).clock(Arc::new(clock.clone())).build();
    (store, clock)
}

const SEC: Option<Duration> = Some(Duration::from_secs(1));

#[test]
fn get_of_missing_key_is_none() {
    let (s, _) = store_with(10);
    assert_eq!(s.get("nope").unwrap(), None);
    assert!(!s.exists("nope").unwrap());
}

#[test]
fn set_then_get_round_trips_bytes() {
    let (s, _) = store_with(10);
    let value = [0u8, 255, 1, b'\'', b'"', 0];
    s.set("k", &value, None).unwrap();
    assert_eq!(s.get("k").unwrap().as_deref(), Some(&value[..]));
    assert!(s.exists("k").unwrap());
}

#[test]
fn set_overwrites_value_and_ttl() {
    let (s, clock) = store_with(10);
    s.set("k", b"old", SEC).unwrap();
    s.set("k", b"new", None).unwrap();
    clock.advance(Duration::from_secs(5));
    assert_eq!(s.get("k").unwrap().as_deref(), Some(&b"new"[..]));
    assert_eq!(s.stored_len(), 1);
}

#[test]
fn delete_reports_whether_key_existed() {
    let (s, _) = store_with(10);
    s.set("k", b"v", None).unwrap();
    assert!(s.delete("k").unwrap());
    assert!(!s.delete("k").unwrap());
    assert_eq!(s.get("k").unwrap(), None);
    assert_eq!(s.stored_len(), 0);
}

#[test]
fn clear_removes_every_entry_of_this_store_only() {
    let (a, _) = store_with(10);
    let (b, _) = store_with(10);
    a.set("x", b"1", None).unwrap();
    a.set("y", b"2", SEC).unwrap();
    b.set("x", b"3", None).unwrap();
    a.clear().unwrap();
    assert_eq!(a.get("x").unwrap(), None);
    assert_eq!(a.get("y").unwrap(), None);
    assert_eq!(a.stored_len(), 0);
    assert_eq!(b.get("x").unwrap().as_deref(), Some(&b"3"[..]));
}

#[test]
fn expired_entry_is_invisible_at_once_before_cleanup() {
    let (s, clock) = store_with(10);
    s.set("k", b"v", SEC).unwrap();
    clock.advance(Duration::from_millis(999));
    assert!(s.exists("k").unwrap(), "live one millisecond before expiry");
    clock.advance(Duration::from_millis(1));
    assert_eq!(s.get("k").unwrap(), None);
    assert!(!s.exists("k").unwrap());
    s.set("k2", b"v", SEC).unwrap();
    clock.advance(Duration::from_secs(1));
    assert!(!s.delete("k2").unwrap(), "deleting an expired key reports it absent");
}

#[test]
fn zero_or_absent_ttl_never_expires() {
    let (s, clock) = store_with(10);
    s.set("a", b"1", None).unwrap();
    s.set("b", b"2", Some(Duration::ZERO)).unwrap();
    clock.advance(Duration::from_secs(10 * 365 * 24 * 3600));
    assert!(s.exists("a").unwrap());
    assert!(s.exists("b").unwrap());
}

#[test]
fn remove_expired_purges_only_expired_entries() {
    let (s, clock) = store_with(0);
    for i in 0..100 {
        let ttl = if i % 2 == 0 { SEC } else { None };
        s.set(&format!("k{i}"), b"v", ttl).unwrap();
    }
    assert_eq!(s.remove_expired().unwrap(), 0);
    clock.advance(Duration::from_secs(2));
    assert_eq!(s.remove_expired().unwrap(), 50);
    assert_eq!(s.stored_len(), 50);
    assert!(s.exists("k1").unwrap());
}

#[test]
fn errors_when_new_key_exceeds_max_size() {
    let (s, _) = store_with(2);
    s.set("a", b"1", None).unwrap();
    s.set("b", b"2", None).unwrap();
    let err = s.set("c", b"3", None).unwrap_err();
    assert_eq!(err, Error::StoreFull { store: "test:mem".into(), max_size: 2 });
    assert!(err.to_string().contains("max_size"), "{err}");
    assert_eq!(s.get("c").unwrap(), None);
}

#[test]
fn overwrite_succeeds_when_store_is_full() {
    let (s, _) = store_with(2);
    s.set("a", b"1", None).unwrap();
    s.set("b", b"2", None).unwrap();
    s.set("a", b"changed", None).unwrap();
    assert_eq!(s.get("a").unwrap().as_deref(), Some(&b"changed"[..]));
}

#[test]
fn expired_entries_do_not_count_toward_max_size() {
    let (s, clock) = store_with(2);
    s.set("a", b"1", SEC).unwrap();
    s.set("b", b"2", SEC).unwrap();
    clock.advance(Duration::from_secs(1));
    s.set("c", b"3", None).unwrap();
    s.set("d", b"4", None).unwrap();
    assert!(s.set("e", b"5", None).is_err());
    assert_eq!(s.stored_len(), 2);
}

#[test]
fn deleting_makes_room() {
    let (s, _) = store_with(1);
    s.set("a", b"1", None).unwrap();
    s.delete("a").unwrap();
    s.set("b", b"2", None).unwrap();
}

#[test]
fn zero_max_size_is_unlimited() {
    let (s, _) = store_with(0);
    let n = scaled(20_000);
    for i in 0..n {
        s.set(&format!("k{i}"), b"v", None).unwrap();
    }
    assert_eq!(s.stored_len(), n);
}

#[test]
fn never_exceeds_max_size_under_concurrent_writers() {
    const MAX: u64 = scaled(1_000);
    const THREADS: u64 = 8;
    const KEYS_PER_THREAD: u64 = scaled(2_000);
    let (s, clock) = store_with(MAX);
    let s = Arc::new(s);
    // Half of the pre-filled entries expire while the writers run, so the
    // purge path races the reservation path too.
    for i in 0..MAX / 2 {
        s.set(&format!("old{i}"), b"v", SEC).unwrap();
    }
    clock.advance(Duration::from_secs(1));
    let accepted = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let s = s.clone();
            let accepted = accepted.clone();
            std::thread::spawn(move || {
                for i in 0..KEYS_PER_THREAD {
                    match s.set(&format!("t{t}-{i}"), b"value", None) {
                        Ok(()) => {
                            accepted.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(Error::StoreFull { .. }) => {}
                        Err(e) => panic!("unexpected error {e}"),
                    }
                    if i % 7 == 0 {
                        // Deletes make room that other writers then race for.
                        s.delete(&format!("t{t}-{}", i / 2)).unwrap();
                    }
                    assert!(s.stored_len() <= MAX);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let (mut live, mut stored) = (0, 0);
    s.table.each_read(|shard| {
        stored += shard.slots.len() as u64;
        live += shard.slots.iter().filter(|e| e.is_live_at(clock.now_ms())).count() as u64;
    });
    assert_eq!(s.stored_len(), stored, "counter matches the table");
    assert!(live <= MAX, "{live} live entries, max {MAX}");
    assert_eq!(live, MAX, "the store filled up exactly");
    assert!(accepted.load(Ordering::Relaxed) >= MAX);
}

#[test]
fn every_write_gets_a_version_no_other_write_had() {
    let (s, _) = store_with(0);
    let mut seen = std::collections::HashSet::new();
    for round in 0..3 {
        for i in 0..scaled(2_000) {
            let key = format!("k{i}");
            let version = s.write(&key, b"v", None, Condition::Always).unwrap();
            assert!(seen.insert(version), "version {version} given twice (round {round}, {key})");
            assert_eq!(s.get_entry(&key).unwrap().unwrap().version, version);
        }
        s.increment("n", 1).unwrap();
        assert!(seen.insert(s.get_entry("n").unwrap().unwrap().version));
    }
    s.delete("k0").unwrap();
    assert!(seen.insert(s.write("k0", b"again", None, Condition::IfAbsent).unwrap()), "a re-created key");
}
