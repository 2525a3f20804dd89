//! Batches on SQL stores: one statement on PostgreSQL (arrays), and chunked
//! multi-row statements in one transaction on MySQL and SQLite.

use std::collections::HashMap;
use std::time::Duration;

use sqlx::{Connection as _, Row as _};

use super::checkout::Checkout;
#[cfg(feature = "postgres")]
use super::database::Pool;
use super::database::with_conn;
use super::local::{self, Removed};
use super::store::SqlStore;
use crate::error::Result;

/// Rows per statement on MySQL and SQLite (3 parameters each, well under
/// SQLite's 32766 and MySQL's 65535 parameter limits).
const CHUNK: usize = 1000;

/// Most bytes of keys and values one multi-row statement carries: MariaDB
/// refuses a statement over its `max_allowed_packet` (16 MiB by default),
/// which a set-many at `max_result_bytes` (16 MiB) would exceed.
const CHUNK_BYTES: usize = 4 << 20;

/// `keys` in runs of at most [`CHUNK`] keys and [`CHUNK_BYTES`] bytes as
/// `size` counts them (a run holds at least one key, whatever its size).
fn runs<'k>(keys: &'k [&'k str], size: impl Fn(&str) -> usize) -> Vec<&'k [&'k str]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, key) in keys.iter().enumerate() {
        let n = size(key);
        if i > start && (i - start == CHUNK || bytes + n > CHUNK_BYTES) {
            out.push(&keys[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += n;
    }
    if start < keys.len() {
        out.push(&keys[start..]);
    }
    out
}

/// `keys` without repeats, first occurrence first.
fn unique(keys: &[String]) -> Vec<&str> {
    let mut seen = std::collections::HashSet::new();
    keys.iter().map(String::as_str).filter(|k| seen.insert(*k)).collect()
}

impl SqlStore {
    pub(super) async fn batch_get(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
        let now = self.now();
        let wanted = unique(keys);
        let dialect = self.db.dialect();
        let found: HashMap<String, Vec<u8>> = async {
            let mut found = HashMap::new();
            // PostgreSQL takes the keys as one array parameter.
            #[cfg(feature = "postgres")]
            #[allow(irrefutable_let_patterns)]
            if let Pool::Postgres(pool) = &self.db.pool {
                let mut p = Checkout::take(pool).await?;
                let rows = sqlx::query(self.sql.get_any.clone()).bind(&wanted).bind(now).fetch_all(&mut *p).await?;
                for r in rows {
                    found.insert(r.try_get::<String, _>(0)?, r.try_get::<Vec<u8>, _>(1)?);
                }
                return Ok(found);
            }
            for chunk in wanted.chunks(CHUNK) {
                let rows = with_conn!(&self.db.pool, p => {
                    let q = chunk.iter().fold(sqlx::query(dialect.get_in(&self.names, chunk.len())), |q, k| q.bind(*k));
                    let rows = q.bind(now).fetch_all(p).await?;
                    rows.iter()
                        .map(|r| Ok((r.try_get_unchecked::<String, _>(0)?, r.try_get::<Vec<u8>, _>(1)?)))
                        .collect::<std::result::Result<Vec<_>, sqlx::Error>>()
                })?;
                found.extend(rows);
            }
            Ok::<_, sqlx::Error>(found)
        }
        .await
        .map_err(|e| self.err(e))?;
        Ok(keys.iter().map(|k| found.get(k).cloned()).collect())
    }

    pub(super) async fn batch_set(&self, entries: &[(String, Vec<u8>)], ttl: Option<Duration>) -> Result<()> {
        let expires = self.expires_at(ttl);
        // The last value of a repeated key wins, as if set one by one.
        let mut last: HashMap<&str, &[u8]> = HashMap::new();
        let mut order = Vec::new();
        for (k, v) in entries {
            if last.insert(k, v).is_none() {
                order.push(k.as_str());
            }
        }
        if order.is_empty() {
            return Ok(());
        }
        let dialect = self.db.dialect();
        let version = self.versioned().then(|| self.version_floor());
        let written = async {
            #[cfg(feature = "postgres")]
            #[allow(irrefutable_let_patterns)]
            if let Pool::Postgres(pool) = &self.db.pool {
                let mut p = Checkout::take(pool).await?;
                let values: Vec<&[u8]> = order.iter().map(|k| last[k]).collect();
                let exp = vec![expires; order.len()];
                let q = sqlx::query(self.sql.set_any.clone()).bind(&order).bind(&values).bind(&exp);
                let q = match version {
                    Some(v) => q.bind(vec![v; order.len()]),
                    None => q,
                };
                q.execute(&mut *p).await?;
                return Ok(());
            }
            with_conn!(&self.db.pool, p => {
                let mut tx = p.begin().await?;
                for chunk in runs(&order, |k| k.len() + last[k].len()) {
                    let q = chunk.iter().fold(sqlx::query(dialect.set_rows(&self.names, chunk.len())), |q, k| {
                        let q = q.bind(*k).bind(last[k]).bind(expires);
                        match version { Some(v) => q.bind(v), None => q }
                    });
                    q.execute(&mut *tx).await?;
                }
                tx.commit().await
            })
        };
        written.await.map_err(|e| self.err(e))?;
        for k in &order {
            self.published_set(k, last[k]);
        }
        Ok(())
    }

    pub(super) async fn batch_delete(&self, keys: &[String]) -> Result<u64> {
        let now = self.now();
        let wanted = unique(keys);
        if wanted.is_empty() {
            return Ok(0);
        }
        let dialect = self.db.dialect();
        let removed = self.removed();
        // The keys removed, when watchers need them (RETURNING), else how many.
        let deleted = async {
            #[cfg(feature = "postgres")]
            #[allow(irrefutable_let_patterns)]
            if let Pool::Postgres(pool) = &self.db.pool {
                let mut p = Checkout::take(pool).await?;
                if removed == Removed::Returning {
                    let q = sqlx::query(self.returning(&self.sql.delete_any)).bind(&wanted).bind(now);
                    return Ok(Gone::Keys(local::keys(&q.fetch_all(&mut *p).await?)?));
                }
                let q = sqlx::query(self.sql.delete_any.clone()).bind(&wanted).bind(now);
                return q.execute(&mut *p).await.map(|r| Gone::Count(r.rows_affected()));
            }
            with_conn!(&self.db.pool, p => {
                let mut tx = p.begin().await?;
                let (mut n, mut keys) = (0, Vec::new());
                for chunk in wanted.chunks(CHUNK) {
                    let sql = dialect.delete_in(&self.names, chunk.len());
                    if removed == Removed::Returning {
                        let q = chunk.iter().fold(sqlx::query(self.returning(&sql)), |q, k| q.bind(*k));
                        keys.extend(local::keys(&q.bind(now).fetch_all(&mut *tx).await?)?);
                    } else {
                        let q = chunk.iter().fold(sqlx::query(sql), |q, k| q.bind(*k));
                        n += q.bind(now).execute(&mut *tx).await?.rows_affected();
                    }
                }
                tx.commit().await?;
                Ok(if removed == Removed::Returning { Gone::Keys(keys) } else { Gone::Count(n) })
            })
        };
        match deleted.await.map_err(|e| self.err(e))? {
            Gone::Keys(keys) => {
                self.published_deletes(keys.iter().map(String::as_str));
                Ok(keys.len() as u64)
            }
            Gone::Count(n) => {
                if removed == Removed::Missed && n > 0 {
                    self.missed("delete-many");
                }
                Ok(n)
            }
        }
    }
}

/// What a delete-many removed: its keys when watchers need them, else how many.
enum Gone {
    Keys(Vec<String>),
    Count(u64),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_split_by_count_and_by_bytes() {
        let keys: Vec<String> = (0..2500).map(|i| format!("k{i}")).collect();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let by_count: Vec<usize> = runs(&keys, |_| 1).iter().map(|r| r.len()).collect();
        assert_eq!(by_count, [1000, 1000, 500]);
        let mib = 1 << 20;
        let by_bytes: Vec<usize> = runs(&keys[..16], |_| mib).iter().map(|r| r.len()).collect();
        assert_eq!(by_bytes, [4, 4, 4, 4], "16 values of 1 MiB: 4 MiB per statement");
        assert_eq!(runs(&keys[..2], |_| 10 * mib).len(), 2, "an oversized key still gets a run of its own");
        assert!(runs(&[], |_| 1).is_empty());
    }
}
