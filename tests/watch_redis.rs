//! Watching Redis stores across hosts: changes are published by the write
//! itself on the server, so a second kvhost process (`kvhost watch --json`)
//! and a second host in this process, each on connections of its own, see
//! every change the first makes, under their prefix only, in the order each
//! key changed.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use kvhost::clock::ManualClock;
use kvhost::redis::RedisStore;
use kvhost::registry::Registry;
use kvhost::watch::{Event, Watch, WatchScope};
use kvhost::{Bucket, Catalog, Condition, Host, Limits, Store};
use kvhost_tests::backend::{connect_redis, runtime, unique_table};
use kvhost_tests::kvhost_bin;
use kvhost_tests::needs::Need;

/// The longest wait for one change, or for a watcher to listen.
const WAIT: Duration = Duration::from_secs(10);

/// A registry with `db.redis` `app:redis` (database 0) and two stores on
/// prefixes of this test's own: `app:kv` and `app:other`. Its path and
/// `app:kv`'s prefix.
fn registry(dir: &std::path::Path) -> (std::path::PathBuf, String) {
    let prefix = format!("{}:", unique_table("kvhost-watch"));
    let other = format!("{}:", unique_table("kvhost-watch"));
    let yaml = format!(
        "namespace: app\nentries:\n  - {{name: redis, kind: db.redis}}\n  \
         - {{name: kv, kind: store.redis, database: app:redis, key_prefix: \"{prefix}\"}}\n  \
         - {{name: other, kind: store.redis, database: app:redis, key_prefix: \"{other}\"}}\n"
    );
    let file = dir.join("registry.yaml");
    std::fs::write(&file, yaml).unwrap();
    (file, prefix)
}

/// A host of its own on `registry`, with `ids` started.
async fn host(registry: &std::path::Path, ids: &[&str]) -> Host {
    Need::Redis.check();
    let yaml = std::fs::read_to_string(registry).unwrap();
    let host = Host::new(Registry::from_yaml(registry, &yaml).unwrap());
    let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    if let Err(e) = host.start(&ids).await {
        Need::Redis.missing(format!("{e:#}"));
    }
    host
}

/// One change as `kvhost watch --json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Line {
    Set(String, String),
    Delete(String),
    Missed,
}

/// `kvhost watch --config REGISTRY STORE --prefix PREFIX --json`, running.
struct CliWatcher {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl CliWatcher {
    /// Start it, and wait until it says it listens.
    fn start(registry: &std::path::Path, store: &str, prefix: &str) -> Self {
        let mut child = Command::new(kvhost_bin())
            .args(["watch", "--config"])
            .arg(registry)
            .args([store, "--prefix", prefix, "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kvhost watch starts");
        let (ready_tx, ready) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("kvhost watch: {line}");
                let _ = ready_tx.send(line);
            }
        });
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let watcher = Self { child, lines };
        loop {
            match ready.recv_timeout(WAIT) {
                Ok(line) if line.starts_with("watching") => {
                    assert!(line.contains("(shared)"), "a Redis store is watched across hosts: {line}");
                    return watcher;
                }
                Ok(_) => {}
                Err(e) => panic!("kvhost watch did not say it listens within {WAIT:?} ({e})"),
            }
        }
    }

    /// The next change it prints.
    fn next(&self) -> Line {
        let line = self.lines.recv_timeout(WAIT).unwrap_or_else(|e| panic!("no change printed within {WAIT:?}: {e}"));
        parse_line(&line)
    }

    /// Changes up to and including `last`.
    fn until(&self, last: &Line) -> Vec<Line> {
        let mut seen = Vec::new();
        loop {
            let line = self.next();
            seen.push(line.clone());
            if &line == last {
                return seen;
            }
        }
    }
}

impl Drop for CliWatcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A JSON line of `kvhost watch --json`, for the values these tests write
/// (UTF-8 text without quotes or backslashes).
fn parse_line(line: &str) -> Line {
    let field = |name: &str| -> Option<String> {
        let start = line.find(&format!("\"{name}\":\""))? + name.len() + 4;
        Some(line[start..][..line[start..].find('"')?].to_owned())
    };
    match field("op").as_deref() {
        Some("set") => {
            assert_eq!(field("encoding").as_deref(), Some("utf8"), "{line}");
            Line::Set(field("key").unwrap(), field("value").unwrap())
        }
        Some("delete") => Line::Delete(field("key").unwrap()),
        _ if line.contains("\"op\":\"missed\"") => Line::Missed,
        _ => panic!("not a change: {line}"),
    }
}

fn set(key: &str, value: &str) -> Line {
    Line::Set(key.to_owned(), value.to_owned())
}

fn delete(key: &str) -> Line {
    Line::Delete(key.to_owned())
}

/// The next event of `watch`, waiting at most [`WAIT`].
async fn next(watch: &mut Watch) -> Event {
    tokio::time::timeout(WAIT, watch.next())
        .await
        .unwrap_or_else(|_| panic!("no change within {WAIT:?}"))
        .expect("the store is running")
}

/// Listen on `watch`, waiting at most [`WAIT`].
async fn listening(watch: &mut Watch) {
    tokio::time::timeout(WAIT, watch.listening()).await.expect("the watcher listens");
}

fn clear_prefix(prefix: &str) {
    let mut con = redis::Client::open("redis://127.0.0.1:6379/0").unwrap().get_connection().unwrap();
    let keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg(format!("{prefix}*")).query(&mut con).unwrap();
    if !keys.is_empty() {
        redis::cmd("DEL").arg(keys).query::<()>(&mut con).unwrap();
    }
}

#[test]
fn a_second_process_sees_every_write_path_under_its_prefix_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let (reg, prefix) = registry(dir.path());
    let rt = runtime();
    let host = rt.block_on(host(&reg, &["app:kv", "app:other"]));
    let watcher = CliWatcher::start(&reg, "app:kv", "user:");
    let kv = host.catalog().open("app:kv").unwrap();
    let other = host.catalog().open("app:other").unwrap();
    let mut raw = redis::Client::open("redis://127.0.0.1:6379/0").unwrap().get_connection().unwrap();
    rt.block_on(async {
        kv.set("user:1", "Ada", None).await.unwrap();
        kv.set("order:9", "tea", None).await.unwrap();
        other.set("user:1", "in another store", None).await.unwrap();
        kv.put("user:2", "Grace", None, Condition::IfAbsent).await.unwrap();
        kv.put("user:2", "not written", None, Condition::IfAbsent).await.unwrap_err();
        assert_eq!(kv.increment("user:n", 5).await.unwrap(), 5);
        let many = [("user:a", "A"), ("order:x", "X"), ("user:b", "B")];
        let many: Vec<(String, Vec<u8>)> = many.iter().map(|(k, v)| (k.to_string(), v.as_bytes().to_vec())).collect();
        kv.set_many(&many, None).await.unwrap();
        assert!(kv.delete("user:1").await.unwrap());
        assert!(!kv.delete("user:absent").await.unwrap(), "a delete of nothing is no change");
        assert_eq!(kv.delete_many(&["user:a".into(), "order:x".into(), "user:none".into()]).await.unwrap(), 2);
    });
    // Another Redis client writing under the prefix publishes nothing.
    redis::cmd("SET").arg(format!("{prefix}user:from-cli")).arg("x").query::<()>(&mut raw).unwrap();
    rt.block_on(kv.set("user:end", "1", None)).unwrap();
    let seen = watcher.until(&set("user:end", "1"));
    assert_eq!(
        seen,
        [
            set("user:1", "Ada"),
            set("user:2", "Grace"),
            set("user:n", "5"),
            set("user:a", "A"),
            set("user:b", "B"),
            delete("user:1"),
            delete("user:a"),
            set("user:end", "1"),
        ],
        "every change under user: of app:kv, in order; nothing of order:, app:other or another client"
    );

    // clear removes every key under the prefix (in SCAN's order), each a delete.
    rt.block_on(kv.clear()).unwrap();
    rt.block_on(kv.set("user:after-clear", "1", None)).unwrap();
    let mut seen = watcher.until(&set("user:after-clear", "1"));
    seen.pop();
    let seen: BTreeSet<Line> = seen.into_iter().collect();
    let expected: BTreeSet<Line> =
        ["user:2", "user:n", "user:b", "user:end", "user:from-cli"].into_iter().map(delete).collect();
    assert_eq!(seen, expected, "clear reports each key it removed under the prefix");
    drop(watcher);
    rt.block_on(kv.clear()).unwrap();
    rt.block_on(other.clear()).unwrap();
    rt.block_on(host.shutdown());
}

/// Writers per host, hosts, keys they share, writes per writer.
const WRITERS: usize = 3;
const HOSTS: usize = 2;
const KEYS: usize = 8;
const WRITES: usize = 300;

#[test]
fn under_concurrent_writers_on_two_hosts_each_watcher_ends_with_what_the_store_holds() {
    let dir = tempfile::tempdir().unwrap();
    let (reg, _) = registry(dir.path());
    let rt = runtime();
    let hosts: Vec<Host> = (0..HOSTS).map(|_| rt.block_on(host(&reg, &["app:kv"]))).collect();
    let watcher = CliWatcher::start(&reg, "app:kv", "k");
    // A watcher in this process too, on a third host's connections.
    let third = rt.block_on(host(&reg, &["app:kv"]));
    let bucket = third.catalog().open("app:kv").unwrap();
    let mut watch = bucket.watch("k").unwrap();
    rt.block_on(listening(&mut watch));

    rt.block_on(async {
        let mut tasks = Vec::new();
        for (h, host) in hosts.iter().enumerate() {
            for w in 0..WRITERS {
                let catalog = host.catalog().clone();
                tasks.push(tokio::spawn(async move {
                    let bucket = catalog.open("app:kv").unwrap();
                    for i in 0..WRITES {
                        let key = format!("k{}", (i * 7 + w * 3 + h) % KEYS);
                        match i % 10 {
                            3 => {
                                bucket.delete(&key).await.unwrap();
                            }
                            7 => {
                                bucket.increment("kcount", 1).await.unwrap();
                            }
                            _ => bucket.set(&key, format!("h{h}w{w}i{i}"), None).await.unwrap(),
                        }
                    }
                }));
            }
        }
        for task in tasks {
            task.await.unwrap();
        }
    });
    let end = &hosts[0].catalog().open("app:kv").unwrap();
    rt.block_on(end.set("kz-end", "1", None)).unwrap();

    // What the store holds now, key by key.
    let mut keys: Vec<String> = (0..KEYS).map(|k| format!("k{k}")).collect();
    keys.push("kcount".into());
    let held: BTreeMap<String, Option<String>> = keys
        .iter()
        .map(|k| (k.clone(), rt.block_on(end.get(k)).unwrap().map(|v| String::from_utf8(v).unwrap())))
        .collect();
    assert_eq!(held["kcount"].as_deref(), Some((HOSTS * WRITERS * WRITES / 10).to_string().as_str()));

    // The last change each watcher saw of each key.
    let mut last: BTreeMap<String, Option<String>> = BTreeMap::new();
    let seen = watcher.until(&set("kz-end", "1"));
    let total = seen.len();
    for line in seen {
        match line {
            Line::Set(k, v) => last.insert(k, Some(v)),
            Line::Delete(k) => last.insert(k, None),
            Line::Missed => panic!("the watcher missed changes"),
        };
    }
    last.remove("kz-end");
    let last: BTreeMap<String, Option<String>> =
        keys.iter().map(|k| (k.clone(), last.get(k).cloned().flatten())).collect();
    assert_eq!(last, held, "the other process's last change per key is what the store holds");

    let mut in_process: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut count = 0;
    rt.block_on(async {
        loop {
            count += 1;
            match next(&mut watch).await {
                Event::Set { key, .. } if key == "kz-end" => break,
                Event::Set { key, value } => in_process.insert(key, Some(String::from_utf8(value).unwrap())),
                Event::Delete { key } => in_process.insert(key, None),
                other => panic!("unexpected {other:?}"),
            };
        }
    });
    assert_eq!(count, total, "both watchers saw the same number of changes");
    let in_process: BTreeMap<String, Option<String>> =
        keys.iter().map(|k| (k.clone(), in_process.get(k).cloned().flatten())).collect();
    assert_eq!(in_process, held, "this process's watcher agrees");
    println!("{total} changes seen by each watcher from {} writers on {HOSTS} hosts", HOSTS * WRITERS);

    drop(watcher);
    rt.block_on(end.clear()).unwrap();
    for host in hosts {
        rt.block_on(host.shutdown());
    }
    rt.block_on(third.shutdown());
}

/// A store on `database` of the local Redis with keys under `prefix`,
/// running on a manual clock, in a catalog of its own.
fn store_on(
    rt: &tokio::runtime::Runtime,
    database: u32,
    prefix: &str,
    clock: &ManualClock,
) -> (Arc<RedisStore>, Bucket) {
    let db = if database == 0 {
        connect_redis(rt)
    } else {
        let cfg = kvhost::redis::RedisDatabaseConfig { database, ..kvhost::redis::RedisDatabaseConfig::local() };
        Arc::new(rt.block_on(kvhost::redis::RedisDatabase::connect("test:redis", &cfg)).unwrap())
    };
    let store = Arc::new(rt.block_on(RedisStore::open("t:kv", db, prefix, Arc::new(clock.clone()))).unwrap());
    let catalog = Catalog::new();
    catalog.insert(store.clone(), Limits::default());
    (store, catalog.open("t:kv").unwrap())
}

#[test]
fn a_store_with_the_same_prefix_in_another_database_is_another_channel() {
    let rt = runtime();
    let prefix = format!("{}:", unique_table("kvhost-watchdb"));
    let clock = ManualClock::starting_now();
    let (zero, in_zero) = store_on(&rt, 0, &prefix, &clock);
    let (one, in_one) = store_on(&rt, 1, &prefix, &clock);
    assert_ne!(zero.channel(), one.channel());
    assert_eq!(in_zero.watch_scope(), Some(WatchScope::Shared));
    let mut watch = in_zero.watch("").unwrap();
    rt.block_on(async {
        listening(&mut watch).await;
        in_one.set("k", "in database 1", None).await.unwrap();
        in_zero.set("k", "in database 0", None).await.unwrap();
        assert_eq!(next(&mut watch).await, Event::Set { key: "k".into(), value: b"in database 0".to_vec() });
        in_one.clear().await.unwrap();
        in_zero.clear().await.unwrap();
        assert_eq!(next(&mut watch).await, Event::Delete { key: "k".into() });
        assert_eq!(watch.try_next(), None);
    });
}

#[test]
fn expired_entries_are_reported_once_when_kvhost_removes_them() {
    let rt = runtime();
    let prefix = format!("{}:", unique_table("kvhost-watchttl"));
    let clock = ManualClock::starting_now();
    let (store, bucket) = store_on(&rt, 0, &prefix, &clock);
    let mut watch = bucket.watch("").unwrap();
    rt.block_on(async {
        listening(&mut watch).await;
        // Expired by the host's clock (Redis's has not got there): the
        // cleanup deletes it, and says so.
        bucket.set("by-host-clock", "v", Some(Duration::from_secs(3600))).await.unwrap();
        assert_eq!(next(&mut watch).await, Event::Set { key: "by-host-clock".into(), value: b"v".to_vec() });
        clock.advance(Duration::from_secs(3601));
        assert_eq!(store.remove_expired().await.unwrap(), 1);
        assert_eq!(next(&mut watch).await, Event::Delete { key: "by-host-clock".into() });

        // Expired by Redis itself (its expiry time already past on the
        // server when written): no command runs when it goes, so it is
        // reported when kvhost next finds its key gone from the index.
        let mut con =
            redis::Client::open("redis://127.0.0.1:6379/0").unwrap().get_multiplexed_async_connection().await.unwrap();
        bucket.set("by-redis", "v", None).await.unwrap();
        assert_eq!(next(&mut watch).await, Event::Set { key: "by-redis".into(), value: b"v".to_vec() });
        redis::cmd("PEXPIREAT").arg(format!("{prefix}by-redis")).arg(1).query_async::<()>(&mut con).await.unwrap();
        let exists: bool = redis::cmd("EXISTS").arg(format!("{prefix}by-redis")).query_async(&mut con).await.unwrap();
        assert!(!exists, "Redis removed it");
        assert_eq!(watch.try_next(), None, "nothing tells kvhost when Redis expires a key");
        assert_eq!(store.remove_expired().await.unwrap(), 1);
        assert_eq!(next(&mut watch).await, Event::Delete { key: "by-redis".into() });
        assert_eq!(store.remove_expired().await.unwrap(), 0);
        bucket.set("end", "1", None).await.unwrap();
        assert_eq!(next(&mut watch).await, Event::Set { key: "end".into(), value: b"1".to_vec() }, "reported once");
        bucket.clear().await.unwrap();
    });
    clear_prefix(&prefix);
}
