//! SQL stores against raw sqlx doing the same work on the same table.

use std::hint::black_box;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Instant;

use kvhost::registry::{DatabaseConfig, DatabaseTarget, PoolConfig, TableNames};
use kvhost::sql::{SqlDatabase, SqlStore};
use kvhost::{KvCtx, Limits, Runner, Store, Stores, SystemClock};
use kvhost_tests::backend::{postgres_config, runtime, unique_table};
use sqlx::{AssertSqlSafe, SqlSafeStr, SqlStr};

use crate::measure::{Report, median, ns_per_op};

const KEY: &str = "bench-key-0000ab";
const VALUE: [u8; 100] = [7; 100];

/// Median over `rounds` of the ns per iteration of an async loop of `n`.
async fn async_ns_per_op<F: Future>(rounds: usize, n: u64, mut f: impl FnMut() -> F) -> f64 {
    let mut samples = Vec::new();
    for _ in 0..rounds {
        let start = Instant::now();
        for _ in 0..n {
            black_box(f().await);
        }
        samples.push(start.elapsed().as_nanos() as f64 / n as f64);
    }
    median(&mut samples)
}

fn now_ms() -> i64 {
    use kvhost::Clock;
    SystemClock.now_ms() as i64
}

pub fn run(report: &mut Report, dialect: &str, scale: u64) -> anyhow::Result<()> {
    println!("{dialect}");
    let rt = runtime();
    let dir = tempfile_dir()?;
    let cfg = match dialect {
        "postgres" => postgres_config(),
        _ => DatabaseConfig {
            dialect: kvhost::sql::Dialect::Sqlite,
            target: DatabaseTarget::Sqlite { file: Some(dir.join("bench.db")) },
            options: Default::default(),
            pool: PoolConfig { max_open: 8, max_idle: 1, ..Default::default() },
        },
    };
    let db = Arc::new(rt.block_on(SqlDatabase::connect("bench:db", &cfg))?);
    let table = unique_table("kvbench");
    let names = TableNames::new(table.as_str());
    rt.block_on(db.execute_ddl(&cfg.dialect.schema(&names, 255)))?;
    let result = measure(report, &rt, &cfg, &db, &names, dialect, scale);
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
    let none: Option<i64> = None;
    let (raw_get, raw_set) = match (dialect, &cfg.target) {
        ("postgres", _) => rt.block_on(async {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(cfg.pool.max_open)
                .connect("postgres://postgres@127.0.0.1:5432/test")
                .await?;
            sqlx::query(set_sql.clone()).bind(KEY).bind(&VALUE[..]).bind(none).execute(&pool).await?;
            let get = async_ns_per_op(rounds, n, || sqlx::query(get_sql.clone()).bind(KEY).bind(now_ms()).fetch_optional(&pool)).await;
            let set = async_ns_per_op(rounds, n, || sqlx::query(set_sql.clone()).bind(KEY).bind(&VALUE[..]).bind(none).execute(&pool)).await;
            pool.close().await;
            anyhow::Ok((get, set))
        })?,
        (_, DatabaseTarget::Sqlite { file: Some(file) }) => rt.block_on(async {
            let opts = sqlx::sqlite::SqliteConnectOptions::from_str(&format!("sqlite://{}", file.display()))?
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sqlx::sqlite::SqliteSynchronous::Normal);
            let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(cfg.pool.max_open).connect_with(opts).await?;
            sqlx::query(set_sql.clone()).bind(KEY).bind(&VALUE[..]).bind(none).execute(&pool).await?;
            let get = async_ns_per_op(rounds, n, || sqlx::query(get_sql.clone()).bind(KEY).bind(now_ms()).fetch_optional(&pool)).await;
            let set = async_ns_per_op(rounds, n, || sqlx::query(set_sql.clone()).bind(KEY).bind(&VALUE[..]).bind(none).execute(&pool)).await;
            pool.close().await;
            anyhow::Ok((get, set))
        })?,
        _ => anyhow::bail!("unsupported bench target"),
    };
    let raw_get_name = format!("{dialect}.raw_sqlx.get");
    let raw_set_name = format!("{dialect}.raw_sqlx.set");
    report.add(&raw_get_name, raw_get, None);
    report.add(&raw_set_name, raw_set, None);

    // The kvhost store through the Store trait, from a plain thread (as guests call it).
    let store = Arc::new(rt.block_on(SqlStore::open(
        "bench:sql",
        db.clone(),
        names,
        Limits::default(),
        Arc::new(SystemClock),
    ))?);
    store.set(KEY, &VALUE, None)?;
    report.add(&format!("{dialect}.store.get"), ns_per_op(rounds, n, || drop(black_box(store.get(KEY)))), Some(&raw_get_name));
    report.add(&format!("{dialect}.store.set"), ns_per_op(rounds, n, || drop(black_box(store.set(KEY, &VALUE, None)))), Some(&raw_set_name));

    // The same through the Rust guest and kvhost:store.
    let runner = Runner::new()?;
    let stores = Stores::new();
    stores.insert(store);
    let kv = KvCtx::builder(stores).default_store("bench:sql").build();
    report.add(&format!("{dialect}.guest.get"), crate::guest::ns_per_op(&runner, &kv, "get", n, rounds)?, Some(&raw_get_name));
    report.add(&format!("{dialect}.guest.set"), crate::guest::ns_per_op(&runner, &kv, "set", n, rounds)?, Some(&raw_set_name));
    Ok(())
}
