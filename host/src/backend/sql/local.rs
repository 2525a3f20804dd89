//! SQLite, MySQL/MariaDB (and PostgreSQL without its trigger): this
//! process's changes, published from Rust after each write succeeded.
//!
//! A set, put or increment publishes the value it wrote; a delete publishes
//! when it removed a row; delete-many, clear and the cleanup of expired rows
//! publish a delete for each key they removed, read with `DELETE ...
//! RETURNING key` while anyone watches (the plain statement otherwise).
//! RETURNING is checked when the store opens: SQLite 3.35 or later (sqlx
//! bundles 3.51), MariaDB 10.5 or later (here 10.11), PostgreSQL. MySQL
//! has no DELETE ... RETURNING: there a watched delete-many, clear or
//! cleanup reaches watchers as `Missed { count: None }`, logged.
//!
//! Order: a change is published once its statement (or transaction) has
//! returned. Writes to one key from one task are published in order; writes
//! to one key from concurrent tasks are published in the order their
//! statements returned, which can differ from the order the database
//! applied them, so a watcher's last value for such a key may differ from
//! the table's. Changes made by other processes are not seen (`watch:
//! local`).

use sqlx::{AssertSqlSafe, Row as _, SqlSafeStr as _, SqlStr};

use super::database::{SqlDatabase, with_pool};
use super::dialect::Dialect;
use super::store::SqlStore;
use crate::backend::Store as _;

/// How a store publishes its changes.
pub(crate) enum Publish {
    /// The PostgreSQL trigger publishes every change; the store does not.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Trigger,
    /// The store publishes this process's changes.
    Local {
        /// Whether DELETE ... RETURNING works on this server.
        returning: bool,
    },
}

/// What a removing statement must do for watchers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Removed {
    /// Nobody watches, or the trigger publishes: the plain statement.
    Ignore,
    /// Read the removed keys with RETURNING and publish them.
    Returning,
    /// Watched, but the server cannot say which keys: report a miss.
    Missed,
}

/// Whether `db` supports `DELETE ... RETURNING`, asked of the server.
pub(crate) async fn supports_returning(db: &SqlDatabase) -> bool {
    let (query, least): (&'static str, (u32, u32)) = match db.dialect() {
        Dialect::Postgres => return true,
        Dialect::Sqlite => ("SELECT sqlite_version()", (3, 35)),
        Dialect::Mysql => ("SELECT VERSION()", (10, 5)),
    };
    let version = with_pool!(&db.pool, p => sqlx::query(query).fetch_one(p).await.and_then(|r| r.try_get_unchecked::<String, _>(0)));
    let Ok(version) = version else { return false };
    if db.dialect() == Dialect::Mysql && !version.contains("MariaDB") {
        return false;
    }
    let mut parts = version.split(|c: char| !c.is_ascii_digit()).filter_map(|p| p.parse::<u32>().ok());
    matches!((parts.next(), parts.next()), (Some(a), Some(b)) if (a, b) >= least)
}

/// `sql` with `RETURNING key` appended.
pub(crate) fn returning(sql: &SqlStr, dialect: Dialect, key: &str) -> SqlStr {
    AssertSqlSafe(format!("{} RETURNING {}", sql.as_str(), dialect.quote(key))).into_sql_str()
}

/// The keys of rows a RETURNING statement gave (MySQL keys are VARBINARY
/// holding the UTF-8 we wrote).
pub(crate) fn keys<R: sqlx::Row>(rows: &[R]) -> Result<Vec<String>, sqlx::Error>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database>,
{
    rows.iter().map(|r| r.try_get_unchecked::<String, _>(0)).collect()
}

impl SqlStore {
    /// Publish a set this process made, unless the trigger does.
    pub(super) fn published_set(&self, key: &str, value: &[u8]) {
        if matches!(self.publish, Publish::Local { .. }) {
            self.feed.set(key, value);
        }
    }

    /// Publish deletes this process made, unless the trigger does.
    pub(super) fn published_deletes<'k>(&self, keys: impl IntoIterator<Item = &'k str>) {
        if matches!(self.publish, Publish::Local { .. }) {
            keys.into_iter().for_each(|k| self.feed.delete(k));
        }
    }

    /// What a statement that removes rows must do for watchers, now.
    pub(super) fn removed(&self) -> Removed {
        match self.publish {
            Publish::Local { returning } if self.feed.is_watched() => {
                if returning {
                    Removed::Returning
                } else {
                    Removed::Missed
                }
            }
            _ => Removed::Ignore,
        }
    }

    /// `sql` with `RETURNING key`.
    pub(super) fn returning(&self, sql: &SqlStr) -> SqlStr {
        returning(sql, self.db.dialect(), &self.names.key)
    }

    /// Tell watchers that `what` removed keys this server cannot name.
    pub(super) fn missed(&self, what: &str) {
        tracing::warn!(store = %self.info().id, "watch: {what} removed keys that MySQL cannot list (no DELETE ... RETURNING); watchers miss them");
        let publisher = self.feed.publisher();
        publisher.listening(false);
        publisher.listening(true);
    }
}
