//! A store `app:kv` on one of this machine's servers (PostgreSQL, MariaDB,
//! Redis) reached through a fault proxy ([`crate::proxy`]): for the fault
//! tests and the frozen-database benchmark.

use std::sync::Arc;
use std::time::Duration;

use kvhost::clock::SystemClock;
use kvhost::redis::{RedisDatabase, RedisDatabaseConfig, RedisStore};
use kvhost::sql::{DatabaseTarget, SqlDatabase, SqlDatabaseConfig, SqlStore, TableNames};
use kvhost::{Limits, SharedStore};

use crate::backend::{connect, connect_redis, mysql_config, postgres_config, runtime, unique_table};
use crate::blocking::Blocking;
use crate::proxy::Proxy;

/// A store whose database is reached through a fault proxy.
pub struct Proxied {
    pub proxy: Proxy,
    pub store: Blocking,
    /// Drops what the test made (the table, the keys).
    cleanup: Option<Box<dyn FnOnce()>>,
    /// The runtime the store's connections live on; dropped last.
    _rt: tokio::runtime::Runtime,
}

impl Drop for Proxied {
    fn drop(&mut self) {
        self.proxy.pass();
        if let Some(cleanup) = self.cleanup.take() {
            cleanup();
        }
    }
}

/// Which of this machine's servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    Postgres,
    Mariadb,
    Redis,
}

impl Server {
    pub const ALL: [Server; 3] = [Server::Postgres, Server::Mariadb, Server::Redis];

    pub fn name(self) -> &'static str {
        match self {
            Server::Postgres => "postgres",
            Server::Mariadb => "mariadb",
            Server::Redis => "redis",
        }
    }
}

impl Proxied {
    /// A store `app:kv` on `server` through a new proxy, with this
    /// `query_timeout` (database `app:db`, or `app:redis`).
    pub fn new(server: Server, query_timeout: Duration) -> Proxied {
        match server {
            Server::Postgres => sql(postgres_config(), "127.0.0.1:5432", query_timeout),
            Server::Mariadb => sql(mysql_config(), "127.0.0.1:3306", query_timeout),
            Server::Redis => redis(query_timeout),
        }
    }
}

fn sql(direct: SqlDatabaseConfig, upstream: &str, query_timeout: Duration) -> Proxied {
    let rt = runtime();
    // The table is made (and dropped) over a direct connection.
    let admin = connect(&rt, &direct);
    let table = unique_table("kv_faults");
    let names = TableNames::new(table.as_str());
    rt.block_on(admin.execute_ddl(&direct.dialect.schema(&names, Limits::DEFAULT_MAX_KEY_BYTES))).unwrap();
    let proxy = Proxy::start(upstream);
    let mut cfg = direct.clone();
    let DatabaseTarget::Server { port, .. } = &mut cfg.target else { unreachable!() };
    *port = proxy.port();
    cfg.query_timeout = query_timeout;
    let db = Arc::new(rt.block_on(SqlDatabase::connect("app:db", &cfg)).expect("connect through the proxy"));
    let store = rt.block_on(SqlStore::open("app:kv", db, &names, Arc::new(SystemClock))).unwrap();
    let store = Blocking(Arc::new(store) as SharedStore);
    let dialect = direct.dialect;
    let handle = rt.handle().clone();
    let cleanup = Box::new(move || {
        let _ = handle.block_on(admin.execute_ddl(&[format!("DROP TABLE IF EXISTS {}", dialect.quote(&table))]));
    });
    Proxied { proxy, store, cleanup: Some(cleanup), _rt: rt }
}

fn redis(query_timeout: Duration) -> Proxied {
    let rt = runtime();
    let _up = connect_redis(&rt); // fails naming the fix when Redis is down
    let proxy = Proxy::start("127.0.0.1:6379");
    let cfg = RedisDatabaseConfig { port: proxy.port(), query_timeout, ..RedisDatabaseConfig::local() };
    let db = Arc::new(rt.block_on(RedisDatabase::connect("app:redis", &cfg)).expect("connect through the proxy"));
    let prefix = format!("{}:", unique_table("kvhost-faults"));
    let store = rt.block_on(RedisStore::open("app:kv", db, &prefix, Arc::new(SystemClock))).unwrap();
    let store = Blocking(Arc::new(store) as SharedStore);
    let keep = store.clone();
    let cleanup = Box::new(move || {
        let _ = keep.clear();
    });
    Proxied { proxy, store, cleanup: Some(cleanup), _rt: rt }
}
