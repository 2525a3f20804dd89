//! SQL stores against raw sqlx doing the same work on the same table.

use std::hint::black_box;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Instant;

use kvhost::clock::SystemClock;
use kvhost::guest::Prepared;
use kvhost::sql::{DatabaseTarget, PoolConfig, SqlDatabase, SqlDatabaseConfig as DatabaseConfig, SqlStore, TableNames};
use kvhost::{Catalog, KvCtx, Limits, SharedStore, Store, Wait};
use kvhost_tests::backend::{postgres_config, unique_table};
use kvhost_tests::rt;
use sqlx::Connection as _;
use sqlx::{AssertSqlSafe, SqlSafeStr, SqlStr};

use crate::guest::{bench_run, join, spawn};
use crate::measure::{Report, context_switches, cpu_ns, median};

const KEY: &str = "bench-key-0000ab";
const VALUE: [u8; 100] = [7; 100];

fn now_ms() -> i64 {
    use kvhost::clock::Clock;
    SystemClock.now_ms() as i64
}

pub fn run(report: &mut Report, dialect: &str, scale: u64) -> anyhow::Result<()> {
    println!("{dialect}");
    let rt = rt();
    let dir = tempfile_dir()?;
    let cfg = match dialect {
        "postgres" => postgres_config(),
        _ => DatabaseConfig {
            dialect: kvhost::sql::Dialect::Sqlite,
            target: DatabaseTarget::Sqlite { file: Some(dir.join("bench.db")) },
            options: Default::default(),
            pool: PoolConfig { max_open: 8, max_idle: 1, ..Default::default() },
            query_timeout: std::time::Duration::from_secs(30),
        },
    };
    let db = Arc::new(rt.block_on(SqlDatabase::connect("bench:db", &cfg))?);
    let table = unique_table("kvbench");
    let names = TableNames::new(table.as_str());
    rt.block_on(db.execute_ddl(&cfg.dialect.schema(&names, 255)))?;
    let result = measure(report, rt, &cfg, &db, &names, dialect, scale);
    let _ = rt.block_on(db.execute_ddl(&[format!("DROP TABLE {}", cfg.dialect.quote(&table))]));
    rt.block_on(db.close());
    result
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("kvhost-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn measure(
    report: &mut Report,
    rt: &tokio::runtime::Runtime,
    cfg: &DatabaseConfig,
    db: &Arc<SqlDatabase>,
    names: &TableNames,
    dialect: &str,
    scale: u64,
) -> anyhow::Result<()> {
    let q = |s: &str| cfg.dialect.quote(s);
    let (t, k, v, e) = (q(&names.table), q(&names.key), q(&names.value), q(&names.expires_at));
    let n = if dialect == "postgres" { 1_000 * scale } else { 5_000 * scale };
    let rounds = 5;

    // Raw sqlx: the same statements on a pool of the same size, driven from async code.
    let (get_sql, set_sql): (SqlStr, SqlStr) = match dialect {
        "postgres" => (
            AssertSqlSafe(format!("SELECT {v} FROM {t} WHERE {k} = $1 AND ({e} IS NULL OR {e} > $2)")).into_sql_str(),
            AssertSqlSafe(format!("INSERT INTO {t} ({k}, {v}, {e}) VALUES ($1, $2, $3) ON CONFLICT ({k}) DO UPDATE SET {v} = excluded.{v}, {e} = excluded.{e}")).into_sql_str(),
        ),
        _ => (
            AssertSqlSafe(format!("SELECT {v} FROM {t} WHERE {k} = ?1 AND ({e} IS NULL OR {e} > ?2)")).into_sql_str(),
            AssertSqlSafe(format!("INSERT INTO {t} ({k}, {v}, {e}) VALUES (?1, ?2, ?3) ON CONFLICT ({k}) DO UPDATE SET {v} = excluded.{v}, {e} = excluded.{e}")).into_sql_str(),
        ),
    };
    let raw = rt.block_on(raw_pool(dialect, cfg))?;
    rt.block_on(raw.set(set_sql.clone()))?;

    // The kvhost store through the `Store` trait, awaited, and the same
    // through the Rust guest and kvhost:store, the guest a task on the same
    // runtime (the async linker, as `kvhost run` runs guests).
    let store: SharedStore =
        Arc::new(rt.block_on(SqlStore::open("bench:sql", db.clone(), names, Arc::new(SystemClock)))?);
    store.set(KEY, VALUE.to_vec(), None).wait()?;
    let catalog = Catalog::new();
    // Unlimited concurrency: the measures below run up to 1,000 guests at once.
    catalog.insert(store.clone(), Limits { max_concurrency: 0, ..Limits::default() });
    let kv = KvCtx::builder(catalog.clone()).default_store("bench:sql").build();
    let runner = kvhost_tests::runner();
    let prepared = runner.prepare(&runner.load(&kvhost_tests::rust_guest())?)?;

    // Rounds interleave the contenders (raw, store, guest, raw, ...), so that
    // drift in this machine's I/O latency falls on all of them alike. Each
    // is a task on the runtime, as kvhost runs guests.
    let mut samples: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    // A time per operation, and the process's CPU time per operation since `cpu`.
    let mut sample = |name: String, ns: f64, cpu: u64| {
        samples.entry(format!("{name}.cpu")).or_default().push((cpu_ns() - cpu) as f64 / n as f64);
        samples.entry(name).or_default().push(ns);
    };
    let per_op = |started: Instant| started.elapsed().as_nanos() as f64 / n as f64;
    for _ in 0..rounds {
        for op in ["get", "set"] {
            let (started, cpu) = (Instant::now(), cpu_ns());
            let (raw, get_sql, set_sql) = (raw.clone(), get_sql.clone(), set_sql.clone());
            rt.block_on(rt.spawn(async move {
                for _ in 0..n {
                    if op == "get" { raw.get(get_sql.clone()).await? } else { raw.set(set_sql.clone()).await? }
                }
                anyhow::Ok(())
            }))??;
            sample(format!("{dialect}.raw_sqlx.{op}"), per_op(started), cpu);
            let (started, cpu) = (Instant::now(), cpu_ns());
            let store = store.clone();
            rt.block_on(rt.spawn(async move {
                for _ in 0..n {
                    if op == "get" {
                        black_box(store.get(KEY).await?);
                    } else {
                        store.set(KEY, VALUE.to_vec(), None).await?;
                    }
                }
                anyhow::Ok(())
            }))??;
            sample(format!("{dialect}.store.{op}"), per_op(started), cpu);
            // Timed inside the guest (its loop alone), the CPU outside.
            let cpu = cpu_ns();
            let args = ["bench".to_owned(), op.to_owned(), n.to_string()];
            let out = join(vec![spawn(&prepared, bench_run(&kv, &args))])?;
            let guest_ns = crate::guest::parse(&String::from_utf8_lossy(&out[0].stdout))?;
            sample(format!("5.{dialect}.guest.{op}"), guest_ns, cpu);
        }
    }
    let mut take = |name: &str| median(samples.get_mut(name).expect("measured"));
    for op in ["get", "set"] {
        let raw_name = format!("{dialect}.raw_sqlx.{op}");
        let raw_ns = take(&raw_name);
        report.add(&raw_name, raw_ns, None);
        report.add(&format!("{dialect}.store.{op}"), take(&format!("{dialect}.store.{op}")), Some(&raw_name));
        let name = format!("5.{dialect}.guest.{op}");
        report.add(&name, take(&name), Some(&raw_name));
        report.target(&name, 1.05);
        let raw_cpu = format!("{raw_name}.cpu");
        report.add(&raw_cpu, take(&raw_cpu), None);
        report.add(&format!("{dialect}.store.{op}.cpu"), take(&format!("{dialect}.store.{op}.cpu")), Some(&raw_cpu));
        report.add(&format!("{name}.cpu"), take(&format!("{name}.cpu")), Some(&raw_cpu));
    }

    // Concurrent clients: wall time per operation over all clients, raw sqlx
    // tasks against guests as tasks, both on the same two-worker runtime and
    // on warm pools of the same size; rounds interleaved, medians reported.
    for clients in [16u64, 256] {
        // Enough operations per guest that its start-up is not what is measured.
        let per_client = (n / clients).max(200);
        let total = (per_client * clients) as f64;
        let raw_clients = || {
            let runs: Vec<_> = (0..clients)
                .map(|_| {
                    let (raw, get_sql) = (raw.clone(), get_sql.clone());
                    rt.spawn(async move {
                        for _ in 0..per_client {
                            raw.get(get_sql.clone()).await?;
                        }
                        anyhow::Ok(())
                    })
                })
                .collect();
            rt.block_on(async {
                for run in runs {
                    run.await??;
                }
                anyhow::Ok(())
            })
        };
        let args = ["bench".to_owned(), "get".to_owned(), per_client.to_string()];
        let guest_clients = || join((0..clients).map(|_| spawn(&prepared, bench_run(&kv, &args))).collect()).map(drop);
        raw_clients()?;
        guest_clients()?;
        let raw_name = format!("{dialect}.raw_sqlx.get.{clients}_clients");
        let name = format!("5.{dialect}.guest.get.{clients}_clients");
        let mut samples: std::collections::BTreeMap<&str, Vec<f64>> = Default::default();
        for _ in 0..rounds {
            for (who, run) in [("raw", &raw_clients as &dyn Fn() -> anyhow::Result<()>), ("guest", &guest_clients)] {
                let (started, cpu, switches) = (Instant::now(), cpu_ns(), context_switches());
                run()?;
                let ns = started.elapsed().as_nanos() as f64 / total;
                samples.entry(if who == "raw" { "raw" } else { "guest" }).or_default().push(ns);
                let cpu_key = if who == "raw" { "raw.cpu" } else { "guest.cpu" };
                samples.entry(cpu_key).or_default().push((cpu_ns() - cpu) as f64 / total);
                let cs_key = if who == "raw" { "raw.cs" } else { "guest.cs" };
                samples.entry(cs_key).or_default().push((context_switches() - switches) as f64 / total);
            }
        }
        let mut take = |key: &str| median(samples.get_mut(key).expect("measured"));
        report.add(&raw_name, take("raw"), None);
        report.add(&name, take("guest"), Some(&raw_name));
        report.target(&name, 1.10);
        report.add(&format!("{raw_name}.cpu_per_op"), take("raw.cpu"), None);
        report.add(&format!("{name}.cpu_per_op"), take("guest.cpu"), Some(&format!("{raw_name}.cpu_per_op")));
        report.add_value(&format!("{raw_name}.context_switches_per_op"), take("raw.cs"), "cs", None);
        report.add_value(&format!("{name}.context_switches_per_op"), take("guest.cs"), "cs", None);
    }

    rt.block_on(raw.close());
    if dialect == "postgres" {
        waiting(report, rt, &catalog, &kv, &prepared, names)?;
        batch(report, rt, names)?;
    }
    Ok(())
}

/// Threads of this process now.
fn threads() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("Threads:")).and_then(|n| n.trim().parse().ok()).unwrap_or(0)
}

/// Measure 10: 1,000 guest instances waiting on PostgreSQL at once. A raw
/// transaction holds the row lock of one key; each guest sets that key, so
/// its upsert waits on the lock (or, past the pool's connections, for a
/// connection). Counted while all of them wait: the process's OS threads,
/// and the memory each waiting instance holds.
fn waiting(
    report: &mut Report,
    rt: &tokio::runtime::Runtime,
    catalog: &Catalog,
    kv: &KvCtx,
    prepared: &Prepared,
    names: &TableNames,
) -> anyhow::Result<()> {
    const INSTANCES: u32 = 1_000;
    let runner = kvhost_tests::runner();
    let q = |s: &str| kvhost::sql::Dialect::Postgres.quote(s);
    let lock = AssertSqlSafe(format!("SELECT 1 FROM {} WHERE {} = $1 FOR UPDATE", q(&names.table), q(&names.key)));
    let mut holder = rt.block_on(sqlx::PgConnection::connect("postgres://postgres@127.0.0.1:5432/test"))?;
    let args = ["set".to_owned(), "held".to_owned(), "by a waiting guest".to_owned()];
    // Once unlocked, so the row exists and every instance has run once.
    rt.block_on(runner.run_prepared(prepared, bench_run(kv, &args)))?;
    rt.block_on(sqlx::query("BEGIN").execute(&mut holder))?;
    rt.block_on(sqlx::query(lock.into_sql_str()).bind("held").execute(&mut holder))?;
    let (threads_before, rss_before, live_before) =
        (threads(), crate::footprint::rss_bytes(), crate::footprint::live_bytes());

    let runs: Vec<_> = (0..INSTANCES).map(|_| spawn(prepared, bench_run(kv, &args))).collect();
    let started = Instant::now();
    while catalog.in_flight("bench:sql") != Some(INSTANCES) {
        anyhow::ensure!(started.elapsed() < std::time::Duration::from_secs(4), "not every guest got to wait");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let (threads_during, rss_during, live_during) =
        (threads(), crate::footprint::rss_bytes(), crate::footprint::live_bytes());
    let reached = started.elapsed();
    rt.block_on(sqlx::query("ROLLBACK").execute(&mut holder))?;
    join(runs)?;
    println!(
        "  {INSTANCES} guests waiting after {reached:?}; threads {threads_before} before, {threads_during} while they wait"
    );
    report.add_value("10.waiting_1000.os_threads", threads_during as f64, "threads", None);
    report.add_value(
        "10.waiting_1000.os_threads_added",
        threads_during as f64 - threads_before as f64,
        "threads",
        None,
    );
    let per = |after: u64, before: u64| after.saturating_sub(before) as f64 / f64::from(INSTANCES);
    report.add_value("10.waiting_1000.rss_per_instance", per(rss_during, rss_before), "B", None);
    report.add_value("10.waiting_1000.heap_per_instance", per(live_during, live_before), "B", None);
    Ok(())
}

/// Measure 6: 1000 sets then 1000 gets as batches on PostgreSQL, with the
/// round trips counted by a proxy between the store and the server.
fn batch(report: &mut Report, rt: &tokio::runtime::Runtime, names: &TableNames) -> anyhow::Result<()> {
    let proxy = rt.block_on(crate::roundtrips::start("127.0.0.1:5432", crate::roundtrips::Protocol::Postgres))?;
    let mut cfg = postgres_config();
    if let DatabaseTarget::Server { port, .. } = &mut cfg.target {
        *port = proxy.port;
    }
    cfg.pool.max_idle = 1;
    let db = Arc::new(rt.block_on(SqlDatabase::connect("bench:proxied", &cfg))?);
    let store = rt.block_on(SqlStore::open("bench:batch", db.clone(), names, Arc::new(SystemClock)))?;
    let entries = crate::roundtrips::batch_of_1000();
    // Once to prepare the statements on the connection, then measured.
    let keys: Vec<String> = entries.iter().map(|(k, _)| k.clone()).collect();
    store.set_many(&entries, None).wait()?;
    store.get_many(&keys).wait()?;
    crate::roundtrips::measure_batches(report, "6.postgres", &store, &proxy, &entries)?;
    println!(
        "  pool pings on release seen so far: {} (sqlx 0.9 pings each connection it takes back)",
        proxy.pings.load(std::sync::atomic::Ordering::Relaxed)
    );
    rt.block_on(db.close());
    Ok(())
}

/// A raw sqlx pool of the dialect under test, for the concurrent baseline.
#[derive(Clone)]
enum RawPool {
    Pg(sqlx::PgPool),
    Lite(sqlx::SqlitePool),
}

impl RawPool {
    async fn get(&self, sql: SqlStr) -> Result<(), sqlx::Error> {
        let now = now_ms();
        match self {
            RawPool::Pg(p) => sqlx::query(sql).bind(KEY).bind(now).fetch_optional(p).await.map(drop),
            RawPool::Lite(p) => sqlx::query(sql).bind(KEY).bind(now).fetch_optional(p).await.map(drop),
        }
    }
    async fn set(&self, sql: SqlStr) -> Result<(), sqlx::Error> {
        let none: Option<i64> = None;
        match self {
            RawPool::Pg(p) => sqlx::query(sql).bind(KEY).bind(&VALUE[..]).bind(none).execute(p).await.map(drop),
            RawPool::Lite(p) => sqlx::query(sql).bind(KEY).bind(&VALUE[..]).bind(none).execute(p).await.map(drop),
        }
    }

    async fn close(&self) {
        match self {
            RawPool::Pg(p) => p.close().await,
            RawPool::Lite(p) => p.close().await,
        }
    }
}

async fn raw_pool(dialect: &str, cfg: &DatabaseConfig) -> anyhow::Result<RawPool> {
    Ok(match (dialect, &cfg.target) {
        ("postgres", _) => RawPool::Pg(
            sqlx::postgres::PgPoolOptions::new()
                .test_before_acquire(false)
                .max_connections(cfg.pool.max_open)
                .connect("postgres://postgres@127.0.0.1:5432/test")
                .await?,
        ),
        (_, DatabaseTarget::Sqlite { file: Some(file) }) => {
            let opts = sqlx::sqlite::SqliteConnectOptions::from_str(&format!("sqlite://{}", file.display()))?
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sqlx::sqlite::SqliteSynchronous::Normal);
            RawPool::Lite(
                sqlx::sqlite::SqlitePoolOptions::new()
                    .test_before_acquire(false)
                    .max_connections(cfg.pool.max_open)
                    .connect_with(opts)
                    .await?,
            )
        }
        _ => anyhow::bail!("unsupported bench target"),
    })
}
