//! Entry kinds and their fields.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::ConfigError;
use super::fields::Fields;
use super::sql::{DatabaseConfig, SqlStoreConfig};
use crate::grant::Grant;
use crate::sql::Dialect;
use crate::store::Limits;

type Result<T> = std::result::Result<T, ConfigError>;

/// What an entry is.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `store.memory`
    MemoryStore(MemoryStoreConfig),
    /// `store.sql`
    SqlStore(SqlStoreConfig),
    /// `db.sql.postgres`, `db.sql.mysql`, `db.sql.sqlite`
    Database(DatabaseConfig),
    /// `wasm.component`
    Component(ComponentConfig),
}

/// Every kind this build knows, as written in YAML.
pub const KINDS: &[&str] =
    &["store.memory", "store.sql", "db.sql.postgres", "db.sql.mysql", "db.sql.sqlite", "wasm.component"];

impl Kind {
    /// The kind as written in YAML.
    pub fn name(&self) -> &'static str {
        match self {
            Kind::MemoryStore(_) => "store.memory",
            Kind::SqlStore(_) => "store.sql",
            Kind::Database(d) => d.dialect.kind(),
            Kind::Component(_) => "wasm.component",
        }
    }

    /// Whether guests can open this entry as a store.
    pub fn is_store(&self) -> bool {
        matches!(self, Kind::MemoryStore(_) | Kind::SqlStore(_))
    }

    /// The entries this one names, with the field that names each.
    pub(crate) fn references(&self) -> Vec<(String, &str)> {
        match self {
            Kind::MemoryStore(_) | Kind::Database(_) => Vec::new(),
            Kind::SqlStore(s) => vec![("database".to_owned(), s.database.as_str())],
            Kind::Component(c) => {
                let mut refs: Vec<_> =
                    c.stores.iter().enumerate().map(|(i, g)| (format!("stores[{i}]"), g.store.as_str())).collect();
                refs.extend(c.default_store.as_deref().map(|id| ("default_store".to_owned(), id)));
                refs
            }
        }
    }

    /// Parse the kind-specific fields of an entry declared in `file`.
    pub(crate) fn parse(kind: &str, f: &mut Fields, file: &Path) -> Result<(Kind, &'static [&'static str])> {
        match kind {
            "store.memory" => Ok((Kind::MemoryStore(MemoryStoreConfig::parse(f)?), MemoryStoreConfig::FIELDS)),
            "store.sql" => Ok((Kind::SqlStore(SqlStoreConfig::parse(f, parse_limits)?), SqlStoreConfig::FIELDS)),
            "db.sql.postgres" | "db.sql.mysql" | "db.sql.sqlite" => {
                let dialect = Dialect::from_kind(kind).expect("matched above");
                let fields = if dialect == Dialect::Sqlite {
                    DatabaseConfig::SQLITE_FIELDS
                } else {
                    DatabaseConfig::SERVER_FIELDS
                };
                Ok((Kind::Database(DatabaseConfig::parse(dialect, f, file)?), fields))
            }
            "wasm.component" => Ok((Kind::Component(ComponentConfig::parse(f, file)?), ComponentConfig::FIELDS)),
            other => Err(f.error("kind", format!("unknown kind `{other}`; this build knows: {}", KINDS.join(", ")))),
        }
    }
}

fn parse_limits(f: &mut Fields) -> Result<Limits> {
    let mut limits = Limits::default();
    if let Some(v) = f.u32("max_key_bytes")? {
        limits.max_key_bytes = v;
    }
    if let Some(v) = f.size("max_value_bytes")? {
        limits.max_value_bytes = u32::try_from(v)
            .map_err(|_| f.error("max_value_bytes", format!("{v} is over the 4 GiB a value can hold")))?;
    }
    if let Some(v) = f.size("max_result_bytes")? {
        limits.max_result_bytes = v;
    }
    if let Some(v) = f.u32("max_concurrency")? {
        limits.max_concurrency = v;
    }
    limits.validate().map_err(|(field, message)| f.error(field, message))?;
    Ok(limits)
}

/// Fields of a `store.memory` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryStoreConfig {
    /// Most live entries; 0 = unlimited. Default 10000.
    pub max_size: u64,
    /// How often expired entries are purged; zero = never. Default 5m.
    pub cleanup_interval: Duration,
    /// Size and concurrency limits.
    pub limits: Limits,
}

impl MemoryStoreConfig {
    const FIELDS: &[&str] =
        &["max_size", "cleanup_interval", "max_key_bytes", "max_value_bytes", "max_result_bytes", "max_concurrency"];

    fn parse(f: &mut Fields) -> Result<Self> {
        Ok(Self {
            max_size: f.u64("max_size")?.unwrap_or(crate::MemoryStore::DEFAULT_MAX_SIZE),
            cleanup_interval: f.duration("cleanup_interval")?.unwrap_or(Duration::from_secs(300)),
            limits: parse_limits(f)?,
        })
    }
}

/// Fields of a `wasm.component` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentConfig {
    /// The component file, resolved against the YAML file's folder.
    pub path: PathBuf,
    /// The stores the guest may open, each by ID or with a key prefix and access.
    pub stores: Vec<Grant>,
    /// The store opened by `open("")` and `open("default")`.
    pub default_store: Option<String>,
    /// Command-line arguments after the program name.
    pub args: Vec<String>,
    /// Environment variables the guest sees.
    pub env: BTreeMap<String, String>,
    /// Resource limits of the guest.
    pub limits: GuestLimits,
}

/// Resource limits of one guest instance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GuestLimits {
    /// Most bytes of linear memory the guest may grow to, over all of its
    /// memories together. None = [`crate::DEFAULT_MAX_MEMORY`] (512 MiB).
    pub max_memory: Option<u64>,
    /// Wall-clock budget for one run. None = unlimited.
    pub timeout: Option<Duration>,
}

impl ComponentConfig {
    const FIELDS: &[&str] = &["path", "stores", "default_store", "args", "env", "limits"];

    fn parse(f: &mut Fields, file: &Path) -> Result<Self> {
        let raw = f.required_string("path")?;
        let base = file.parent().unwrap_or(Path::new("."));
        let path = base.join(&raw);
        if !path.is_file() {
            return Err(f.error(
                "path",
                format!("component file {} does not exist (paths are relative to the YAML file)", path.display()),
            ));
        }
        let stores = parse_grants(f)?;
        let default_store = f.string("default_store")?;
        let args = f.string_list("args")?;
        let env = f.string_map("env")?;
        let mut limits = GuestLimits::default();
        if let Some(mut l) = f.nested("limits")? {
            limits.max_memory = l.size("max_memory")?;
            limits.timeout = l.duration("timeout")?.filter(|d| !d.is_zero());
            l.finish(&["max_memory", "timeout"])?;
        }
        Ok(Self { path, stores, default_store, args, env, limits })
    }
}

/// `stores`: a list of store IDs, or of `{id, prefix, access: read|write}`.
fn parse_grants(f: &mut Fields) -> Result<Vec<Grant>> {
    use serde_yaml::Value;
    let items = match f.take("stores") {
        None => return Ok(Vec::new()),
        Some(Value::Sequence(items)) => items,
        Some(other) => {
            let got = super::fields::type_name(&other);
            return Err(f.error("stores", format!("expected a list of store IDs, got {got}")));
        }
    };
    let mut grants = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let name = format!("stores[{i}]");
        let grant = match item {
            Value::String(id) => Grant::new(id),
            Value::Mapping(_) => {
                let mut g = f.nested_value(&name, item)?;
                let mut grant = Grant::new(g.required_string("id")?);
                grant.prefix = g.string("prefix")?.unwrap_or_default();
                if let Some(access) = g.string("access")? {
                    grant.access = access.parse().map_err(|m: String| g.error("access", m))?;
                }
                g.finish(&["id", "prefix", "access"])?;
                grant
            }
            other => {
                let got = super::fields::type_name(&other);
                return Err(f.error(&name, format!("expected a store ID or {{id, prefix, access}}, got {got}")));
            }
        };
        grants.push(grant);
    }
    Ok(grants)
}
