//! The SQL store: the memory store's semantics over one table.

use std::sync::Arc;
use std::time::Duration;

use sqlx::Row as _;

use super::database::{SqlDatabase, with_pool};
use super::dialect::{CLEANUP_BATCH, Statements};
use crate::clock::SharedClock;
use crate::error::{Error, Result};
use crate::registry::TableNames;
use crate::store::{Limits, Store, StoreInfo, expiry};

/// A store kept in one SQL table: key, value, and `expires_at` in Unix
/// milliseconds (NULL = never). Every operation is one statement, so one
/// round trip, on a prepared statement cached per connection.
pub struct SqlStore {
    db: Arc<SqlDatabase>,
    table: String,
    sql: Statements,
    clock: SharedClock,
    info: StoreInfo,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore").field("id", &self.info.id).field("table", &self.table).finish()
    }
}

impl SqlStore {
    /// Open store `id` on `db`'s table `names`, checking that the table and
    /// its columns exist. A SQLite `:memory:` database has its table created,
    /// since nobody else can create it.
    pub async fn open(
        id: &str,
        db: Arc<SqlDatabase>,
        names: &TableNames,
        limits: Limits,
        clock: SharedClock,
    ) -> anyhow::Result<Self> {
        names.validate().map_err(anyhow::Error::msg)?;
        let dialect = db.dialect();
        let sql = dialect.statements(names);
        if db.is_in_memory() {
            db.execute_ddl(&dialect.schema(names, limits.max_key_bytes)).await?;
        }
        let probe = with_pool!(&db.pool, p => sqlx::query(sql.probe.clone()).fetch_optional(p).await.map(|_| ()));
        if let Err(e) = probe {
            let text = e.to_string();
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
        let info = StoreInfo { id: id.to_owned(), backend: dialect.name(), durable: !db.is_in_memory(), limits };
        Ok(Self { db, table: names.table.clone(), sql, clock, info })
    }

    fn now(&self) -> i64 {
        i64::try_from(self.clock.now_ms()).unwrap_or(i64::MAX)
    }
}

/// Map a driver error to what a guest may see: connection trouble is
/// `unavailable` (retry later); anything else names the store.
fn map_err(store: &str, e: sqlx::Error) -> Error {
    use sqlx::Error as E;
    match e {
        E::PoolTimedOut | E::PoolClosed | E::Io(_) | E::Tls(_) | E::Protocol(_) | E::WorkerCrashed => {
            Error::Unavailable(format!("{store}: {e}"))
        }
        E::Database(db) => {
            let code = db.code().unwrap_or_default();
            // SQLSTATE class 08 = connection exception, 57 = operator intervention
            // (server shutting down), 53 = insufficient resources.
            if code.starts_with("08") || code.starts_with("57") || code.starts_with("53") {
                Error::Unavailable(format!("{store}: {db}"))
            } else {
                Error::Other(format!("{store}: {db}"))
            }
        }
        other => Error::Other(format!("{store}: {other}")),
    }
}

impl Store for SqlStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let now = self.now();
        self.db
            .block_on(async {
                with_pool!(&self.db.pool, p => sqlx::query(self.sql.get.clone()).bind(key).bind(now).fetch_optional(p).await
                    .and_then(|row| row.map(|r| r.try_get::<Vec<u8>, _>(0)).transpose()))
            })
            .map_err(|e| map_err(&self.info.id, e))
    }

    fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<()> {
        let expires = expiry(self.clock.now_ms(), ttl).map(|ms| i64::try_from(ms).unwrap_or(i64::MAX));
        self.db
            .block_on(async {
                with_pool!(&self.db.pool, p => sqlx::query(self.sql.set.clone()).bind(key).bind(value).bind(expires).execute(p).await.map(|_| ()))
            })
            .map_err(|e| map_err(&self.info.id, e))
    }

    fn delete(&self, key: &str) -> Result<bool> {
        let now = self.now();
        self.db
            .block_on(async {
                with_pool!(&self.db.pool, p => sqlx::query(self.sql.delete.clone()).bind(key).bind(now).execute(p).await.map(|r| r.rows_affected() > 0))
            })
            .map_err(|e| map_err(&self.info.id, e))
    }

    fn exists(&self, key: &str) -> Result<bool> {
        let now = self.now();
        self.db
            .block_on(async {
                with_pool!(&self.db.pool, p => sqlx::query(self.sql.exists.clone()).bind(key).bind(now).fetch_optional(p).await.map(|r| r.is_some()))
            })
            .map_err(|e| map_err(&self.info.id, e))
    }

    fn clear(&self) -> Result<()> {
        self.db
            .block_on(async {
                with_pool!(&self.db.pool, p => sqlx::query(self.sql.clear.clone()).execute(p).await.map(|_| ()))
            })
            .map_err(|e| map_err(&self.info.id, e))
    }

    fn remove_expired(&self) -> Result<u64> {
        let now = self.now();
        let mut total = 0;
        loop {
            // Small batches, each its own statement: no long lock on the table.
            let n = self
                .db
                .block_on(async {
                    with_pool!(&self.db.pool, p => sqlx::query(self.sql.cleanup.clone()).bind(now).execute(p).await.map(|r| r.rows_affected()))
                })
                .map_err(|e| map_err(&self.info.id, e))?;
            total += n;
            if n < CLEANUP_BATCH {
                return Ok(total);
            }
        }
    }

    fn info(&self) -> &StoreInfo {
        &self.info
    }
}
