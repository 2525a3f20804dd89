//! One connection pool per `db.sql.*` entry, shared by its stores.

use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
#[cfg(any(feature = "postgres", feature = "mysql"))]
use sqlx::Connection as _;
#[cfg(feature = "mysql")]
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlSslMode};
#[cfg(feature = "postgres")]
use sqlx::postgres::{PgConnectOptions, PgPool, PgSslMode};
#[cfg(feature = "sqlite")]
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use tokio::runtime::Handle;

use super::Dialect;
use super::config::{DatabaseTarget, PoolConfig, SqlDatabaseConfig};
use crate::backend::deadline::QueryTimeout;
use crate::backend::kind::{BoxFuture, Database};

/// The longest an operation waits for a pooled connection before it reports
/// `unavailable` (less if the entry's `query_timeout` is shorter): a server
/// that refuses connections is reported soon, not after `query_timeout`.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

// Every pool turns off sqlx's `test_before_acquire`: it pings the server each
// time a connection leaves the pool, a second round trip for every operation.
// A connection that died is found on first use instead: the operation reports
// `unavailable` and the pool drops the connection.

/// The pool of one driver; a driver left out of the build has no variant.
pub(crate) enum Pool {
    #[cfg(feature = "postgres")]
    Postgres(PgPool),
    #[cfg(feature = "mysql")]
    Mysql(MySqlPool),
    #[cfg(feature = "sqlite")]
    Sqlite(SqlitePool),
}

/// Run `$body` with `$p` bound to the concrete sqlx pool: the same code is
/// compiled once per driver, with no dynamic dispatch per query.
macro_rules! with_pool {
    ($pool:expr, $p:ident => $body:expr) => {
        match $pool {
            #[cfg(feature = "postgres")]
            $crate::backend::sql::database::Pool::Postgres($p) => $body,
            #[cfg(feature = "mysql")]
            $crate::backend::sql::database::Pool::Mysql($p) => $body,
            #[cfg(feature = "sqlite")]
            $crate::backend::sql::database::Pool::Sqlite($p) => $body,
        }
    };
}
pub(crate) use with_pool;

/// Run `$body` with `$c` bound to a connection of the pool (a
/// `&mut` of the driver's connection), taken for this operation alone and
/// closed instead of returned if the operation runs out of `query_timeout`
/// (see `checkout.rs`). `$body` may use `?` on `sqlx::Error`.
macro_rules! with_conn {
    ($pool:expr, $c:ident => $body:expr) => {
        $crate::backend::sql::database::with_pool!($pool, pool => {
            let mut checkout = $crate::backend::sql::checkout::Checkout::take(pool).await?;
            let $c = &mut *checkout;
            $body
        })
    };
}
pub(crate) use with_conn;

/// A connected database entry.
pub struct SqlDatabase {
    id: String,
    dialect: Dialect,
    in_memory: bool,
    pub(crate) pool: Pool,
    /// How long one operation may wait for the server.
    query_timeout: QueryTimeout,
    /// The entry as error messages name it: `database app:db (db.sql.postgres)`.
    server: String,
    /// The runtime the pool's connections, timers and retries live on.
    handle: Handle,
}

impl std::fmt::Debug for SqlDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlDatabase").field("id", &self.id).field("dialect", &self.dialect).finish()
    }
}

impl SqlDatabase {
    /// Open the pool of database entry `id` and check one connection, on
    /// the current tokio runtime (multi-thread or current-thread): the pool's
    /// connections belong to it.
    pub async fn connect(id: &str, cfg: &SqlDatabaseConfig) -> anyhow::Result<Self> {
        let handle = Handle::current();
        let p = &cfg.pool;
        let opt = |key: &str| cfg.options.get(key).map(String::as_str);
        let bad = |key: &str, v: &str| anyhow!("option {key}: `{v}` is not accepted by {}", cfg.dialect.kind());
        let in_memory = matches!(cfg.target, DatabaseTarget::Sqlite { file: None });
        let where_ = match &cfg.target {
            DatabaseTarget::Server { host, port, database, username, .. } => {
                format!("{} at {host}:{port}, database {database}, user {username}", cfg.dialect.name())
            }
            DatabaseTarget::Sqlite { file: Some(f) } => format!("sqlite file {}", f.display()),
            DatabaseTarget::Sqlite { file: None } => "sqlite :memory:".to_owned(),
        };
        // sqlx errors repeat their cause in `source()`; show the text once.
        let unreachable = |e: sqlx::Error| anyhow!("cannot connect to {where_}: {e}");
        let query_timeout = QueryTimeout(cfg.query_timeout);
        let silent =
            || anyhow!("cannot connect to {where_}: no answer within {} (query_timeout)", query_timeout.text());
        let acquire_timeout = cfg.query_timeout.min(ACQUIRE_TIMEOUT);
        let pool = match (&cfg.target, cfg.dialect) {
            #[cfg(feature = "postgres")]
            (DatabaseTarget::Server { host, port, database, username, password }, Dialect::Postgres) => {
                let mut o = PgConnectOptions::new().host(host).port(*port).database(database).username(username);
                if let Some(pw) = password {
                    o = o.password(pw);
                }
                if let Some(v) = opt("sslmode") {
                    o = o.ssl_mode(PgSslMode::from_str(v).map_err(|_| bad("sslmode", v))?);
                }
                if let Some(v) = opt("sslrootcert") {
                    o = o.ssl_root_cert(v);
                }
                if let Some(v) = opt("application_name") {
                    o = o.application_name(v);
                }
                let runtime_params = cfg
                    .options
                    .iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "sslmode" | "sslrootcert" | "application_name"));
                o = o.options(runtime_params);
                // One direct attempt first: the pool would retry a refused
                // connection until its timeout and hide the reason.
                let first = tokio::time::timeout(cfg.query_timeout, sqlx::PgConnection::connect_with(&o))
                    .await
                    .map_err(|_| silent())?;
                first.map_err(&unreachable)?.close().await.ok();
                let pool = server_pool_options::<sqlx::Postgres>(p, acquire_timeout);
                let pool = tokio::time::timeout(cfg.query_timeout, pool.connect_with(o))
                    .await
                    .map_err(|_| silent())?
                    .map_err(&unreachable)?;
                Pool::Postgres(pool)
            }
            #[cfg(feature = "mysql")]
            (DatabaseTarget::Server { host, port, database, username, password }, Dialect::Mysql) => {
                let mut o = MySqlConnectOptions::new().host(host).port(*port).database(database).username(username);
                if let Some(pw) = password {
                    o = o.password(pw);
                }
                if let Some(v) = opt("ssl_mode") {
                    o = o.ssl_mode(MySqlSslMode::from_str(v).map_err(|_| bad("ssl_mode", v))?);
                }
                if let Some(v) = opt("ssl_ca") {
                    o = o.ssl_ca(v);
                }
                if let Some(v) = opt("charset") {
                    o = o.charset(v);
                }
                if let Some(v) = opt("collation") {
                    o = o.collation(v);
                }
                if let Some(v) = opt("timezone") {
                    o = o.timezone(Some(v.to_owned()));
                }
                if let Some(v) = opt("statement_cache_capacity") {
                    o = o.statement_cache_capacity(v.parse().map_err(|_| bad("statement_cache_capacity", v))?);
                }
                let first = tokio::time::timeout(cfg.query_timeout, sqlx::MySqlConnection::connect_with(&o))
                    .await
                    .map_err(|_| silent())?;
                first.map_err(&unreachable)?.close().await.ok();
                let pool = server_pool_options::<sqlx::MySql>(p, acquire_timeout);
                let pool = tokio::time::timeout(cfg.query_timeout, pool.connect_with(o))
                    .await
                    .map_err(|_| silent())?
                    .map_err(&unreachable)?;
                Pool::Mysql(pool)
            }
            #[cfg(feature = "sqlite")]
            (DatabaseTarget::Sqlite { file }, _) => {
                // WAL with synchronous=NORMAL: a committed write survives a
                // crash or kill of the process; FULL also survives power loss.
                let mut o = SqliteConnectOptions::new()
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(5))
                    .create_if_missing(true);
                if let Some(v) = opt("journal_mode") {
                    o = o.journal_mode(SqliteJournalMode::from_str(v).map_err(|_| bad("journal_mode", v))?);
                }
                if let Some(v) = opt("synchronous") {
                    o = o.synchronous(SqliteSynchronous::from_str(v).map_err(|_| bad("synchronous", v))?);
                }
                if let Some(v) = opt("busy_timeout") {
                    let d = crate::config::parse_duration(v).map_err(|e| anyhow!("option busy_timeout: {e}"))?;
                    o = o.busy_timeout(d);
                }
                let options = sqlite_pool_options(p, file.is_none(), acquire_timeout);
                let o = match file {
                    Some(f) => o.filename(f),
                    // One connection that never closes holds the whole database.
                    None => o.in_memory(true).journal_mode(SqliteJournalMode::Memory),
                };
                Pool::Sqlite(options.connect_with(o).await.map_err(&unreachable)?)
            }
            // Only reachable by an embedder building the config by hand: the
            // registry refuses kinds this build left out.
            #[allow(unreachable_patterns)]
            _ => anyhow::bail!(
                "{} is not in this build of kvhost: build it with cargo feature {}",
                cfg.dialect.kind(),
                cfg.dialect.name()
            ),
        };
        let server = format!("database {id} ({})", cfg.dialect.kind());
        Ok(Self { id: id.to_owned(), dialect: cfg.dialect, in_memory, pool, query_timeout, server, handle })
    }

    /// The entry's ID.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The dialect.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Whether this is a SQLite `:memory:` database (gone when the host stops).
    pub fn is_in_memory(&self) -> bool {
        self.in_memory
    }

    /// How long one operation may wait for the server.
    pub(crate) fn query_timeout(&self) -> QueryTimeout {
        self.query_timeout
    }

    /// The entry as error messages name it.
    pub(crate) fn server(&self) -> &str {
        &self.server
    }

    /// Run DDL statements, such as those of [`Dialect::schema`].
    pub async fn execute_ddl(&self, statements: &[String]) -> anyhow::Result<()> {
        for s in statements {
            let q = || sqlx::raw_sql(sqlx::AssertSqlSafe(s.clone()));
            with_pool!(&self.pool, p => q().execute(p).await.map(|_| ()))
                .map_err(|e| anyhow!("{e}"))
                .with_context(|| format!("running: {s}"))?;
        }
        Ok(())
    }

    /// Whether table `table` exists: a query that reads no row of it succeeds.
    pub async fn has_table(&self, table: &str) -> bool {
        let probe = format!("SELECT 1 FROM {} WHERE 1 = 0", self.dialect.quote(table));
        with_pool!(&self.pool, p => sqlx::raw_sql(sqlx::AssertSqlSafe(probe.clone())).execute(p).await.is_ok())
    }

    /// Close every connection, waiting for those in use to be returned.
    pub async fn close(&self) {
        with_pool!(&self.pool, p => p.close().await)
    }

    /// The runtime the pool lives on: operations on it are polled there
    /// (see [`Op::pending_on`](crate::Op::pending_on)).
    pub(crate) fn handle(&self) -> &Handle {
        &self.handle
    }
}

impl Database for SqlDatabase {
    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(SqlDatabase::close(self))
    }
}

/// Pool options for a PostgreSQL or MySQL server, sized from the entry.
#[cfg(any(feature = "postgres", feature = "mysql"))]
fn server_pool_options<DB: sqlx::Database>(p: &PoolConfig, acquire_timeout: Duration) -> sqlx::pool::PoolOptions<DB> {
    sqlx::pool::PoolOptions::new()
        .test_before_acquire(false)
        .max_connections(p.max_open)
        .min_connections(p.max_idle)
        .max_lifetime(p.max_lifetime)
        .acquire_timeout(acquire_timeout)
}

/// Pool options for SQLite: an in-memory database is one connection kept forever.
#[cfg(feature = "sqlite")]
fn sqlite_pool_options(p: &PoolConfig, in_memory: bool, acquire_timeout: Duration) -> SqlitePoolOptions {
    let o = SqlitePoolOptions::new().test_before_acquire(false).acquire_timeout(acquire_timeout);
    if in_memory {
        o.max_connections(1).min_connections(1).max_lifetime(None).idle_timeout(None)
    } else {
        o.max_connections(p.max_open).min_connections(p.max_idle).max_lifetime(p.max_lifetime)
    }
}
