//! The SQL registry kinds: `db.sql.postgres`, `db.sql.mysql`, `db.sql.sqlite`
//! and `store.sql`, their fields, and how what they declare starts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::{Dialect, SqlDatabase, SqlStore, valid_identifier};
use crate::backend::SharedStore;
use crate::backend::clock::SharedClock;
use crate::backend::deadline::QueryTimeout;
use crate::backend::kind::{BoxFuture, DatabaseConfig, DatabaseKind, SharedDatabase, StoreConfig, StoreKind, downcast};
use crate::config::{ConfigError, FieldError, Fields};

type Result<T> = std::result::Result<T, ConfigError>;

/// `store.sql`: a store kept in one table of a `db.sql.*` database.
pub(crate) static STORE_KIND: StoreKind = StoreKind {
    name: "store.sql",
    databases: &["db.sql.postgres", "db.sql.mysql", "db.sql.sqlite"],
    cleanup_interval: Duration::ZERO,
    fields: SqlStoreConfig::FIELDS,
    parse: |f, _| Ok(Arc::new(SqlStoreConfig::parse(f)?)),
};

/// `db.sql.postgres`: a PostgreSQL server.
#[cfg(feature = "postgres")]
pub(crate) static POSTGRES_KIND: DatabaseKind = DatabaseKind {
    name: "db.sql.postgres",
    fields: SqlDatabaseConfig::SERVER_FIELDS,
    parse: |f, file| Ok(Arc::new(SqlDatabaseConfig::parse(Dialect::Postgres, f, file)?)),
};

/// `db.sql.mysql`: a MySQL or MariaDB server.
#[cfg(feature = "mysql")]
pub(crate) static MYSQL_KIND: DatabaseKind = DatabaseKind {
    name: "db.sql.mysql",
    fields: SqlDatabaseConfig::SERVER_FIELDS,
    parse: |f, file| Ok(Arc::new(SqlDatabaseConfig::parse(Dialect::Mysql, f, file)?)),
};

/// `db.sql.sqlite`: a SQLite file, or `:memory:`.
#[cfg(feature = "sqlite")]
pub(crate) static SQLITE_KIND: DatabaseKind = DatabaseKind {
    name: "db.sql.sqlite",
    fields: SqlDatabaseConfig::SQLITE_FIELDS,
    parse: |f, file| Ok(Arc::new(SqlDatabaseConfig::parse(Dialect::Sqlite, f, file)?)),
};

/// A database entry: where to connect, and the pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlDatabaseConfig {
    /// Which SQL dialect (from the kind).
    pub dialect: Dialect,
    /// How to reach it.
    pub target: DatabaseTarget,
    /// Extra connection parameters; which keys are accepted depends on the dialect.
    pub options: BTreeMap<String, String>,
    /// Pool sizing.
    pub pool: PoolConfig,
    /// How long an operation (and taking a connection from the pool) may
    /// wait for the server before it fails with `unavailable`. Default 30 s.
    pub query_timeout: Duration,
}

/// Where a database is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    /// A PostgreSQL or MySQL server.
    Server {
        /// Host name or address. Default `127.0.0.1`.
        host: String,
        /// TCP port. Default 5432 (PostgreSQL) or 3306 (MySQL).
        port: u16,
        /// Database name.
        database: String,
        /// User name. Default `postgres` or `root`.
        username: String,
        /// Password, if any (an empty string in YAML means none).
        password: Option<String>,
    },
    /// A SQLite file, resolved against the YAML file's folder, or `:memory:`.
    Sqlite {
        /// The file, or `None` for `:memory:`.
        file: Option<PathBuf>,
    },
}

/// Connection pool sizing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// Most connections open at once. Default 10.
    pub max_open: u32,
    /// Connections kept open while idle. Default 2 (at most `max_open`).
    pub max_idle: u32,
    /// Connections are replaced after this long. Default 1h.
    pub max_lifetime: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self { max_open: 10, max_idle: 2, max_lifetime: Duration::from_secs(3600) }
    }
}

impl SqlDatabaseConfig {
    #[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
    pub(crate) const SERVER_FIELDS: &[&str] =
        &["host", "port", "database", "username", "password", "options", "pool", "query_timeout"];
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub(crate) const SQLITE_FIELDS: &[&str] = &["file", "options", "pool", "query_timeout"];

    pub(crate) fn parse(dialect: Dialect, f: &mut Fields, yaml_file: &Path) -> Result<Self> {
        let target = match dialect {
            Dialect::Sqlite => {
                let file = f.required_string("file")?;
                let file = (file != ":memory:").then(|| yaml_file.parent().unwrap_or(Path::new(".")).join(file));
                DatabaseTarget::Sqlite { file }
            }
            Dialect::Postgres | Dialect::Mysql => DatabaseTarget::Server {
                host: f.string("host")?.unwrap_or_else(|| "127.0.0.1".into()),
                port: f.port("port")?.unwrap_or(dialect.default_port()),
                database: f.required_string("database")?,
                username: f.string("username")?.unwrap_or_else(|| dialect.default_user().into()),
                // An empty password is no password, not an empty one.
                password: f.string("password")?.filter(|p| !p.is_empty()),
            },
        };
        let options = f.string_map("options")?;
        for key in options.keys() {
            if !dialect.option_keys().contains(&key.as_str()) {
                return Err(f.error(
                    &format!("options.{key}"),
                    format!("unknown option for {}; accepted: {}", dialect.kind(), dialect.option_keys().join(", ")),
                ));
            }
        }
        let mut pool = PoolConfig::default();
        if let Some(mut p) = f.nested("pool")? {
            if let Some(n) = p.u32("max_open")? {
                if n == 0 {
                    return Err(p.error("max_open", "must be at least 1"));
                }
                pool.max_open = n;
            }
            pool.max_idle = p.u32("max_idle")?.unwrap_or(pool.max_idle).min(pool.max_open);
            if let Some(d) = p.duration("max_lifetime")? {
                pool.max_lifetime = d;
            }
            p.finish(&["max_open", "max_idle", "max_lifetime"])?;
        }
        let query_timeout = QueryTimeout::parse(f)?;
        Ok(Self { dialect, target, options, pool, query_timeout })
    }
}

impl DatabaseConfig for SqlDatabaseConfig {
    fn connect<'a>(&'a self, id: &'a str) -> BoxFuture<'a, anyhow::Result<SharedDatabase>> {
        Box::pin(async move { Ok(Arc::new(SqlDatabase::connect(id, self).await?) as SharedDatabase) })
    }
}

/// The fields of a `store.sql` entry beyond `database`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlStoreConfig {
    /// Table and column names, validated.
    pub table: TableNames,
}

/// The table and column names of a SQL store. Each matches
/// `^[A-Za-z_][A-Za-z0-9_]{0,62}$`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableNames {
    /// Table. Required in YAML.
    pub table: String,
    /// Key column. Default `key`.
    pub key: String,
    /// Value column. Default `value`.
    pub value: String,
    /// Expiry column (Unix milliseconds, BIGINT, NULL = never). Default `expires_at`.
    pub expires_at: String,
    /// Optional version column (BIGINT NOT NULL): when set, every write gives
    /// the row a new, larger version. Without it, versions are a hash of the value.
    pub version: Option<String>,
}

impl TableNames {
    /// The seed's names for `table`: `key`, `value`, `expires_at`. Not validated.
    pub fn new(table: impl Into<String>) -> Self {
        Self {
            table: table.into(),
            key: "key".into(),
            value: "value".into(),
            expires_at: "expires_at".into(),
            version: None,
        }
    }

    /// The same names with a version column.
    pub fn with_version(mut self, column: impl Into<String>) -> Self {
        self.version = Some(column.into());
        self
    }

    /// Check every name against the identifier rule; the error names the
    /// field of the bad one.
    pub fn validate(&self) -> std::result::Result<(), FieldError> {
        let version = self.version.iter().map(|v| ("version_column_name", "version column", v));
        for (field, what, name) in [
            ("table_name", "table", &self.table),
            ("id_column_name", "key column", &self.key),
            ("payload_column_name", "value column", &self.value),
            ("expire_column_name", "expiry column", &self.expires_at),
        ]
        .into_iter()
        .chain(version)
        {
            if !valid_identifier(name) {
                return Err(FieldError::new(
                    field,
                    format!(
                        "{what} name `{}` is not a valid identifier: it must match ^[A-Za-z_][A-Za-z0-9_]{{0,62}}$",
                        name.escape_debug()
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl SqlStoreConfig {
    pub(crate) const FIELDS: &[&str] =
        &["table_name", "id_column_name", "payload_column_name", "expire_column_name", "version_column_name"];

    pub(crate) fn parse(f: &mut Fields) -> Result<Self> {
        let mut ident = |field: &str, default: Option<&str>| -> Result<String> {
            let name = match default {
                None => f.required_string(field)?,
                Some(d) => f.string(field)?.unwrap_or_else(|| d.to_owned()),
            };
            if !valid_identifier(&name) {
                return Err(f.error(
                    field,
                    format!(
                        "`{}` is not a valid SQL identifier: it must match ^[A-Za-z_][A-Za-z0-9_]{{0,62}}$",
                        name.escape_debug()
                    ),
                ));
            }
            Ok(name)
        };
        let table = TableNames {
            table: ident("table_name", None)?,
            key: ident("id_column_name", Some("key"))?,
            value: ident("payload_column_name", Some("value"))?,
            expires_at: ident("expire_column_name", Some("expires_at"))?,
            version: None,
        };
        let table = match f.string("version_column_name")? {
            None => table,
            Some(v) if valid_identifier(&v) => table.with_version(v),
            Some(v) => {
                return Err(f.error(
                    "version_column_name",
                    format!(
                        "`{}` is not a valid SQL identifier: it must match ^[A-Za-z_][A-Za-z0-9_]{{0,62}}$",
                        v.escape_debug()
                    ),
                ));
            }
        };
        let mut columns = vec![
            ("id_column_name", &table.key),
            ("payload_column_name", &table.value),
            ("expire_column_name", &table.expires_at),
        ];
        columns.extend(table.version.as_ref().map(|v| ("version_column_name", v)));
        for (i, (field, name)) in columns.iter().enumerate() {
            if let Some((other, _)) = columns[..i].iter().find(|(_, n)| n.eq_ignore_ascii_case(name)) {
                return Err(f.error(field, format!("`{name}` is already the {other}; each column needs its own name")));
            }
        }
        Ok(Self { table })
    }
}

impl StoreConfig for SqlStoreConfig {
    fn open<'a>(
        &'a self,
        id: &'a str,
        database: Option<&'a SharedDatabase>,
        clock: SharedClock,
    ) -> BoxFuture<'a, anyhow::Result<SharedStore>> {
        Box::pin(async move {
            let db = database
                .and_then(downcast::<SqlDatabase>)
                .ok_or_else(|| anyhow::anyhow!("its database is not a running db.sql.* entry"))?;
            Ok(Arc::new(SqlStore::open(id, db, &self.table, clock).await?) as SharedStore)
        })
    }

    fn overlaps(&self, _id: &str, other_id: &str, other: &dyn StoreConfig) -> Option<FieldError> {
        let other = (other as &dyn std::any::Any).downcast_ref::<SqlStoreConfig>()?;
        let (mine, theirs) = (&self.table.table, &other.table.table);
        mine.eq_ignore_ascii_case(theirs).then(|| {
            let message = format!(
                "table {mine} is already {other_id}'s in the same database: clearing one store would empty \
                 the other; give each a table of its own"
            );
            FieldError::new("table_name", message)
        })
    }
}
