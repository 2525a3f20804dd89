//! Watching `store.sql` stores against the real servers.
//!
//! PostgreSQL (`shared`): the trigger publishes every change with NOTIFY,
//! so a watcher in another process (`kvhost watch`) or on another connection
//! sees every change made through any host, one key's in commit order.
//! SQLite and MariaDB (`local`): the changes this process makes.
//! The PostgreSQL restart test is `#[ignore]`d: scripts/test.sh runs it alone.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kvhost::clock::ManualClock;
use kvhost::sql::{Dialect, SqlDatabase, SqlDatabaseConfig, SqlStore, TableNames};
use kvhost::watch::{Event, Watch, WatchScope};
use kvhost::{Bucket, Catalog, Condition, Limits, Store as _};
use kvhost_tests::backend::{connect, mysql_config, postgres_config, runtime, unique_table};
use kvhost_tests::kvhost_bin;
use kvhost_tests::restart::restart_postgres;

/// How long a watcher may wait for one change before the test fails.
const WAIT: Duration = Duration::from_secs(20);

/// A table on `cfg`'s server (or SQLite file) and a store on it, on a pool
/// of its own, as another host would have.
struct Host {
    store: Arc<SqlStore>,
    bucket: Bucket,
}

async fn open(db: &Arc<SqlDatabase>, table: &str, clock: &ManualClock) -> Host {
    let names = TableNames::new(table);
    let store = SqlStore::open("test:kv", db.clone(), &names, Arc::new(clock.clone())).await.expect("open the store");
    let store = Arc::new(store);
    let catalog = Catalog::new();
    catalog.insert(store.clone(), Limits::default());
    let bucket = catalog.open("test:kv").unwrap();
    Host { store, bucket }
}

async fn create_table(db: &SqlDatabase, table: &str) {
    db.execute_ddl(&db.dialect().schema(&TableNames::new(table), Limits::DEFAULT_MAX_KEY_BYTES)).await.unwrap();
}

async fn drop_table(db: &SqlDatabase, table: &str) {
    db.execute_ddl(&[format!("DROP TABLE IF EXISTS {}", db.dialect().quote(table))]).await.unwrap();
}

/// The next event, failing the test after [`WAIT`].
async fn next(w: &mut Watch) -> Event {
    match tokio::time::timeout(WAIT, w.next()).await {
        Ok(Some(event)) => event,
        Ok(None) => panic!("the watch ended"),
        Err(_) => panic!("no change within {WAIT:?}"),
    }
}

/// Events up to and including the set of `sentinel`.
async fn until(w: &mut Watch, sentinel: &str) -> Vec<Event> {
    let mut seen = Vec::new();
    loop {
        let event = next(w).await;
        let done = matches!(&event, Event::Set { key, .. } if key == sentinel);
        seen.push(event);
        if done {
            return seen;
        }
    }
}

fn set(key: &str, value: &str) -> Event {
    Event::Set { key: key.into(), value: value.as_bytes().to_vec() }
}

fn delete(key: &str) -> Event {
    Event::Delete { key: key.into() }
}

/// Each key's values in the order seen (`None` = deleted).
fn per_key(events: &[Event]) -> BTreeMap<String, Vec<Option<Vec<u8>>>> {
    let mut keys: BTreeMap<String, Vec<Option<Vec<u8>>>> = BTreeMap::new();
    for e in events {
        match e {
            Event::Set { key, value } => keys.entry(key.clone()).or_default().push(Some(value.clone())),
            Event::Delete { key } => keys.entry(key.clone()).or_default().push(None),
            Event::Missed { count } => panic!("missed {count:?} changes"),
            _ => unreachable!(),
        }
    }
    keys
}

// ---------------------------------------------------------------- PostgreSQL

/// Concurrent writers through the library; `kvhost watch --json` in another
/// process sees every change under its prefix, nothing else, each key's
/// changes in commit order.
#[test]
fn postgres_watch_in_another_process_sees_every_change_in_commit_order() {
    const TASKS: usize = 4;
    const ROUNDS: usize = 40;
    let bin = kvhost_bin();
    let rt = runtime();
    let db = connect(&rt, &postgres_config());
    let table = unique_table("kvw_cli");
    let clock = ManualClock::starting_now();
    let writer = rt.block_on(async {
        create_table(&db, &table).await;
        open(&db, &table, &clock).await
    });
    assert_eq!(writer.bucket.watch_scope(), Some(WatchScope::Shared));
    let dir = tempfile::tempdir().unwrap();
    let reg = dir.path().join("registry.yaml");
    std::fs::write(
        &reg,
        format!(
            "namespace: app\nentries:\n  - {{name: pg, kind: db.sql.postgres, host: 127.0.0.1, port: 5432, database: test, username: postgres}}\n  - {{name: kv, kind: store.sql, database: app:pg, table_name: {table}}}\n"
        ),
    )
    .unwrap();
    let mut child = Command::new(bin)
        .args(["watch", "--config", reg.to_str().unwrap(), "app:kv", "--prefix", "p/", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kvhost watch");
    let (lines, stdout) = mpsc::channel::<String>();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || BufReader::new(out).lines().map_while(Result::ok).for_each(|l| drop(lines.send(l))));
    let (ready, stderr) = mpsc::channel::<String>();
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || BufReader::new(err).lines().map_while(Result::ok).for_each(|l| drop(ready.send(l))));
    // `kvhost watch` says "watching" once its LISTEN is issued.
    let mut said = Vec::new();
    while !said.iter().any(|l: &String| l.starts_with("watching")) {
        match stderr.recv_timeout(WAIT) {
            Ok(line) => said.push(line),
            Err(_) => panic!("kvhost watch did not start listening: {said:?}"),
        }
    }

    rt.block_on(async {
        let b = &writer.bucket;
        let tasks = (0..TASKS).map(|t| async move {
            for i in 0..ROUNDS {
                b.increment("p/counter", 1).await.unwrap();
                b.set(&format!("p/k{}", i % 3), format!("t{t}-{i}"), None).await.unwrap();
                b.set("q/outside", "x", None).await.unwrap();
            }
        });
        futures_join(tasks.collect()).await;
        b.delete("p/k0").await.unwrap();
        b.set_many(&[("p/m1".into(), b"1".to_vec()), ("p/m2".into(), b"2".to_vec())], None).await.unwrap();
        assert_eq!(b.delete_many(&["p/m1".into(), "p/none".into()]).await.unwrap(), 1);
        b.set("p/end", "done", None).await.unwrap();
    });

    let deadline = Instant::now() + WAIT * 3;
    let mut events = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line =
            stdout.recv_timeout(left).unwrap_or_else(|_| panic!("the watcher stopped after {} changes", events.len()));
        let event = parse_json_line(&line);
        let done = event == set("p/end", "done");
        events.push(event);
        if done {
            break;
        }
    }
    child.kill().ok();
    child.wait().ok();

    let keys = per_key(&events);
    assert!(keys.keys().all(|k| k.starts_with("p/")), "a change outside the prefix: {:?}", keys.keys());
    // Every increment, in commit order: 1, 2, ... with none missing.
    let counter: Vec<Option<Vec<u8>>> = (1..=TASKS * ROUNDS).map(|n| Some(n.to_string().into_bytes())).collect();
    assert_eq!(keys["p/counter"], counter);
    // Every set of each shared key, and the last one is what the table holds.
    rt.block_on(async {
        for k in ["p/k0", "p/k1", "p/k2"] {
            let seen = &keys[k];
            let sets = seen.iter().filter(|v| v.is_some()).count();
            assert_eq!(sets, (0..ROUNDS).filter(|i| format!("p/k{}", i % 3) == k).count() * TASKS, "{k}");
            assert_eq!(*seen.last().unwrap(), writer.bucket.get(k).await.unwrap(), "{k}: last change seen vs table");
        }
    });
    assert_eq!(keys["p/m1"], [Some(b"1".to_vec()), None]);
    assert_eq!(keys["p/m2"], [Some(b"2".to_vec())]);
    assert!(!keys.contains_key("p/none"));
    rt.block_on(async {
        drop_table(&db, &table).await;
        db.close().await;
    });
}

/// Run futures at once on this task (a small `join_all`).
async fn futures_join<F: Future<Output = ()>>(futures: Vec<F>) {
    let mut running: Vec<Option<std::pin::Pin<Box<F>>>> = futures.into_iter().map(|f| Some(Box::pin(f))).collect();
    std::future::poll_fn(|cx| {
        for slot in running.iter_mut() {
            if let Some(f) = slot
                && f.as_mut().poll(cx).is_ready()
            {
                *slot = None;
            }
        }
        if running.iter().all(Option::is_none) { std::task::Poll::Ready(()) } else { std::task::Poll::Pending }
    })
    .await
}

/// One `kvhost watch --json` line as an event (values are UTF-8 here).
fn parse_json_line(line: &str) -> Event {
    let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
    let key = v["key"].as_str().unwrap_or_else(|| panic!("{line}")).to_owned();
    match v["op"].as_str() {
        Some("set") => {
            assert_eq!(v["encoding"], "utf8", "{line}");
            Event::Set { key, value: v["value"].as_str().unwrap().as_bytes().to_vec() }
        }
        Some("delete") => Event::Delete { key },
        _ => panic!("unexpected line {line}"),
    }
}

/// Another host on its own connection sees clear, the cleanup of expired
/// rows, a value too large for a NOTIFY payload, its own writes once, and a
/// TRUNCATE as changes missed.
#[test]
fn postgres_watcher_on_another_connection_sees_clear_cleanup_and_large_values() {
    let rt = runtime();
    let cfg = postgres_config();
    let db = connect(&rt, &cfg);
    let other_db = connect(&rt, &cfg);
    let table = unique_table("kvw_pg");
    let clock = ManualClock::starting_now();
    rt.block_on(async {
        create_table(&db, &table).await;
        let writer = open(&db, &table, &clock).await;
        let watcher = open(&other_db, &table, &clock).await;
        assert_eq!(watcher.bucket.watch_scope(), Some(WatchScope::Shared));
        let mut w = watcher.bucket.watch("").unwrap();
        tokio::time::timeout(WAIT, w.listening()).await.expect("listening");

        // Larger than a NOTIFY payload: the listener reads it from the table.
        let large: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
        writer.bucket.set("large", large.clone(), None).await.unwrap();
        assert_eq!(next(&mut w).await, Event::Set { key: "large".into(), value: large });
        // Just under the inline limit: in the payload itself, binary intact.
        let mid: Vec<u8> = (0..5_000u32).map(|i| (i % 256) as u8).collect();
        writer.bucket.set("mid", mid.clone(), None).await.unwrap();
        assert_eq!(next(&mut w).await, Event::Set { key: "mid".into(), value: mid });

        // Expired rows removed by cleanup are deletes.
        writer.bucket.set("ttl/1", "a", Some(Duration::from_secs(1))).await.unwrap();
        writer.bucket.set("ttl/2", "b", Some(Duration::from_secs(1))).await.unwrap();
        clock.advance(Duration::from_secs(2));
        assert_eq!(writer.store.remove_expired().await.unwrap(), 2);
        let seen = until_count(&mut w, 4).await;
        assert_eq!(seen[..2], [set("ttl/1", "a"), set("ttl/2", "b")]);
        assert_eq!(set_of(&seen[2..]), set_of(&[delete("ttl/1"), delete("ttl/2")]));

        // The watcher's own host's writes arrive once, through the trigger.
        watcher.bucket.set("own", "1", None).await.unwrap();
        writer.bucket.set("sentinel", "s", None).await.unwrap();
        assert_eq!(until(&mut w, "sentinel").await, [set("own", "1"), set("sentinel", "s")]);

        // clear: a delete for every key.
        writer.bucket.clear().await.unwrap();
        let seen = until_count(&mut w, 4).await;
        assert_eq!(set_of(&seen), set_of(&[delete("large"), delete("mid"), delete("own"), delete("sentinel")]));

        // A TRUNCATE names no key: the watcher is told it missed changes.
        writer.bucket.set("t", "1", None).await.unwrap();
        assert_eq!(next(&mut w).await, set("t", "1"));
        db.execute_ddl(&[format!("TRUNCATE {}", Dialect::Postgres.quote(&table))]).await.unwrap();
        assert_eq!(next(&mut w).await, Event::Missed { count: None });
        writer.bucket.set("after", "1", None).await.unwrap();
        assert_eq!(next(&mut w).await, set("after", "1"));
        assert_eq!(w.try_next(), None);

        drop(w);
        drop((writer, watcher));
        drop_table(&db, &table).await;
        db.close().await;
        other_db.close().await;
    });
}

async fn until_count(w: &mut Watch, n: usize) -> Vec<Event> {
    let mut seen = Vec::new();
    while seen.len() < n {
        seen.push(next(w).await);
    }
    seen
}

fn set_of(events: &[Event]) -> BTreeSet<String> {
    events.iter().map(|e| format!("{e:?}")).collect()
}

/// A role that may write the table but not install the trigger: the store
/// opens anyway, its watchers see this process's changes (`local`), and
/// nothing is published twice.
#[test]
fn postgres_store_without_the_trigger_privilege_opens_and_watches_locally() {
    let rt = runtime();
    let cfg = postgres_config();
    let admin = connect(&rt, &cfg);
    let table = unique_table("kvw_priv");
    let role = unique_table("kvw_role");
    let names = TableNames::new(table.as_str());
    rt.block_on(async {
        // The table alone, without the trigger.
        admin.execute_ddl(&Dialect::Postgres.schema(&names, 255)[..2]).await.unwrap();
        admin
            .execute_ddl(&[
                format!("CREATE ROLE \"{role}\" LOGIN"),
                format!("GRANT SELECT, INSERT, UPDATE, DELETE ON \"{table}\" TO \"{role}\""),
            ])
            .await
            .unwrap();
    });
    let mut limited_cfg: SqlDatabaseConfig = cfg.clone();
    if let kvhost::sql::DatabaseTarget::Server { username, .. } = &mut limited_cfg.target {
        *username = role.clone();
    }
    let limited = connect(&rt, &limited_cfg);
    let clock = ManualClock::starting_now();
    rt.block_on(async {
        let host = open(&limited, &table, &clock).await;
        assert_eq!(host.bucket.watch_scope(), Some(WatchScope::Local));
        let mut w = host.bucket.watch("").unwrap();
        host.bucket.set("a", "1", None).await.unwrap();
        host.bucket.increment("n", 2).await.unwrap();
        host.bucket.delete_many(&["a".into()]).await.unwrap();
        host.bucket.set("end", "e", None).await.unwrap();
        assert_eq!(until(&mut w, "end").await, [set("a", "1"), set("n", "2"), delete("a"), set("end", "e")]);
        assert_eq!(w.try_next(), None);
        drop((w, host));
        limited.close().await;
        drop_table(&admin, &table).await;
        admin.execute_ddl(&[format!("DROP ROLE \"{role}\"")]).await.unwrap();
        admin.close().await;
    });
}

// ------------------------------------------------------ SQLite and MariaDB

/// Every write path of this process, seen by a watcher of the same store.
fn local_changes_are_seen(cfg: SqlDatabaseConfig) {
    let rt = runtime();
    let db = connect(&rt, &cfg);
    let table = unique_table("kvw_local");
    let clock = ManualClock::starting_now();
    rt.block_on(async {
        create_table(&db, &table).await;
        let host = open(&db, &table, &clock).await;
        let b = &host.bucket;
        assert_eq!(b.watch_scope(), Some(WatchScope::Local));
        let mut w = b.watch("p/").unwrap();
        b.set("p/a", "1", None).await.unwrap();
        b.put("p/b", "2", None, Condition::Always).await.unwrap();
        b.put("p/b", "3", None, Condition::IfAbsent).await.unwrap_err();
        b.increment("p/n", 5).await.unwrap();
        b.set_many(&[("p/c".into(), b"c".to_vec()), ("p/d".into(), b"d".to_vec())], None).await.unwrap();
        b.set("q/x", "outside", None).await.unwrap();
        assert!(b.delete("p/a").await.unwrap());
        assert!(!b.delete("p/missing").await.unwrap());
        assert_eq!(b.delete_many(&["p/c".into(), "p/zz".into()]).await.unwrap(), 1);
        b.set("p/t", "t", Some(Duration::from_secs(1))).await.unwrap();
        clock.advance(Duration::from_secs(2));
        assert_eq!(host.store.remove_expired().await.unwrap(), 1);
        b.set("p/end", "e", None).await.unwrap();
        assert_eq!(
            until(&mut w, "p/end").await,
            [
                set("p/a", "1"),
                set("p/b", "2"),
                set("p/n", "5"),
                set("p/c", "c"),
                set("p/d", "d"),
                delete("p/a"),
                delete("p/c"),
                set("p/t", "t"),
                delete("p/t"),
                set("p/end", "e"),
            ]
        );
        b.clear().await.unwrap();
        let cleared = until_count(&mut w, 4).await;
        assert_eq!(set_of(&cleared), set_of(&[delete("p/b"), delete("p/n"), delete("p/d"), delete("p/end")]));
        assert_eq!(w.try_next(), None, "q/x is outside the prefix");

        // Concurrent tasks, each writing its own keys: each key's changes in
        // order, and the last one is what the table holds.
        let tasks = (0..4).map(|t| async move {
            for i in 0..30 {
                b.set(&format!("p/w{t}"), format!("{i}"), None).await.unwrap();
                b.increment(&format!("p/c{t}"), 1).await.unwrap();
            }
        });
        futures_join(tasks.collect()).await;
        b.set("p/end", "e", None).await.unwrap();
        let keys = per_key(&until(&mut w, "p/end").await);
        for t in 0..4 {
            let want: Vec<Option<Vec<u8>>> = (0..30).map(|i| Some(i.to_string().into_bytes())).collect();
            assert_eq!(keys[&format!("p/w{t}")], want);
            let want: Vec<Option<Vec<u8>>> = (1..=30).map(|i| Some(i.to_string().into_bytes())).collect();
            assert_eq!(keys[&format!("p/c{t}")], want);
        }
        drop(w);
        drop(host);
        drop_table(&db, &table).await;
        db.close().await;
    });
}

#[test]
fn sqlite_watcher_sees_every_change_this_process_makes() {
    let dir = tempfile::tempdir().unwrap();
    local_changes_are_seen(SqlDatabaseConfig {
        dialect: Dialect::Sqlite,
        target: kvhost::sql::DatabaseTarget::Sqlite { file: Some(dir.path().join("kv.db")) },
        options: Default::default(),
        pool: kvhost::sql::PoolConfig { max_open: 4, max_idle: 1, ..Default::default() },
        query_timeout: std::time::Duration::from_secs(30),
    });
}

#[test]
fn mariadb_watcher_sees_every_change_this_process_makes() {
    local_changes_are_seen(mysql_config());
}

// ------------------------------------------------------------ restart

/// A PostgreSQL restart under a watcher: it reads `Missed { count: None }`,
/// listens again by itself, and sees the changes made after.
#[test]
#[ignore = "restarts PostgreSQL: scripts/test.sh runs it alone, after the main suite"]
fn postgres_restart_under_a_watcher_is_reported_and_watching_resumes() {
    let rt = runtime();
    let cfg = postgres_config();
    let db = connect(&rt, &cfg);
    let other_db = connect(&rt, &cfg);
    let table = unique_table("kvw_restart");
    let clock = ManualClock::starting_now();
    rt.block_on(async {
        create_table(&db, &table).await;
        let writer = open(&db, &table, &clock).await;
        let watcher = open(&other_db, &table, &clock).await;
        let mut w = watcher.bucket.watch("").unwrap();
        tokio::time::timeout(WAIT, w.listening()).await.expect("listening");
        writer.bucket.set("before", "1", None).await.unwrap();
        assert_eq!(next(&mut w).await, set("before", "1"));

        tokio::task::spawn_blocking(restart_postgres).await.unwrap();
        assert_eq!(next(&mut w).await, Event::Missed { count: None });
        tokio::time::timeout(Duration::from_secs(60), w.listening()).await.expect("listening again");
        // The writer's pooled connections died with the server: the first
        // writes may fail as unavailable until it has fresh ones.
        let mut attempts = 0;
        while writer.bucket.set("after", "2", None).await.is_err() {
            attempts += 1;
            assert!(attempts < 100, "the writer never recovered");
        }
        assert_eq!(next(&mut w).await, set("after", "2"));
        drop(w);
        drop((writer, watcher));
        drop_table(&db, &table).await;
        db.close().await;
        other_db.close().await;
    });
}
