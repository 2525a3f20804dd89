//! Redis restarted (SHUTDOWN, then started again with the same settings)
//! under a watcher of a Redis store: the watcher reads that it missed
//! changes (`Missed { count: None }`: nobody knows how many), listens again
//! by itself once the server is back, and sees the changes made after.
//!
//! It restarts the server every other Redis test uses, so it is `#[ignore]`d
//! in the main run and run alone by scripts/test.sh afterwards.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kvhost::clock::SystemClock;
use kvhost::redis::RedisStore;
use kvhost::watch::Event;
use kvhost::{Catalog, Limits};
use kvhost_tests::backend::{connect_redis, runtime, unique_table};
use kvhost_tests::restart::restart_redis;

/// The longest wait for one change, for the watcher to listen again, or
/// for the server to accept a write again.
const WAIT: Duration = Duration::from_secs(30);

#[test]
#[ignore = "restarts Redis: scripts/test.sh runs it alone, after the main suite"]
fn a_watcher_reads_missed_across_a_redis_restart_then_sees_later_changes() {
    let rt = runtime();
    let db = connect_redis(&rt);
    let prefix = format!("{}:", unique_table("kvhost-watch-restart"));
    let store = rt.block_on(RedisStore::open("t:kv", db, &prefix, Arc::new(SystemClock))).unwrap();
    let catalog = Catalog::new();
    catalog.insert(Arc::new(store), Limits::default());
    let bucket = catalog.open("t:kv").unwrap();
    let mut watch = bucket.watch("").unwrap();
    let next = |watch: &mut kvhost::watch::Watch| {
        rt.block_on(async { tokio::time::timeout(WAIT, watch.next()).await })
            .unwrap_or_else(|_| panic!("no change within {WAIT:?}"))
            .expect("the store is running")
    };

    rt.block_on(async { tokio::time::timeout(WAIT, watch.listening()).await }).expect("listens");
    rt.block_on(bucket.set("before", "1", None)).unwrap();
    assert_eq!(next(&mut watch), Event::Set { key: "before".into(), value: b"1".to_vec() });

    restart_redis();
    assert_eq!(next(&mut watch), Event::Missed { count: None }, "the lost connection is reported");
    rt.block_on(async { tokio::time::timeout(WAIT, watch.listening()).await })
        .expect("the watcher listens again by itself once Redis is back");
    assert!(watch.is_listening());

    // The store's own connection reconnects on demand: its first writes may
    // still fail as unavailable.
    let started = Instant::now();
    let mut refused = 0;
    while let Err(e) = rt.block_on(bucket.set("after", "2", None)) {
        assert!(started.elapsed() < WAIT, "no write accepted within {WAIT:?} after the restart: {e}");
        refused += 1;
    }
    assert_eq!(next(&mut watch), Event::Set { key: "after".into(), value: b"2".to_vec() });
    rt.block_on(bucket.delete("after")).unwrap();
    assert_eq!(next(&mut watch), Event::Delete { key: "after".into() });
    println!("after the restart: {refused} writes refused before the first was accepted; the watcher resumed");
    rt.block_on(bucket.clear()).unwrap();
}
