//! The Redis registry kinds, `db.redis` and `store.redis`: their fields, and
//! how what they declare starts.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::{RedisDatabase, RedisStore};
use crate::backend::SharedStore;
use crate::backend::clock::SharedClock;
use crate::backend::deadline::QueryTimeout;
use crate::backend::kind::{BoxFuture, DatabaseConfig, DatabaseKind, SharedDatabase, StoreConfig, StoreKind, downcast};
use crate::config::{ConfigError, FieldError, Fields};

type Result<T> = std::result::Result<T, ConfigError>;

/// `db.redis`: a Redis (or Valkey) server and logical database.
pub(crate) static DATABASE_KIND: DatabaseKind = DatabaseKind {
    name: "db.redis",
    fields: &["host", "port", "database", "username", "password", "tls", "query_timeout"],
    parse: |f, file| Ok(Arc::new(RedisDatabaseConfig::parse(f, file)?)),
};

/// `store.redis`: a store whose keys live under a prefix of a `db.redis`.
pub(crate) static STORE_KIND: StoreKind = StoreKind {
    name: "store.redis",
    databases: &["db.redis"],
    // Redis expires keys itself; cleanup only drops expired keys from the
    // listing index.
    cleanup_interval: Duration::ZERO,
    fields: &["key_prefix", "max_size"],
    parse: parse_store,
};

/// Where a `db.redis` entry connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisDatabaseConfig {
    /// Host name or address. Default `127.0.0.1`.
    pub host: String,
    /// TCP port. Default 6379.
    pub port: u16,
    /// The logical database index (`SELECT`). Default 0.
    pub database: u32,
    /// ACL user name, if any.
    pub username: Option<String>,
    /// Password, if any (an empty string in YAML means none).
    pub password: Option<String>,
    /// TLS, or `None` for plain TCP (the default).
    pub tls: Option<RedisTls>,
    /// How long a command (and a connection attempt) may wait for the server
    /// before it fails with `unavailable`. Default 30 s.
    pub query_timeout: Duration,
}

/// How a `db.redis` entry checks the server's certificate: `tls: true` is
/// the default here (the Mozilla root program's certificates).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedisTls {
    /// Trust only the certificates in this PEM file (relative to the YAML
    /// file's folder), instead of the Mozilla roots.
    pub ca_file: Option<PathBuf>,
    /// Accept any certificate and host name: encryption without
    /// authentication, for testing only.
    pub insecure: bool,
}

impl RedisDatabaseConfig {
    /// The server on this machine's loopback, database 0, no credentials.
    pub fn local() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 6379,
            database: 0,
            username: None,
            password: None,
            tls: None,
            query_timeout: QueryTimeout::DEFAULT,
        }
    }

    fn parse(f: &mut Fields, yaml_file: &Path) -> Result<Self> {
        let local = Self::local();
        Ok(Self {
            host: f.string("host")?.unwrap_or(local.host),
            port: f.port("port")?.unwrap_or(local.port),
            database: f.u32("database")?.unwrap_or(0),
            username: f.string("username")?.filter(|u| !u.is_empty()),
            password: f.string("password")?.filter(|p| !p.is_empty()),
            tls: parse_tls(f, yaml_file)?,
            query_timeout: QueryTimeout::parse(f)?,
        })
    }
}

/// `tls`: `false` (or absent), `true`, or `{ca_file, insecure}`.
fn parse_tls(f: &mut Fields, yaml_file: &Path) -> Result<Option<RedisTls>> {
    const KNOWN: &[&str] = &["ca_file", "insecure"];
    match f.take("tls") {
        None | Some(serde_yaml::Value::Bool(false)) => Ok(None),
        Some(serde_yaml::Value::Bool(true)) => Ok(Some(RedisTls::default())),
        Some(value @ serde_yaml::Value::Mapping(_)) => {
            let mut t = f.nested_value("tls", value)?;
            let ca_file = t.string("ca_file")?.map(|c| yaml_file.parent().unwrap_or(Path::new(".")).join(c));
            let insecure = t.bool("insecure")?.unwrap_or(false);
            if insecure && ca_file.is_some() {
                return Err(t.error(
                    "insecure",
                    "insecure accepts any certificate, so a ca_file would not be used: choose one",
                ));
            }
            t.finish(KNOWN)?;
            Ok(Some(RedisTls { ca_file, insecure }))
        }
        Some(other) => Err(f.error(
            "tls",
            format!(
                "expected true, false or a mapping with {}, got {}",
                KNOWN.join(" and "),
                crate::config::type_name(&other)
            ),
        )),
    }
}

impl DatabaseConfig for RedisDatabaseConfig {
    fn connect<'a>(&'a self, id: &'a str) -> BoxFuture<'a, anyhow::Result<SharedDatabase>> {
        Box::pin(async move { Ok(Arc::new(RedisDatabase::connect(id, self).await?) as SharedDatabase) })
    }
}

/// The fields of a `store.redis` entry beyond `database`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisStoreConfig {
    /// Every key of the store is this prefix followed by the guest's key.
    /// `None` = the store's ID followed by `:`.
    pub key_prefix: Option<String>,
}

fn parse_store(f: &mut Fields, _file: &Path) -> Result<Arc<dyn StoreConfig>> {
    if f.take("max_size").is_some() {
        return Err(f.error(
            "max_size",
            "a Redis store has no max_size: Redis bounds its memory itself (maxmemory and its eviction policy)",
        ));
    }
    let key_prefix = f.string("key_prefix")?;
    if let Some(prefix) = &key_prefix {
        check_prefix(prefix).map_err(|e| f.error(&e.field, e.message))?;
    }
    Ok(Arc::new(RedisStoreConfig { key_prefix }))
}

/// A key prefix is not empty (the store would own the whole database) and
/// holds no NUL (kvhost's own keys use it as a separator).
pub(crate) fn check_prefix(prefix: &str) -> std::result::Result<(), FieldError> {
    if prefix.is_empty() {
        return Err(FieldError::new("key_prefix", "must not be empty: clear would remove every key of the database"));
    }
    if prefix.contains('\0') {
        return Err(FieldError::new("key_prefix", "must not contain NUL (U+0000)"));
    }
    Ok(())
}

impl RedisStoreConfig {
    /// The prefix of store `id`'s keys.
    pub fn prefix(&self, id: &str) -> String {
        self.key_prefix.clone().unwrap_or_else(|| format!("{id}:"))
    }
}

impl StoreConfig for RedisStoreConfig {
    fn open<'a>(
        &'a self,
        id: &'a str,
        database: Option<&'a SharedDatabase>,
        clock: SharedClock,
    ) -> BoxFuture<'a, anyhow::Result<SharedStore>> {
        Box::pin(async move {
            let db = database
                .and_then(downcast::<RedisDatabase>)
                .ok_or_else(|| anyhow::anyhow!("its database is not a running db.redis entry"))?;
            Ok(Arc::new(RedisStore::open(id, db, &self.prefix(id), clock).await?) as SharedStore)
        })
    }

    fn overlaps(&self, id: &str, other_id: &str, other: &dyn StoreConfig) -> Option<FieldError> {
        let other = (other as &dyn std::any::Any).downcast_ref::<RedisStoreConfig>()?;
        let (mine, theirs) = (self.prefix(id), other.prefix(other_id));
        (mine.starts_with(&theirs) || theirs.starts_with(&mine)).then(|| {
            let message = format!(
                "its key prefix {mine:?} and {other_id}'s {theirs:?} overlap in one database: \
                 clearing or listing one would touch the other's keys; give each a prefix of its own"
            );
            FieldError::new("key_prefix", message)
        })
    }
}
