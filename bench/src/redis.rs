//! Measures 11: Redis stores against raw redis-rs doing the same work on the
//! same server, with the same connection settings (one multiplexed
//! connection behind a `ConnectionManager`).
//!
//! One client runs on a current-thread runtime. On a multi-thread runtime a
//! loopback round trip on this machine takes either about 10 µs or about
//! 75 µs, depending on which worker the connection's task lands on, and the
//! same loop flips between the two from one run to the next; on one thread
//! it stays at one value, so contenders can be compared. Sixteen clients run
//! on the multi-thread runtime `kvhost run` uses.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kvhost::clock::SystemClock;
use kvhost::redis::{RedisDatabase, RedisDatabaseConfig, RedisStore};
use kvhost::{Catalog, KvCtx, Limits, SharedStore, Store, Wait};
use kvhost_tests::backend::unique_table;
use kvhost_tests::rt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::runtime::Runtime;

use crate::guest::{bench_run, join, spawn};
use crate::measure::{Report, cpu_ns, median};

const KEY: &str = "bench-key-0000ab";
const VALUE: [u8; 100] = [7; 100];
const ROUNDS: usize = 5;

/// Raw redis-rs as kvhost connects: one manager, 5 s timeouts.
async fn raw_connection() -> anyhow::Result<ConnectionManager> {
    let client = redis::Client::open("redis://127.0.0.1:6379/0")?;
    let config = ConnectionManagerConfig::new()
        .set_response_timeout(Some(Duration::from_secs(5)))
        .set_connection_timeout(Some(Duration::from_secs(5)));
    Ok(ConnectionManager::new_with_config(client, config).await?)
}

/// A store under `prefix` whose connection lives on `runtime`.
fn open_store(runtime: &Runtime, id: &str, prefix: &str) -> anyhow::Result<SharedStore> {
    runtime.block_on(async {
        let db = Arc::new(RedisDatabase::connect(id, &RedisDatabaseConfig::local()).await?);
        anyhow::Ok(Arc::new(RedisStore::open(id, db, prefix, Arc::new(SystemClock)).await?) as SharedStore)
    })
}

/// A guest context whose default store is `store`, with no concurrency limit.
fn guest_kv(store: &SharedStore) -> KvCtx {
    let catalog = Catalog::new();
    catalog.insert(store.clone(), Limits { max_concurrency: 0, ..Limits::default() });
    KvCtx::builder(catalog).default_store(store.info().id.clone()).build()
}

/// Timings and CPU per operation, by contender, over interleaved rounds.
#[derive(Default)]
struct Samples(BTreeMap<String, Vec<f64>>);

impl Samples {
    /// Run `go`, which does `ops` operations, and record ns and CPU ns per op.
    fn time(&mut self, name: &str, ops: u64, go: impl FnOnce() -> anyhow::Result<f64>) -> anyhow::Result<()> {
        let (started, cpu) = (Instant::now(), cpu_ns());
        let reported = go()?;
        let wall = started.elapsed().as_nanos() as f64 / ops as f64;
        self.0.entry(format!("{name}.cpu")).or_default().push((cpu_ns() - cpu) as f64 / ops as f64);
        // A guest times its own loop: that figure leaves out instantiation.
        self.0.entry(name.to_owned()).or_default().push(if reported > 0.0 { reported } else { wall });
        Ok(())
    }

    fn take(&mut self, name: &str) -> f64 {
        median(self.0.get_mut(name).unwrap_or_else(|| panic!("{name} was not measured")))
    }
}

pub fn run(report: &mut Report, scale: u64) -> anyhow::Result<()> {
    println!("redis");
    let prefix = format!("{}:", unique_table("kvhost-bench"));
    let one = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let store = open_store(&one, "bench:redis", &prefix)?;
    let result = one_client(report, &one, &store, &prefix, scale)
        .and_then(|()| clients(report, &prefix, scale))
        .and_then(|()| batches(report, &prefix));
    // The connection lives on `one`: drive it there.
    one.block_on(store.clear())?;
    result
}

/// One client: raw, store and guest, each op, rounds interleaved; and raw
/// SET with the index's ZADD, the write kvhost makes.
fn one_client(report: &mut Report, one: &Runtime, store: &SharedStore, prefix: &str, scale: u64) -> anyhow::Result<()> {
    let n = 2_000 * scale;
    let raw = one.block_on(raw_connection())?;
    let (raw_key, index) = (format!("{prefix}{KEY}"), format!("{prefix}\0bench"));
    one.block_on(store.set(KEY, VALUE.to_vec(), None))?;
    let kv = guest_kv(store);
    let runner = kvhost_tests::runner();
    let prepared = runner.prepare(&runner.load(&kvhost_tests::rust_guest())?)?;
    let mut samples = Samples::default();
    for _ in 0..ROUNDS {
        for op in ["get", "set", "set_indexed"] {
            samples.time(&format!("11.redis.raw.{op}"), n, || {
                let mut con = raw.clone();
                one.block_on(async {
                    for _ in 0..n {
                        match op {
                            "get" => drop(black_box(
                                redis::cmd("GET").arg(&raw_key).query_async::<Option<Vec<u8>>>(&mut con).await?,
                            )),
                            "set" => {
                                redis::cmd("SET").arg(&raw_key).arg(&VALUE[..]).query_async::<()>(&mut con).await?
                            }
                            _ => {
                                let mut pipe = redis::pipe();
                                pipe.atomic().cmd("SET").arg(&raw_key).arg(&VALUE[..]).ignore();
                                pipe.cmd("ZADD").arg(&index).arg(0).arg(KEY).ignore();
                                pipe.query_async::<()>(&mut con).await?
                            }
                        }
                    }
                    Ok(0.0)
                })
            })?;
            if op == "set_indexed" {
                continue;
            }
            samples.time(&format!("11.redis.store.{op}"), n, || {
                one.block_on(async {
                    for _ in 0..n {
                        match op {
                            "get" => drop(black_box(store.get(KEY).await?)),
                            _ => store.set(KEY, VALUE.to_vec(), None).await?,
                        }
                    }
                    Ok(0.0)
                })
            })?;
            samples.time(&format!("11.redis.guest.{op}"), n, || {
                let args = ["bench".to_owned(), op.to_owned(), n.to_string()];
                let out = one.block_on(runner.run_prepared(&prepared, bench_run(&kv, &args)))?;
                anyhow::ensure!(out.exit_code == 0, "guest bench failed: {}", String::from_utf8_lossy(&out.stderr));
                crate::guest::parse(&String::from_utf8_lossy(&out.stdout))
            })?;
        }
    }
    for op in ["get", "set"] {
        let raw = format!("11.redis.raw.{op}");
        report.add(&raw, samples.take(&raw), None);
        for who in ["store", "guest"] {
            let name = format!("11.redis.{who}.{op}");
            report.add(&name, samples.take(&name), Some(&raw));
        }
        report.target(&format!("11.redis.guest.{op}"), 1.10);
        let raw_cpu = format!("{raw}.cpu");
        report.add(&raw_cpu, samples.take(&raw_cpu), None);
        for who in ["store", "guest"] {
            let name = format!("11.redis.{who}.{op}.cpu");
            report.add(&name, samples.take(&name), Some(&raw_cpu));
        }
    }
    // What the listing index costs a write: SET alone against SET + ZADD in
    // one MULTI/EXEC, both raw.
    report.add("11.redis.raw.set_indexed", samples.take("11.redis.raw.set_indexed"), Some("11.redis.raw.set"));
    Ok(())
}

/// Concurrent clients in the 16-client runs.
const CLIENTS: u64 = 16;

/// Sixteen clients on the multi-thread runtime: raw tasks against guests as
/// tasks, rounds interleaved.
fn clients(report: &mut Report, prefix: &str, scale: u64) -> anyhow::Result<()> {
    let rt = rt();
    let store = open_store(rt, "bench:redis-mt", prefix)?;
    let kv = guest_kv(&store);
    let raw = rt.block_on(raw_connection())?;
    let raw_key = format!("{prefix}{KEY}");
    let runner = kvhost_tests::runner();
    let prepared = runner.prepare(&runner.load(&kvhost_tests::rust_guest())?)?;
    let per_client = (2_000 * scale / CLIENTS).max(200);
    let total = per_client * CLIENTS;
    let raw_clients = || {
        run_clients(rt, || {
            let (mut con, key) = (raw.clone(), raw_key.clone());
            async move {
                for _ in 0..per_client {
                    black_box(redis::cmd("GET").arg(&key).query_async::<Option<Vec<u8>>>(&mut con).await?);
                }
                anyhow::Ok(())
            }
        })
    };
    let store_clients = || {
        run_clients(rt, || {
            let store = store.clone();
            async move {
                for _ in 0..per_client {
                    black_box(store.get(KEY).await?);
                }
                anyhow::Ok(())
            }
        })
    };
    let args = ["bench".to_owned(), "get".to_owned(), per_client.to_string()];
    let guest_clients = || join((0..CLIENTS).map(|_| spawn(&prepared, bench_run(&kv, &args))).collect()).map(|_| 0.0);
    // Warm both up once, then alternate.
    raw_clients()?;
    store_clients()?;
    guest_clients()?;
    let mut samples = Samples::default();
    for _ in 0..ROUNDS {
        samples.time("raw", total, raw_clients)?;
        samples.time("store", total, store_clients)?;
        samples.time("guest", total, guest_clients)?;
    }
    report.add("11.redis.raw.get.16_clients", samples.take("raw"), None);
    for who in ["store", "guest"] {
        report.add(&format!("11.redis.{who}.get.16_clients"), samples.take(who), Some("11.redis.raw.get.16_clients"));
    }
    report.target("11.redis.guest.get.16_clients", 1.10);
    report.add("11.redis.raw.get.16_clients.cpu_per_op", samples.take("raw.cpu"), None);
    for who in ["store", "guest"] {
        report.add(
            &format!("11.redis.{who}.get.16_clients.cpu_per_op"),
            samples.take(&format!("{who}.cpu")),
            Some("11.redis.raw.get.16_clients.cpu_per_op"),
        );
    }
    Ok(())
}

/// Set-many then get-many of 1000 through a proxy that counts round trips.
fn batches(report: &mut Report, prefix: &str) -> anyhow::Result<()> {
    let rt = rt();
    let proxy = rt.block_on(crate::roundtrips::start("127.0.0.1:6379", crate::roundtrips::Protocol::Redis))?;
    let cfg = RedisDatabaseConfig { port: proxy.port, ..RedisDatabaseConfig::local() };
    let db = Arc::new(rt.block_on(RedisDatabase::connect("bench:proxied", &cfg))?);
    let store = rt.block_on(RedisStore::open("bench:batch", db, &format!("{prefix}batch:"), Arc::new(SystemClock)))?;
    crate::roundtrips::measure_batches(report, "11.redis", &store, &proxy, &crate::roundtrips::batch_of_1000())?;
    store.clear().wait()?;
    Ok(())
}

/// Run `CLIENTS` tasks made by `client` on `rt` to the end; 0.0 as the
/// contenders' extra figure.
fn run_clients<F, Fut>(rt: &tokio::runtime::Runtime, client: F) -> anyhow::Result<f64>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let runs: Vec<_> = (0..CLIENTS).map(|_| rt.spawn(client())).collect();
    rt.block_on(async {
        for r in runs {
            r.await??;
        }
        anyhow::Ok(0.0)
    })
}
