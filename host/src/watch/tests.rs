use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::backend::{Condition, SharedStore};
use crate::clock::ManualClock;
use crate::memory::MemoryStore;
use crate::metrics::Metrics;
use crate::{Bucket, Catalog, Error, Grant, KvCtx, Limits, Wait};

/// A catalog recording into metrics, with one memory store `app:kv`.
fn catalog(clock: ManualClock) -> (Catalog, SharedStore, Metrics) {
    let metrics = Metrics::new();
    let catalog = Catalog::with_metrics(metrics.clone());
    let store: SharedStore = Arc::new(MemoryStore::builder("app:kv").max_size(0).clock(Arc::new(clock)).build());
    catalog.insert(store.clone(), Limits::default());
    (catalog, store, metrics)
}

fn opened() -> (Bucket, ManualClock) {
    let clock = ManualClock::new(1_000);
    (catalog(clock.clone()).0.open("app:kv").unwrap(), clock)
}

fn set(key: &str, value: &str) -> Event {
    Event::Set { key: key.into(), value: value.as_bytes().to_vec() }
}

fn delete(key: &str) -> Event {
    Event::Delete { key: key.into() }
}

fn drained(watch: &mut Watch) -> Vec<Event> {
    std::iter::from_fn(|| watch.try_next()).collect()
}

#[test]
fn every_write_path_is_reported_with_its_new_value() {
    let (b, _) = opened();
    let mut w = b.watch("").unwrap();
    b.set("a", b"1", None).wait().unwrap();
    b.put("b", b"2", None, Condition::IfAbsent).wait().unwrap();
    b.increment("a", 41).wait().unwrap();
    b.set_many(&[("c".into(), b"3".to_vec()), ("d".into(), b"4".to_vec())], None).wait().unwrap();
    b.delete("b").wait().unwrap();
    b.delete_many(&["c".into(), "nothing".into()]).wait().unwrap();
    b.clear().wait().unwrap();
    let mut events = drained(&mut w);
    // clear reports the keys left in shard order: compare them as a set.
    let mut cleared = events.split_off(7);
    cleared.sort_by(|a, b| a.key().cmp(&b.key()));
    assert_eq!(
        events,
        [set("a", "1"), set("b", "2"), set("a", "42"), set("c", "3"), set("d", "4"), delete("b"), delete("c")]
    );
    assert_eq!(cleared, [delete("a"), delete("d")]);
}

#[test]
fn writes_that_change_nothing_are_not_reported() {
    let (b, _) = opened();
    b.set("a", b"1", None).wait().unwrap();
    let mut w = b.watch("").unwrap();
    assert!(matches!(b.put("a", b"2", None, Condition::IfAbsent).wait(), Err(Error::Conflict(_))));
    assert!(!b.delete("absent").wait().unwrap());
    assert!(b.increment("a", i64::MAX).wait().is_err());
    assert_eq!(drained(&mut w), []);
}

#[test]
fn expired_entries_are_reported_deleted_when_removed() {
    let clock = ManualClock::new(1_000);
    let (catalog, store, _) = catalog(clock.clone());
    let b = catalog.open("app:kv").unwrap();
    b.set("cleaned", b"1", Some(Duration::from_secs(1))).wait().unwrap();
    b.set("read", b"2", Some(Duration::from_secs(1))).wait().unwrap();
    b.set("kept", b"3", None).wait().unwrap();
    let mut w = b.watch("").unwrap();
    clock.advance(Duration::from_secs(2));
    // A read that finds an expired entry removes it; cleanup removes the rest.
    assert_eq!(b.get("read").wait().unwrap(), None);
    assert_eq!(drained(&mut w), [delete("read")]);
    assert_eq!(store.remove_expired().wait().unwrap(), 1);
    assert_eq!(drained(&mut w), [delete("cleaned")]);
}

#[test]
fn a_watch_sees_only_keys_under_its_prefix() {
    let (b, _) = opened();
    let mut users = b.watch("user:").unwrap();
    b.set("user:1", b"Ada", None).wait().unwrap();
    b.set("order:1", b"tea", None).wait().unwrap();
    b.delete("order:1").wait().unwrap();
    b.delete("user:1").wait().unwrap();
    assert_eq!(drained(&mut users), [set("user:1", "Ada"), delete("user:1")]);
}

#[test]
fn a_watch_is_narrowed_to_the_grant_and_refused_outside_it() {
    let (catalog, _, _) = catalog(ManualClock::new(0));
    let kv = KvCtx::builder(catalog.clone()).grant(Grant::new("app:kv").prefix("a/").read_only()).build();
    let granted = kv.open("app:kv").unwrap();
    let mut all = granted.watch("").unwrap();
    assert_eq!(all.prefix(), "a/");
    let refused = granted.watch("b/").unwrap_err();
    assert!(matches!(&refused, Error::AccessDenied(m) if m.contains("\"b/\"") && m.contains("\"a/\"")), "{refused:?}");
    let host = catalog.open("app:kv").unwrap();
    host.set("b/1", b"x", None).wait().unwrap();
    host.set("a/1", b"y", None).wait().unwrap();
    assert_eq!(drained(&mut all), [set("a/1", "y")]);
}

#[test]
fn a_watcher_that_falls_behind_reads_how_many_changes_it_missed() {
    let (catalog, _, metrics) = catalog(ManualClock::new(0));
    let b = catalog.open("app:kv").unwrap();
    let mut slow = b.watch("").unwrap();
    let total = QUEUE as u64 + 10;
    for i in 0..total {
        b.set("k", i.to_string(), None).wait().unwrap();
    }
    assert_eq!(slow.try_next(), Some(Event::Missed { count: Some(10) }));
    assert_eq!(slow.try_next(), Some(set("k", "10")));
    assert_eq!(drained(&mut slow).len(), QUEUE - 1);
    let text = metrics.encode();
    assert!(text.contains(r#"kvhost_watch_events_total{store="app:kv",outcome="missed"} 10"#), "{text}");
    assert!(
        text.contains(&format!(r#"kvhost_watch_events_total{{store="app:kv",outcome="delivered"}} {QUEUE}"#)),
        "{text}"
    );
}

#[test]
fn writers_never_wait_for_a_watcher_that_does_not_read() {
    // Without metrics, a memory store's write completes in the call itself.
    let catalog = Catalog::new();
    catalog.insert(Arc::new(MemoryStore::builder("app:kv").max_size(0).build()), Limits::default());
    let b = catalog.open("app:kv").unwrap();
    let _never_read = b.watch("").unwrap();
    // Far more writes than the queue holds all complete at once.
    for i in 0..QUEUE * 4 {
        assert!(b.set(&format!("k{i}"), b"v", None).is_ready());
    }
}

#[test]
fn each_key_s_changes_arrive_in_the_order_they_were_made_under_concurrent_writers() {
    let (b, _) = opened();
    let mut w = b.watch("").unwrap();
    const WRITERS: u64 = 4;
    const EACH: u64 = 200;
    std::thread::scope(|s| {
        for _ in 0..WRITERS {
            let b = b.clone();
            s.spawn(move || {
                for _ in 0..EACH {
                    b.increment("counter", 1).wait().unwrap();
                }
            });
        }
    });
    let seen: Vec<i64> = drained(&mut w)
        .into_iter()
        .map(|e| match e {
            Event::Set { value, .. } => String::from_utf8(value).unwrap().parse().unwrap(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(seen, (1..=(WRITERS * EACH) as i64).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_watch_ends_when_its_store_stops() {
    let (catalog, store, _) = catalog(ManualClock::new(0));
    let bucket = catalog.open("app:kv").unwrap();
    let mut w = bucket.watch("").unwrap();
    w.listening().await;
    assert!(w.is_listening());
    catalog.remove("app:kv");
    drop((bucket, store));
    assert_eq!(tokio::time::timeout(Duration::from_secs(10), w.next()).await.unwrap(), None);
}

#[test]
fn a_store_nobody_watches_publishes_nothing() {
    let store = MemoryStore::builder("m").build();
    let feed = crate::Store::feed(&store).unwrap();
    assert!(!feed.is_watched());
    assert_eq!(feed.scope(), WatchScope::Local);
}
