//! What differs between SQL dialects: quoting, placeholders, upserts, DDL.

use sqlx::{AssertSqlSafe, SqlSafeStr, SqlStr};

use super::TableNames;

/// A SQL dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// PostgreSQL.
    Postgres,
    /// MySQL and MariaDB.
    Mysql,
    /// SQLite.
    Sqlite,
}

/// Rows deleted per cleanup statement, so cleanup never holds a long lock.
pub(crate) const CLEANUP_BATCH: u64 = 1000;

/// The statements of one SQL store, built once from validated names.
#[derive(Debug, Clone)]
pub(crate) struct Statements {
    pub get: SqlStr,
    /// Value and version column (or just the value, without one).
    pub get_versioned: SqlStr,
    pub exists: SqlStr,
    /// A live row's expiry column.
    pub expiry: SqlStr,
    pub set: SqlStr,
    pub delete: SqlStr,
    pub clear: SqlStr,
    pub cleanup: SqlStr,
    /// Selects no rows; fails if the table or a column is missing.
    pub probe: SqlStr,
    /// Keys by prefix after a key, live, in byte order, limited.
    pub list: SqlStr,
    /// Starts the transaction of a conditional write.
    pub begin: SqlStr,
    /// Reads a row's value and expiry, locking it until commit.
    pub lock: SqlStr,
    /// Inserts a row; fails if the key exists.
    pub insert: SqlStr,
    /// Replaces a row's value and expiry.
    pub update: SqlStr,
    /// PostgreSQL only: get, set and delete many keys in one statement with arrays.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub get_any: SqlStr,
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub set_any: SqlStr,
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub delete_any: SqlStr,
}

impl Dialect {
    /// The dialect of a `db.sql.*` kind.
    pub fn from_kind(kind: &str) -> Option<Self> {
        match kind {
            "db.sql.postgres" => Some(Self::Postgres),
            "db.sql.mysql" => Some(Self::Mysql),
            "db.sql.sqlite" => Some(Self::Sqlite),
            _ => None,
        }
    }

    /// Parse `postgres`, `mysql` (or `mariadb`) or `sqlite`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "postgres" | "postgresql" => Some(Self::Postgres),
            "mysql" | "mariadb" => Some(Self::Mysql),
            "sqlite" => Some(Self::Sqlite),
            _ => None,
        }
    }

    /// The registry kind of a database in this dialect.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Postgres => "db.sql.postgres",
            Self::Mysql => "db.sql.mysql",
            Self::Sqlite => "db.sql.sqlite",
        }
    }

    /// The backend name reported by `info()`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::Mysql => "mysql",
            Self::Sqlite => "sqlite",
        }
    }

    pub(crate) fn default_port(self) -> u16 {
        match self {
            Self::Postgres => 5432,
            Self::Mysql => 3306,
            Self::Sqlite => 0,
        }
    }

    pub(crate) fn default_user(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            _ => "root",
        }
    }

    /// The keys accepted in a database entry's `options`.
    pub fn option_keys(self) -> &'static [&'static str] {
        match self {
            Self::Postgres => &[
                "sslmode",
                "sslrootcert",
                "application_name",
                "search_path",
                "statement_timeout",
                "lock_timeout",
                "timezone",
            ],
            Self::Mysql => &["ssl_mode", "ssl_ca", "charset", "collation", "timezone", "statement_cache_capacity"],
            Self::Sqlite => &["journal_mode", "synchronous", "busy_timeout"],
        }
    }

    /// Quote a validated identifier.
    ///
    /// SQLite gets backticks too: a double-quoted name that matches no column
    /// silently becomes a string literal there, which would turn a wrong
    /// column name into a query that compares against a constant.
    pub fn quote(self, ident: &str) -> String {
        debug_assert!(super::valid_identifier(ident), "unvalidated identifier {ident:?}");
        match self {
            Self::Postgres => format!("\"{ident}\""),
            Self::Mysql | Self::Sqlite => format!("`{ident}`"),
        }
    }

    /// The `n`th (1-based) bind parameter.
    fn param(self, n: usize) -> String {
        match self {
            Self::Postgres => format!("${n}"),
            Self::Mysql => "?".to_owned(),
            Self::Sqlite => format!("?{n}"),
        }
    }

    pub(crate) fn statements(self, names: &TableNames) -> Statements {
        let (t, k, v, e) =
            (self.quote(&names.table), self.quote(&names.key), self.quote(&names.value), self.quote(&names.expires_at));
        let ver = names.version.as_deref().map(|c| self.quote(c));
        let p = |n| self.param(n);
        let live = format!("({e} IS NULL OR {e} > {})", p(2));
        let upsert = self.upsert(names);
        // With a version column, writes carry the new version as one more value.
        let (ver_col, ver_val) = match &ver {
            Some(c) => (format!(", {c}"), format!(", {}", p(4))),
            None => (String::new(), String::new()),
        };
        let cleanup = match self {
            // MySQL has DELETE ... LIMIT but no LIMIT inside IN (subquery).
            Self::Mysql => format!("DELETE FROM {t} WHERE {e} <= ? LIMIT {CLEANUP_BATCH}"),
            _ => format!(
                "DELETE FROM {t} WHERE {k} IN (SELECT {k} FROM {t} WHERE {e} <= {} LIMIT {CLEANUP_BATCH})",
                p(1)
            ),
        };
        let sql = |s: String| AssertSqlSafe(s).into_sql_str();
        Statements {
            get: sql(format!("SELECT {v} FROM {t} WHERE {k} = {} AND {live}", p(1))),
            get_versioned: sql(match &ver {
                Some(c) => format!("SELECT {v}, {c} FROM {t} WHERE {k} = {} AND {live}", p(1)),
                None => format!("SELECT {v} FROM {t} WHERE {k} = {} AND {live}", p(1)),
            }),
            exists: sql(format!("SELECT 1 FROM {t} WHERE {k} = {} AND {live}", p(1))),
            expiry: sql(format!("SELECT {e} FROM {t} WHERE {k} = {} AND {live}", p(1))),
            set: sql(format!(
                "INSERT INTO {t} ({k}, {v}, {e}{ver_col}) VALUES ({}, {}, {}{ver_val}) {upsert}",
                p(1),
                p(2),
                p(3)
            )),
            delete: sql(format!("DELETE FROM {t} WHERE {k} = {} AND {live}", p(1))),
            clear: sql(format!("DELETE FROM {t}")),
            cleanup: sql(cleanup),
            probe: sql(format!("SELECT {k}, {v}, {e}{ver_col} FROM {t} WHERE 1 = 0")),
            list: sql(match self {
                // Byte order everywhere: PostgreSQL's default collation is linguistic.
                Self::Postgres => format!(
                    "SELECT {k} FROM {t} WHERE starts_with({k}, $1) AND {k} COLLATE \"C\" > $2 AND ({e} IS NULL OR {e} > $3) ORDER BY {k} COLLATE \"C\" LIMIT $4"
                ),
                // The prefix is bound twice; VARBINARY compares bytes.
                Self::Mysql => format!(
                    "SELECT {k} FROM {t} WHERE LEFT({k}, LENGTH(?)) = ? AND {k} > ? AND ({e} IS NULL OR {e} > ?) ORDER BY {k} LIMIT ?"
                ),
                Self::Sqlite => format!(
                    "SELECT {k} FROM {t} WHERE substr({k}, 1, length(?1)) = ?1 AND {k} > ?2 AND ({e} IS NULL OR {e} > ?3) ORDER BY {k} LIMIT ?4"
                ),
            }),
            // SQLite takes the write lock up front: a deferred transaction that
            // reads then writes can deadlock against another such transaction.
            begin: sql(if self == Self::Sqlite { "BEGIN IMMEDIATE".into() } else { "BEGIN".into() }),
            lock: sql(match self {
                Self::Sqlite => format!("SELECT {v}, {e}{ver_col} FROM {t} WHERE {k} = ?1"),
                _ => format!("SELECT {v}, {e}{ver_col} FROM {t} WHERE {k} = {} FOR UPDATE", p(1)),
            }),
            insert: sql(format!(
                "INSERT INTO {t} ({k}, {v}, {e}{ver_col}) VALUES ({}, {}, {}{ver_val})",
                p(1),
                p(2),
                p(3)
            )),
            update: sql(match &ver {
                Some(c) => {
                    format!("UPDATE {t} SET {v} = {}, {e} = {}, {c} = {} WHERE {k} = {}", p(1), p(2), p(3), p(4))
                }
                None => format!("UPDATE {t} SET {v} = {}, {e} = {} WHERE {k} = {}", p(1), p(2), p(3)),
            }),
            get_any: sql(format!("SELECT {k}, {v} FROM {t} WHERE {k} = ANY($1) AND {live}")),
            set_any: sql(match &ver {
                Some(c) => format!(
                    "INSERT INTO {t} ({k}, {v}, {e}, {c}) SELECT * FROM UNNEST($1::text[], $2::bytea[], $3::int8[], $4::int8[]) {upsert}"
                ),
                None => format!(
                    "INSERT INTO {t} ({k}, {v}, {e}) SELECT * FROM UNNEST($1::text[], $2::bytea[], $3::int8[]) {upsert}"
                ),
            }),
            delete_any: sql(format!("DELETE FROM {t} WHERE {k} = ANY($1) AND {live}")),
        }
    }

    /// The upsert clause of `set`: replace value and expiry; with a version
    /// column, the version becomes the larger of the old one plus one and the
    /// new value's (time-based) version, so it grows even across delete and
    /// re-insert of a key.
    fn upsert(self, names: &TableNames) -> String {
        let (t, k, v, e) =
            (self.quote(&names.table), self.quote(&names.key), self.quote(&names.value), self.quote(&names.expires_at));
        let ver = names.version.as_deref().map(|c| self.quote(c));
        match (self, ver) {
            (Self::Mysql, None) => format!("ON DUPLICATE KEY UPDATE {v} = VALUES({v}), {e} = VALUES({e})"),
            (Self::Mysql, Some(c)) => format!(
                "ON DUPLICATE KEY UPDATE {v} = VALUES({v}), {e} = VALUES({e}), {c} = GREATEST({c} + 1, VALUES({c}))"
            ),
            (_, None) => format!("ON CONFLICT ({k}) DO UPDATE SET {v} = excluded.{v}, {e} = excluded.{e}"),
            (_, Some(c)) => {
                let max = if self == Self::Sqlite { "max" } else { "GREATEST" };
                format!(
                    "ON CONFLICT ({k}) DO UPDATE SET {v} = excluded.{v}, {e} = excluded.{e}, {c} = {max}({t}.{c} + 1, excluded.{c})"
                )
            }
        }
    }

    /// `n` anonymous bind parameters for MySQL and SQLite batches: `?, ?, ?`.
    pub(crate) fn params(n: usize) -> String {
        vec!["?"; n].join(", ")
    }

    /// `SELECT k, v ... WHERE k IN (n keys) AND live(?)` for MySQL and SQLite.
    pub(crate) fn get_in(self, names: &TableNames, n: usize) -> SqlStr {
        let (t, k, v, e) =
            (self.quote(&names.table), self.quote(&names.key), self.quote(&names.value), self.quote(&names.expires_at));
        AssertSqlSafe(format!(
            "SELECT {k}, {v} FROM {t} WHERE {k} IN ({}) AND ({e} IS NULL OR {e} > ?)",
            Self::params(n)
        ))
        .into_sql_str()
    }

    /// `DELETE ... WHERE k IN (n keys) AND live(?)` for MySQL and SQLite.
    pub(crate) fn delete_in(self, names: &TableNames, n: usize) -> SqlStr {
        let (t, k, e) = (self.quote(&names.table), self.quote(&names.key), self.quote(&names.expires_at));
        AssertSqlSafe(format!("DELETE FROM {t} WHERE {k} IN ({}) AND ({e} IS NULL OR {e} > ?)", Self::params(n)))
            .into_sql_str()
    }

    /// A multi-row upsert of `n` rows for MySQL and SQLite.
    pub(crate) fn set_rows(self, names: &TableNames, n: usize) -> SqlStr {
        let (t, k, v, e) =
            (self.quote(&names.table), self.quote(&names.key), self.quote(&names.value), self.quote(&names.expires_at));
        let (ver_col, row) = match &names.version {
            Some(c) => (format!(", {}", self.quote(c)), "(?, ?, ?, ?)"),
            None => (String::new(), "(?, ?, ?)"),
        };
        let rows = vec![row; n].join(", ");
        AssertSqlSafe(format!("INSERT INTO {t} ({k}, {v}, {e}{ver_col}) VALUES {rows} {}", self.upsert(names)))
            .into_sql_str()
    }

    /// The DDL that creates a store's table and expiry index, one statement
    /// per element, each idempotent (`IF NOT EXISTS`, `CREATE OR REPLACE`).
    /// On PostgreSQL it also installs the trigger that publishes the table's
    /// changes to watchers on every host (PostgreSQL 14 or later).
    pub fn schema(self, names: &TableNames, max_key_bytes: u32) -> Vec<String> {
        let (t, k, v, e) =
            (self.quote(&names.table), self.quote(&names.key), self.quote(&names.value), self.quote(&names.expires_at));
        let ver = names.version.as_deref().map(|c| self.quote(c));
        let ver_pg = ver.as_ref().map(|c| format!(",\n    {c} BIGINT NOT NULL DEFAULT 0")).unwrap_or_default();
        let mut index_name = format!("idx_{}_{}", names.table, names.expires_at);
        index_name.truncate(63);
        let i = self.quote(&index_name);
        match self {
            Self::Postgres => vec![
                format!(
                    "CREATE TABLE IF NOT EXISTS {t} (\n    {k} VARCHAR({max_key_bytes}) PRIMARY KEY,\n    {v} BYTEA NOT NULL,\n    {e} BIGINT{ver_pg}\n)"
                ),
                format!("CREATE INDEX IF NOT EXISTS {i} ON {t} ({e}) WHERE {e} IS NOT NULL"),
            ]
            .into_iter()
            .chain(super::notify::ddl(names))
            .collect(),
            // VARBINARY keys compare byte for byte: MySQL's text collations
            // would fold case and ignore trailing spaces.
            Self::Mysql => vec![format!(
                "CREATE TABLE IF NOT EXISTS {t} (\n    {k} VARBINARY({max_key_bytes}) NOT NULL PRIMARY KEY,\n    {v} LONGBLOB NOT NULL,\n    {e} BIGINT NULL{ver_pg},\n    INDEX {i} ({e})\n)"
            )],
            Self::Sqlite => vec![
                format!(
                    "CREATE TABLE IF NOT EXISTS {t} (\n    {k} TEXT NOT NULL PRIMARY KEY,\n    {v} BLOB NOT NULL,\n    {e} INTEGER{}\n)",
                    ver.as_ref().map(|c| format!(",\n    {c} INTEGER NOT NULL DEFAULT 0")).unwrap_or_default()
                ),
                format!("CREATE INDEX IF NOT EXISTS {i} ON {t} ({e}) WHERE {e} IS NOT NULL"),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_statements_quote_names_and_bind_values() {
        let s = Dialect::Postgres.statements(&TableNames::new("kv_store"));
        assert_eq!(
            s.set.as_str(),
            "INSERT INTO \"kv_store\" (\"key\", \"value\", \"expires_at\") VALUES ($1, $2, $3) ON CONFLICT (\"key\") DO UPDATE SET \"value\" = excluded.\"value\", \"expires_at\" = excluded.\"expires_at\""
        );
        assert_eq!(
            s.get.as_str(),
            "SELECT \"value\" FROM \"kv_store\" WHERE \"key\" = $1 AND (\"expires_at\" IS NULL OR \"expires_at\" > $2)"
        );
    }

    #[test]
    fn mysql_quotes_reserved_key_column_with_backticks() {
        let s = Dialect::Mysql.statements(&TableNames::new("kv"));
        assert!(s.get.as_str().starts_with("SELECT `value` FROM `kv` WHERE `key` = ? AND"), "{}", s.get.as_str());
        assert!(
            s.set
                .as_str()
                .ends_with("ON DUPLICATE KEY UPDATE `value` = VALUES(`value`), `expires_at` = VALUES(`expires_at`)")
        );
        assert_eq!(s.cleanup.as_str(), "DELETE FROM `kv` WHERE `expires_at` <= ? LIMIT 1000");
    }

    #[test]
    fn schema_matches_the_seed_for_postgres() {
        let ddl = Dialect::Postgres.schema(&TableNames::new("kv_store"), 255);
        assert!(ddl[2].starts_with("CREATE OR REPLACE FUNCTION \"kvhost_watch_kv_store\"()"), "{}", ddl[2]);
        assert_eq!(ddl.len(), 5, "table, index, trigger function, row trigger, truncate trigger");
        assert_eq!(
            &ddl[..2],
            [
                "CREATE TABLE IF NOT EXISTS \"kv_store\" (\n    \"key\" VARCHAR(255) PRIMARY KEY,\n    \"value\" BYTEA NOT NULL,\n    \"expires_at\" BIGINT\n)",
                "CREATE INDEX IF NOT EXISTS \"idx_kv_store_expires_at\" ON \"kv_store\" (\"expires_at\") WHERE \"expires_at\" IS NOT NULL",
            ]
        );
    }

    #[test]
    fn index_names_fit_the_identifier_limit() {
        let long = TableNames { table: "t".repeat(63), expires_at: "e".repeat(63), ..TableNames::new("t") };
        for d in [Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite] {
            let ddl = d.schema(&long, 255).join(";");
            assert!(ddl.contains(&format!("idx_{}", "t".repeat(59))), "{ddl}");
        }
    }
}
