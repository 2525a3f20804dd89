//! The SQL store: the memory store's semantics over one table.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use sqlx::{Connection as _, Row as _};

use super::TableNames;
use super::database::{SqlDatabase, with_conn, with_pool};
use super::dialect::{CLEANUP_BATCH, Statements};
use super::local::{self, Publish, Removed};
use super::value_version;
use crate::backend::clock::SharedClock;
use crate::backend::{Condition, Expiry, Op, Store, StoreInfo, Versioned, add_decimal, expiry};
use crate::error::{Error, Result};
use crate::watch::Feed;

/// A store kept in one SQL table: key, value, and `expires_at` in Unix
/// milliseconds (NULL = never). Every operation is one statement, so one
/// round trip, on a prepared statement cached per connection, and a future
/// that waits on the database without holding a thread.
pub struct SqlStore {
    pub(super) db: Arc<SqlDatabase>,
    pub(super) names: TableNames,
    pub(super) sql: Statements,
    clock: SharedClock,
    info: StoreInfo,
    /// Where this store's changes go (see [`crate::watch`]).
    pub(super) feed: Feed,
    /// Who publishes them: the PostgreSQL trigger, or this store.
    pub(super) publish: Publish,
    /// The PostgreSQL listener task, once started.
    #[cfg(feature = "postgres")]
    listener: super::listen::Task,
}

impl Drop for SqlStore {
    fn drop(&mut self) {
        #[cfg(feature = "postgres")]
        if let Some(task) = self.listener.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take() {
            task.abort();
        }
    }
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore").field("id", &self.info.id).field("table", &self.names.table).finish()
    }
}

impl SqlStore {
    /// Open store `id` on `db`'s table `names`, checking that the table and
    /// its columns exist. A SQLite `:memory:` database has its table created,
    /// since nobody else can create it.
    pub async fn open(id: &str, db: Arc<SqlDatabase>, names: &TableNames, clock: SharedClock) -> anyhow::Result<Self> {
        names.validate().map_err(|e| anyhow::anyhow!(e.message))?;
        let dialect = db.dialect();
        let sql = dialect.statements(names);
        if db.is_in_memory() {
            // SQLite keys are TEXT, whatever width the schema is given.
            db.execute_ddl(&dialect.schema(names, 255)).await?;
        }
        let probe = with_pool!(&db.pool, p => sqlx::query(sql.probe.clone()).fetch_optional(p).await.map(|_| ()));
        if let Err(e) = probe {
            let text = e.to_string();
            if let Error::Unavailable(_) = map_err(id, db.server(), e) {
                anyhow::bail!(
                    "cannot check table {} in {}: the database is unavailable ({text})",
                    names.table,
                    db.id()
                );
            }
            let missing_table = text.contains("does not exist") && !text.contains("column")
                || text.contains("doesn't exist")
                || text.contains("no such table");
            if missing_table {
                anyhow::bail!(
                    "table {} does not exist in {}; create it with: kvhost schema --config REGISTRY {id} --apply \
                     (or print the DDL with: kvhost schema --dialect {} --table {})",
                    names.table,
                    db.id(),
                    dialect.name(),
                    names.table
                );
            }
            anyhow::bail!(
                "table {} in {} does not have the columns {}, {}, {} ({text}); \
                 set id_column_name, payload_column_name and expire_column_name to match it",
                names.table,
                db.id(),
                names.key,
                names.value,
                names.expires_at
            );
        }
        let info = StoreInfo {
            id: id.to_owned(),
            backend: dialect.name(),
            durable: !db.is_in_memory(),
            versioned: names.version.is_some(),
        };
        #[cfg(feature = "postgres")]
        let listener = super::listen::Task::default();
        #[allow(unused_labels)] // without the postgres feature
        let (feed, publish) = 'feed: {
            #[cfg(feature = "postgres")]
            #[allow(irrefutable_let_patterns)]
            if let super::database::Pool::Postgres(pool) = &db.pool
                && super::listen::install(id, db.id(), pool, names).await
            {
                let listen = super::listen::Listen::new(id, names, pool);
                break 'feed (super::listen::feed(listen, db.handle().clone(), listener.clone()), Publish::Trigger);
            }
            (Feed::local(), Publish::Local { returning: local::supports_returning(&db).await })
        };
        Ok(Self {
            db,
            names: names.clone(),
            sql,
            clock,
            info,
            feed,
            publish,
            #[cfg(feature = "postgres")]
            listener,
        })
    }

    pub(super) fn now(&self) -> i64 {
        i64::try_from(self.clock.now_ms()).unwrap_or(i64::MAX)
    }

    /// When an entry written now with `ttl` expires, as stored (Unix ms).
    pub(super) fn expires_at(&self, ttl: Option<Duration>) -> Option<i64> {
        expiry(self.clock.now_ms(), ttl).map(|ms| i64::try_from(ms).unwrap_or(i64::MAX))
    }

    /// One database call as an operation: polled on the pool's runtime, its
    /// error mapped to what a guest may see.
    pub(super) fn op<'a, T: Send + 'a>(
        &'a self,
        query: impl Future<Output = std::result::Result<T, sqlx::Error>> + Send + 'a,
    ) -> Op<'a, T> {
        self.op_mapped(async move { query.await.map_err(|e| self.err(e)) })
    }

    /// Like [`SqlStore::op`] for work that maps its own errors. Either way
    /// the work is bounded by the database's `query_timeout`.
    pub(super) fn op_mapped<'a, T: Send + 'a>(
        &'a self,
        work: impl Future<Output = Result<T>> + Send + 'a,
    ) -> Op<'a, T> {
        let bounded = self.db.query_timeout().bound(&self.info.id, self.db.server(), work, || {});
        Op::pending_on(self.db.handle(), bounded)
    }

    /// Whether the table has a version column.
    pub(super) fn versioned(&self) -> bool {
        self.names.version.is_some()
    }

    /// The least version a write made now may get: a hybrid logical clock,
    /// `max(last + 1, now_ms << 20)`, strictly increasing within this process
    /// and growing with time across processes, so a key that is deleted and
    /// written again does not reuse an old version.
    pub(super) fn version_floor(&self) -> i64 {
        static LAST: AtomicI64 = AtomicI64::new(0);
        let now = i64::try_from(self.clock.now_ms()).unwrap_or(i64::MAX >> 21).saturating_mul(1 << 20);
        let prev = LAST
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |last| Some(last.saturating_add(1).max(now)))
            .unwrap_or_else(|last| last);
        prev.saturating_add(1).max(now)
    }

    pub(super) fn err(&self, e: sqlx::Error) -> Error {
        map_err(&self.info.id, self.db.server(), e)
    }

    /// Read-modify-write of one key in a transaction that locks its row
    /// (`SELECT ... FOR UPDATE`; SQLite: `BEGIN IMMEDIATE`). `decide` gets the
    /// live row (None if absent or expired) and returns the new value and
    /// expiry, or an error that aborts the transaction. Returns what `decide`
    /// returned and the row's new version. A new key is inserted without
    /// upsert, so two writers racing to create it cannot both win: the loser's
    /// transaction is retried and sees the winner's row.
    async fn locked_write<T>(
        &self,
        key: &str,
        mut decide: impl FnMut(Option<LockedRow<'_>>) -> Result<(Vec<u8>, Option<i64>, T)> + Send,
    ) -> Result<(T, u64)> {
        const ATTEMPTS: u32 = 40;
        let now = self.now();
        let versioned = self.versioned();
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(backoff(key, attempt)).await;
            }
            let attempt: std::result::Result<(T, u64), TxError> = async {
                with_conn!(&self.db.pool, p => {
                    let mut tx = p.begin_with(self.sql.begin.clone()).await?;
                    let row = sqlx::query(self.sql.lock.clone()).bind(key).fetch_optional(&mut *tx).await?;
                    let current: Option<(Vec<u8>, Option<i64>, i64)> = row
                        .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?, if versioned { r.try_get(2)? } else { 0 })))
                        .transpose()?;
                    let live = current.as_ref().filter(|(_, e, _)| e.is_none_or(|e| e > now)).map(|(v, e, ver)| LockedRow {
                        value: v,
                        expires: *e,
                        version: if versioned { *ver as u64 } else { value_version(v) },
                    });
                    let (value, expires, out) = decide(live).map_err(TxError::Store)?;
                    // The stored version only grows, even past an expired row's.
                    let old = current.as_ref().map_or(0, |(_, _, ver)| *ver);
                    let new_version = old.saturating_add(1).max(self.version_floor());
                    let write = if current.is_some() {
                        let q = sqlx::query(self.sql.update.clone()).bind(&value[..]).bind(expires);
                        let q = if versioned { q.bind(new_version) } else { q };
                        q.bind(key)
                    } else {
                        let q = sqlx::query(self.sql.insert.clone()).bind(key).bind(&value[..]).bind(expires);
                        if versioned { q.bind(new_version) } else { q }
                    };
                    write.execute(&mut *tx).await?;
                    tx.commit().await?;
                    self.published_set(key, &value);
                    Ok((out, if versioned { new_version as u64 } else { value_version(&value) }))
                })
            }
            .await;
            match attempt {
                Ok(out) => return Ok(out),
                Err(TxError::Store(e)) => return Err(e),
                Err(TxError::Sql(e)) if is_retryable(&e) => continue,
                Err(TxError::Sql(e)) => return Err(self.err(e)),
            }
        }
        Err(Error::Unavailable(format!("{}: too much contention on {key:?}; retry", self.info.id).into()))
    }
}

/// How long to wait before retrying a lost race on `key`: exponential up to
/// 32 ms, with jitter so that the writers who deadlocked together do not
/// collide again in step.
fn backoff(key: &str, attempt: u32) -> Duration {
    use std::hash::BuildHasher;
    let cap_us = 500u64 << attempt.min(6);
    let jitter = std::collections::hash_map::RandomState::new().hash_one((attempt, key)) % cap_us;
    Duration::from_micros(cap_us / 2 + jitter / 2)
}

/// The live row a locked write sees.
struct LockedRow<'a> {
    value: &'a [u8],
    expires: Option<i64>,
    version: u64,
}

/// What ends a transaction early.
enum TxError {
    Sql(sqlx::Error),
    Store(Error),
}

impl From<sqlx::Error> for TxError {
    fn from(e: sqlx::Error) -> Self {
        TxError::Sql(e)
    }
}

/// A lost race that a retry resolves: a concurrent insert of the same key,
/// a deadlock, a serialization failure, or SQLite's busy database.
fn is_retryable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            db.is_unique_violation() || matches!(db.code().as_deref(), Some("40001" | "40P01" | "5" | "517" | "6"))
        }
        _ => false,
    }
}

/// Map a driver error to what a guest may see: connection trouble is
/// `unavailable` (retry later); anything else names the store and its
/// database before the driver's own words.
fn map_err(store: &str, server: &str, e: sqlx::Error) -> Error {
    use sqlx::Error as E;
    match e {
        E::PoolTimedOut | E::PoolClosed | E::Io(_) | E::Tls(_) | E::Protocol(_) | E::WorkerCrashed => {
            Error::unavailable(format!("{store}: cannot reach {server}: {e}"), e)
        }
        E::Database(ref db) => {
            let code = db.code().unwrap_or_default();
            // SQLSTATE class 08 = connection exception, 57 = operator intervention
            // (server shutting down), 53 = insufficient resources.
            let message = format!("{store}: {server} refused the operation: {db}");
            if code.starts_with("08") || code.starts_with("57") || code.starts_with("53") {
                Error::unavailable(message, e)
            } else {
                Error::other(message, e)
            }
        }
        other => Error::other(format!("{store}: {server}: {other}"), other),
    }
}

impl Store for SqlStore {
    fn info(&self) -> &StoreInfo {
        &self.info
    }

    fn get<'a>(&'a self, key: &'a str) -> Op<'a, Option<Vec<u8>>> {
        let now = self.now();
        self.op(async move {
            with_conn!(&self.db.pool, p => sqlx::query(self.sql.get.clone()).bind(key).bind(now).fetch_optional(p).await
                .and_then(|row| row.map(|r| r.try_get::<Vec<u8>, _>(0)).transpose()))
        })
    }

    fn set<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Option<Duration>) -> Op<'a, ()> {
        let expires = self.expires_at(ttl);
        let version = self.versioned().then(|| self.version_floor());
        self.op(async move {
            with_conn!(&self.db.pool, p => {
                let q = sqlx::query(self.sql.set.clone()).bind(key).bind(&value[..]).bind(expires);
                let q = match version { Some(v) => q.bind(v), None => q };
                q.execute(p).await.map(|_| ())
            })?;
            self.published_set(key, &value);
            Ok(())
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> Op<'a, bool> {
        let now = self.now();
        self.op(async move {
            let removed = with_conn!(&self.db.pool, p => sqlx::query(self.sql.delete.clone()).bind(key).bind(now).execute(p).await.map(|r| r.rows_affected() > 0))?;
            if removed {
                self.published_deletes([key]);
            }
            Ok(removed)
        })
    }

    fn exists<'a>(&'a self, key: &'a str) -> Op<'a, bool> {
        let now = self.now();
        self.op(async move {
            with_conn!(&self.db.pool, p => sqlx::query(self.sql.exists.clone()).bind(key).bind(now).fetch_optional(p).await.map(|r| r.is_some()))
        })
    }

    fn clear(&self) -> Op<'_, ()> {
        let removed = self.removed();
        self.op(async move {
            if removed == Removed::Returning {
                let keys = with_conn!(&self.db.pool, p => sqlx::query(self.returning(&self.sql.clear)).fetch_all(p).await.and_then(|r| local::keys(&r)))?;
                self.published_deletes(keys.iter().map(String::as_str));
                return Ok(());
            }
            with_conn!(&self.db.pool, p => sqlx::query(self.sql.clear.clone()).execute(p).await.map(|_| ()))?;
            if removed == Removed::Missed {
                self.missed("clear");
            }
            Ok(())
        })
    }

    fn remove_expired(&self) -> Op<'_, u64> {
        let now = self.now();
        self.op(async move {
            let mut total = 0;
            loop {
                // Small batches, each its own statement: no long lock on the table.
                let removed = self.removed();
                let n = if removed == Removed::Returning {
                    let keys = with_conn!(&self.db.pool, p => sqlx::query(self.returning(&self.sql.cleanup)).bind(now).fetch_all(p).await.and_then(|r| local::keys(&r)))?;
                    self.published_deletes(keys.iter().map(String::as_str));
                    keys.len() as u64
                } else {
                    let n = with_conn!(&self.db.pool, p => sqlx::query(self.sql.cleanup.clone()).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
                    if removed == Removed::Missed && n > 0 {
                        self.missed("the cleanup of expired entries");
                    }
                    n
                };
                total += n;
                if n < CLEANUP_BATCH {
                    return Ok(total);
                }
            }
        })
    }

    fn list<'a>(&'a self, prefix: &'a str, after: Option<&'a str>, limit: usize) -> Op<'a, Vec<String>> {
        let now = self.now();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mysql = self.db.dialect() == super::Dialect::Mysql;
        self.op(async move {
            with_conn!(&self.db.pool, p => {
                let q = sqlx::query(self.sql.list.clone()).bind(prefix);
                let q = if mysql { q.bind(prefix) } else { q };
                let rows = q.bind(after.unwrap_or("")).bind(now).bind(limit).fetch_all(p).await?;
                // Unchecked: MySQL keys are VARBINARY; the bytes are UTF-8 we wrote.
                rows.iter().map(|r| r.try_get_unchecked::<String, _>(0)).collect::<std::result::Result<Vec<_>, _>>()
            })
        })
    }

    fn get_entry<'a>(&'a self, key: &'a str) -> Op<'a, Option<Versioned>> {
        if !self.versioned() {
            return self.op_mapped(async move {
                Ok(self.get(key).await?.map(|value| Versioned { version: value_version(&value), value }))
            });
        }
        let now = self.now();
        self.op(async move {
            with_conn!(&self.db.pool, p => sqlx::query(self.sql.get_versioned.clone()).bind(key).bind(now).fetch_optional(p).await
                .and_then(|row| row.map(|r| Ok(Versioned { value: r.try_get(0)?, version: r.try_get::<i64, _>(1)? as u64 })).transpose()))
        })
    }

    fn expiry<'a>(&'a self, key: &'a str) -> Op<'a, Option<Expiry>> {
        let now = self.now();
        self.op(async move {
            with_pool!(&self.db.pool, p => sqlx::query(self.sql.expiry.clone()).bind(key).bind(now).fetch_optional(p).await
                .and_then(|row| row.map(|r| r.try_get::<Option<i64>, _>(0)).transpose()))
        })
        .map(move |at| Ok(at?.map(|at| Expiry::at(at.map(|ms| ms.max(0) as u64), now.max(0) as u64))))
    }

    fn put<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Option<Duration>, condition: Condition) -> Op<'a, u64> {
        if condition == Condition::Always && !self.versioned() {
            let version = value_version(&value);
            return self.op_mapped(async move { self.set(key, value, ttl).await.map(|()| version) });
        }
        let expires = self.expires_at(ttl);
        self.op_mapped(async move {
            let ((), version) = self
                .locked_write(key, |live| {
                    if !condition.holds(live.map(|r| r.version)) {
                        return Err(condition.conflict(key));
                    }
                    Ok((value.clone(), expires, ()))
                })
                .await?;
            Ok(version)
        })
    }

    fn increment<'a>(&'a self, key: &'a str, delta: i64) -> Op<'a, i64> {
        self.op_mapped(async move {
            let (n, _) = self
                .locked_write(key, |live| {
                    let n = add_decimal(key, live.as_ref().map(|r| r.value), delta)?;
                    Ok((n.to_string().into_bytes(), live.and_then(|r| r.expires), n))
                })
                .await?;
            Ok(n)
        })
    }

    fn get_many<'a>(&'a self, keys: &'a [String]) -> Op<'a, Vec<Option<Vec<u8>>>> {
        self.op_mapped(self.batch_get(keys))
    }

    fn set_many<'a>(&'a self, entries: &'a [(String, Vec<u8>)], ttl: Option<Duration>) -> Op<'a, ()> {
        self.op_mapped(self.batch_set(entries, ttl))
    }

    fn delete_many<'a>(&'a self, keys: &'a [String]) -> Op<'a, u64> {
        self.op_mapped(self.batch_delete(keys))
    }

    fn feed(&self) -> Option<&Feed> {
        Some(&self.feed)
    }
}
