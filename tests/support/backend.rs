//! Stores on every backend for the conformance suite: memory, SQLite (file and
//! `:memory:`), PostgreSQL and MariaDB over TCP on this machine.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use kvhost::clock::ManualClock;
use kvhost::memory::MemoryStore;
use kvhost::redis::{RedisDatabase, RedisDatabaseConfig, RedisStore};
use kvhost::sql::{
    DatabaseTarget, Dialect, PoolConfig, SqlDatabase, SqlDatabaseConfig as DatabaseConfig, SqlStore, TableNames,
};
use kvhost::{Catalog, KvCtx, Limits, SharedStore};

use crate::blocking::Blocking;
use crate::needs::{self, Need};

/// Which backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Memory,
    SqliteFile,
    SqliteMemory,
    Postgres,
    Mysql,
    /// Redis on this machine's loopback.
    Redis,
    /// The SQL backends again, with a version column.
    SqliteFileVersioned,
    PostgresVersioned,
    MysqlVersioned,
}

impl Kind {
    /// Whether this backend's table has a version column.
    pub fn has_version_column(self) -> bool {
        matches!(self, Kind::SqliteFileVersioned | Kind::PostgresVersioned | Kind::MysqlVersioned)
    }
}

/// PostgreSQL as SPEC.md gives it: trust auth on loopback, database `test`.
pub fn postgres_config() -> DatabaseConfig {
    server_config(Dialect::Postgres, "postgres")
}

/// MariaDB as SPEC.md gives it: root without password on loopback, database `test`.
pub fn mysql_config() -> DatabaseConfig {
    server_config(Dialect::Mysql, "root")
}

fn server_config(dialect: Dialect, user: &str) -> DatabaseConfig {
    let port = if dialect == Dialect::Postgres { 5432 } else { 3306 };
    DatabaseConfig {
        dialect,
        target: DatabaseTarget::Server {
            host: "127.0.0.1".into(),
            port,
            database: "test".into(),
            username: user.into(),
            password: None,
        },
        options: BTreeMap::new(),
        pool: PoolConfig { max_open: 8, max_idle: 1, ..Default::default() },
        query_timeout: Duration::from_secs(30),
    }
}

/// A unique table name for this test process.
pub fn unique_table(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!("{prefix}_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// Two stores on one backend (to check that one store's `clear` spares the
/// other), sharing a manual clock. SQL tables are dropped on drop.
pub struct Backend {
    pub kind: Kind,
    pub store: Blocking,
    pub other: Blocking,
    pub clock: ManualClock,
    sql: Option<(Arc<SqlDatabase>, Vec<String>)>,
    /// Redis stores clear their keys on drop.
    redis: bool,
    _dir: Option<tempfile::TempDir>,
    // Declared last: dropped after the stores that use it.
    rt: tokio::runtime::Runtime,
}

/// A runtime for a SQL pool of the tests' own.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// Redis as SPEC.md gives it: loopback, port 6379, database 0, no password.
/// The test fails, saying how to start it, when it is down.
pub fn connect_redis(rt: &tokio::runtime::Runtime) -> Arc<RedisDatabase> {
    Need::Redis.check();
    match rt.block_on(RedisDatabase::connect("test:redis", &RedisDatabaseConfig::local())) {
        Ok(db) => Arc::new(db),
        Err(e) => Need::Redis.missing(format!("{e:#}")),
    }
}

/// Whether the Redis on this machine persists its data (AOF or RDB saves),
/// asked directly of the server.
pub fn redis_persists() -> bool {
    let mut con = redis::Client::open("redis://127.0.0.1:6379/0").unwrap().get_connection().unwrap();
    let pairs: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("appendonly").arg("save").query(&mut con).unwrap();
    let value = |name: &str| pairs.chunks(2).find(|p| p[0] == name).map(|p| p[1].clone()).unwrap_or_default();
    value("appendonly") == "yes" || !value("save").trim().is_empty()
}

/// What a test on `dialect` needs, if it is a server.
pub fn server_need(dialect: Dialect) -> Option<Need> {
    match dialect {
        Dialect::Postgres => Some(Need::Postgres),
        Dialect::Mysql => Some(Need::Mysql),
        Dialect::Sqlite => None,
    }
}

/// Connect `cfg`. The test fails, saying how to start it, when it is down.
pub fn connect(rt: &tokio::runtime::Runtime, cfg: &DatabaseConfig) -> Arc<SqlDatabase> {
    let need = server_need(cfg.dialect);
    needs::check(need);
    match rt.block_on(SqlDatabase::connect("test:db", cfg)) {
        Ok(db) => Arc::new(db),
        Err(e) => needs::failed(need, format!("cannot open {}: {e:#}", cfg.dialect.name())),
    }
}

impl Backend {
    /// The backend; the test fails, saying how to start it, if its database is down.
    pub fn new(kind: Kind) -> Self {
        let rt = runtime();
        let clock = ManualClock::starting_now();
        let shared = Arc::new(clock.clone());
        if kind == Kind::Memory {
            let mk = |id: &str| -> Blocking {
                Blocking(Arc::new(MemoryStore::builder(id).max_size(0).clock(shared.clone()).build()))
            };
            return Self {
                kind,
                store: mk("test:a"),
                other: mk("test:b"),
                clock,
                sql: None,
                redis: false,
                _dir: None,
                rt,
            };
        }
        if kind == Kind::Redis {
            let db = connect_redis(&rt);
            let prefix = unique_table("kvhost-test");
            let mk = |name: &str| -> Blocking {
                let (id, prefix) = (format!("test:{name}"), format!("{prefix}:{name}:"));
                let store = rt.block_on(RedisStore::open(&id, db.clone(), &prefix, shared.clone()));
                Blocking(Arc::new(store.expect("redis store")))
            };
            let (store, other) = (mk("a"), mk("b"));
            return Self { kind, store, other, clock, sql: None, redis: true, _dir: None, rt };
        }
        let mut dir = None;
        let cfg = match kind {
            Kind::Postgres | Kind::PostgresVersioned => postgres_config(),
            Kind::Mysql | Kind::MysqlVersioned => mysql_config(),
            Kind::SqliteFile | Kind::SqliteMemory | Kind::SqliteFileVersioned => {
                let file = (kind != Kind::SqliteMemory).then(|| {
                    let d = tempfile::tempdir().unwrap();
                    let f = d.path().join("kv.db");
                    dir = Some(d);
                    f
                });
                DatabaseConfig {
                    dialect: Dialect::Sqlite,
                    target: DatabaseTarget::Sqlite { file },
                    options: BTreeMap::new(),
                    pool: PoolConfig { max_open: 4, max_idle: 1, ..Default::default() },
                    query_timeout: Duration::from_secs(30),
                }
            }
            Kind::Memory | Kind::Redis => unreachable!(),
        };
        let db = connect(&rt, &cfg);
        let tables = vec![unique_table("kvt_a"), unique_table("kvt_b")];
        let mut stores = Vec::new();
        for (i, t) in tables.iter().enumerate() {
            let mut names = TableNames::new(t.as_str());
            if kind.has_version_column() {
                names = names.with_version("ver");
            }
            rt.block_on(db.execute_ddl(&cfg.dialect.schema(&names, Limits::DEFAULT_MAX_KEY_BYTES))).unwrap();
            let id = format!("test:{}", ["a", "b"][i]);
            let store = rt.block_on(SqlStore::open(&id, db.clone(), &names, shared.clone())).unwrap();
            stores.push(Blocking(Arc::new(store) as SharedStore));
        }
        let other = stores.pop().unwrap();
        let store = stores.pop().unwrap();
        Self { kind, store, other, clock, sql: Some((db, tables)), redis: false, _dir: dir, rt }
    }

    /// The runtime the SQL pool lives on.
    pub fn rt(&self) -> &tokio::runtime::Runtime {
        &self.rt
    }

    /// A guest context whose default store is this backend's first store,
    /// with default limits.
    pub fn kv(&self) -> KvCtx {
        let catalog = Catalog::new();
        catalog.insert(self.store.0.clone(), Limits::default());
        KvCtx::builder(catalog).default_store(self.store.info().id.clone()).build()
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        if self.redis {
            let _ = self.store.clear();
            let _ = self.other.clear();
        }
        if let Some((db, tables)) = self.sql.take() {
            let drops: Vec<String> =
                tables.iter().map(|t| format!("DROP TABLE IF EXISTS {}", db.dialect().quote(t))).collect();
            let _ = self.rt.block_on(db.execute_ddl(&drops));
            self.rt.block_on(db.close());
        }
    }
}
