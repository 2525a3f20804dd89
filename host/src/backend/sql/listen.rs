//! PostgreSQL: the trigger installed when a store opens, and the listener
//! that turns its notifications into the store's shared feed.
//!
//! The listener holds one connection of its own (a pool of one, with the
//! store pool's connect options), opened when the first watcher subscribes.
//! It reads notifications with `PgListener::try_recv`, never `recv`:
//! sqlx's `recv` reconnects by itself when the connection drops and so hides
//! that notifications were lost meanwhile (sqlx-postgres 0.9,
//! `listener.rs`), and `try_recv` returns `Ok(None)` only for some I/O
//! errors (aborted, EOF, timed out, broken pipe) while a reset connection or
//! a server shutting down (`57P01`) comes back as `Err`. Both end the
//! connection here: watchers read `Missed { count: None }`, and the listener
//! reconnects with backoff, LISTENs again and reports that it listens. A
//! connection quiet for 5 s is pinged (`SELECT 1`), so one that died
//! without closing (a cable cut, a frozen server) is found within 10 s.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Row as _, SqlSafeStr as _, SqlStr};
use tokio::task::AbortHandle;

use super::TableNames;
use super::dialect::Dialect;
use super::notify::{self, Payload};
use crate::watch::{Feed, Publisher};

/// The listener task of a store, aborted when the store is dropped.
pub(crate) type Task = Arc<Mutex<Option<AbortHandle>>>;

/// Make sure the table's trigger is installed and current: check the
/// catalog first (no privilege needed), else install it under an advisory
/// lock (hosts opening the store at once do not collide). `false`, with a
/// warning naming the table and the fix, when it cannot be installed.
pub(crate) async fn install(id: &str, db_id: &str, pool: &PgPool, names: &TableNames) -> bool {
    let table = Dialect::Postgres.quote(&names.table);
    let rows = sqlx::query(notify::INSTALLED).bind(&table).fetch_all(pool).await.and_then(|rows| {
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect::<Result<Vec<_>, sqlx::Error>>()
    });
    if rows.is_ok_and(|rows| notify::installed(&rows, names)) {
        return true;
    }
    let lock = super::value_version(notify::channel(&names.table).as_bytes()) as i64;
    let installed = async {
        let mut tx = pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(lock).execute(&mut *tx).await?;
        for statement in notify::ddl(names) {
            sqlx::raw_sql(AssertSqlSafe(statement)).execute(&mut *tx).await?;
        }
        tx.commit().await
    }
    .await;
    match installed {
        Ok(()) => {
            tracing::info!(store = id, table = %names.table, "watch: installed the change-notification trigger");
            true
        }
        Err(e) => {
            tracing::warn!(
                store = id,
                table = %names.table,
                database = db_id,
                error = %e,
                "watch: cannot install the change-notification trigger on table {} in {db_id}, so watchers of {id} see \
                 only this process's changes (watch: local); fix: run `kvhost schema --config REGISTRY {id} --apply` \
                 (or the DDL `kvhost schema` prints) as a role that owns the table, then restart",
                names.table
            );
            false
        }
    }
}

/// What the listener needs.
pub(crate) struct Listen {
    pub(crate) store: String,
    pub(crate) table: String,
    pub(crate) channel: String,
    pub(crate) options: PgConnectOptions,
    /// The store's pool, to read the value of a large set.
    pub(crate) pool: PgPool,
    /// `SELECT value FROM table WHERE key = $1`.
    pub(crate) lookup: SqlStr,
}

impl Listen {
    pub(crate) fn new(store: &str, names: &TableNames, pool: &PgPool) -> Self {
        let q = |c: &str| Dialect::Postgres.quote(c);
        let lookup = format!("SELECT {} FROM {} WHERE {} = $1", q(&names.value), q(&names.table), q(&names.key));
        Self {
            store: store.to_owned(),
            table: names.table.clone(),
            channel: notify::channel(&names.table),
            options: (*pool.connect_options()).clone(),
            pool: pool.clone(),
            lookup: AssertSqlSafe(lookup).into_sql_str(),
        }
    }
}

/// A shared feed whose listener starts, on `handle`, when the first watcher
/// subscribes; its abort handle goes into `task`.
pub(crate) fn feed(listen: Listen, handle: tokio::runtime::Handle, task: Task) -> Feed {
    Feed::shared(move |publisher| {
        let spawned = handle.spawn(run(listen, publisher));
        *task.lock().unwrap_or_else(PoisonError::into_inner) = Some(spawned.abort_handle());
    })
}

/// How long the listener waits for a notification before it pings its
/// connection, and how long it waits for the answer.
const PING_EVERY: Duration = Duration::from_secs(5);

/// Wait before reconnecting: 100 ms doubling up to 3.2 s.
fn backoff(failures: u32) -> Duration {
    Duration::from_millis(100 << failures.min(5))
}

async fn run(l: Listen, publisher: Publisher) {
    // A pool of one: PgListener reconnects through a pool; a broken
    // connection is tested (and replaced) before it is reused.
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .max_lifetime(None)
        .idle_timeout(None)
        .acquire_timeout(Duration::from_secs(5))
        .test_before_acquire(true)
        .connect_lazy_with(l.options.clone());
    let mut failures = 0u32;
    loop {
        // A frozen server answers neither the connection nor LISTEN.
        let listening = tokio::time::timeout(PING_EVERY, listen(&pool, &l.channel)).await;
        let mut listener = match listening.unwrap_or_else(|_| Err(sqlx::Error::PoolTimedOut)) {
            Ok(listener) => listener,
            Err(e) => {
                if failures == 0 {
                    tracing::warn!(store = %l.store, table = %l.table, error = %e, "watch: cannot LISTEN on PostgreSQL; retrying");
                }
                failures += 1;
                tokio::time::sleep(backoff(failures)).await;
                continue;
            }
        };
        if failures > 0 {
            tracing::info!(store = %l.store, table = %l.table, "watch: listening on PostgreSQL again");
        }
        failures = 0;
        if !publisher.listening(true) {
            return;
        }
        let why = loop {
            match tokio::time::timeout(PING_EVERY, listener.try_recv()).await {
                Ok(Ok(Some(n))) => {
                    if !deliver(&l, &publisher, n.payload()).await {
                        return;
                    }
                }
                Ok(Ok(None)) => break "the connection was closed".to_owned(),
                Ok(Err(e)) => break e.to_string(),
                // Quiet for a while: is the store still there, and the
                // connection? One that died without closing says nothing
                // until it is asked.
                Err(_) => {
                    if !publisher.listening(true) {
                        return;
                    }
                    let ping = sqlx::query("SELECT 1").execute(&mut listener);
                    match tokio::time::timeout(PING_EVERY, ping).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => break format!("a ping failed: {e}"),
                        Err(_) => break format!("no answer to a ping within {PING_EVERY:?}"),
                    }
                }
            }
        };
        drop(listener);
        tracing::warn!(store = %l.store, table = %l.table, reason = %why, "watch: lost the PostgreSQL connection; changes made until it is back are missed; reconnecting");
        if !publisher.listening(false) {
            return;
        }
    }
}

async fn listen(pool: &PgPool, channel: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.ignore_pool_close_event(true);
    // Report a lost connection at once; this task reconnects.
    listener.eager_reconnect(false);
    listener.listen(channel).await?;
    Ok(listener)
}

/// Publish one notification; `false` once the store is gone.
async fn deliver(l: &Listen, publisher: &Publisher, payload: &str) -> bool {
    match notify::parse(payload) {
        Some(Payload::Set { key, value }) => publisher.set(key, &value),
        Some(Payload::Delete { key }) => publisher.delete(key),
        Some(Payload::Large { key }) => {
            let lookup = sqlx::query(l.lookup.clone()).bind(key).fetch_optional(&l.pool);
            let row = tokio::time::timeout(PING_EVERY, lookup).await.unwrap_or(Err(sqlx::Error::PoolTimedOut));
            match row.and_then(|r| r.map(|r| r.try_get::<Vec<u8>, _>(0)).transpose()) {
                Ok(Some(value)) => publisher.set(key, &value),
                Ok(None) => publisher.delete(key),
                Err(e) => {
                    tracing::warn!(store = %l.store, key, error = %e, "watch: cannot read the value of a large set; watchers miss it");
                    publisher.listening(false) && publisher.listening(true)
                }
            }
        }
        Some(Payload::Unnamed) => {
            tracing::warn!(store = %l.store, table = %l.table, "watch: the table changed in a way a notification cannot name (TRUNCATE, or a key over 7000 bytes); watchers miss it");
            publisher.listening(false) && publisher.listening(true)
        }
        None => {
            let shown: String = payload.chars().take(40).collect();
            tracing::warn!(store = %l.store, channel = %l.channel, payload = %shown, "watch: ignored a notification kvhost does not send");
            true
        }
    }
}
