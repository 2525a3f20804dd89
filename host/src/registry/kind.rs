//! Entry kinds: stores and databases, which their backends parse, and
//! components.

use std::any::Any;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::access::{Grant, Limits, check_names};
use crate::backend::clock::SharedClock;
use crate::backend::{
    DATABASE_KINDS, DatabaseConfig, DatabaseKind, OPTIONAL_KINDS, STORE_KINDS, SharedDatabase, SharedStore,
    StoreConfig, StoreKind,
};
use crate::config::{ConfigError, Fields, type_name};
use crate::guest::GuestLimits;

type Result<T> = std::result::Result<T, ConfigError>;

/// What an entry is.
#[derive(Debug, Clone)]
pub enum Kind {
    /// A store guests open: `store.memory`, `store.sql`, ...
    Store(StoreEntry),
    /// A database stores live in: `db.sql.postgres`, `db.sql.mysql`, `db.sql.sqlite`, ...
    Database(DatabaseEntry),
    /// `wasm.component`
    Component(ComponentConfig),
}

/// A `store.*` entry: the fields every store has, and its backend's own.
#[derive(Debug, Clone)]
pub struct StoreEntry {
    pub(crate) kind: &'static StoreKind,
    pub(crate) database: Option<String>,
    pub(crate) cleanup_interval: Duration,
    pub(crate) limits: Limits,
    pub(crate) config: Arc<dyn StoreConfig>,
}

/// A `db.*` entry.
#[derive(Debug, Clone)]
pub struct DatabaseEntry {
    pub(crate) kind: &'static DatabaseKind,
    pub(crate) config: Arc<dyn DatabaseConfig>,
}

impl StoreEntry {
    /// The `db.*` entry it lives in, for kinds that take one.
    pub fn database(&self) -> Option<&str> {
        self.database.as_deref()
    }

    /// How often expired entries are purged; zero = never.
    pub fn cleanup_interval(&self) -> Duration {
        self.cleanup_interval
    }

    /// Key, value, batch and concurrency limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The backend's fields as type `T` (such as [`crate::sql::SqlStoreConfig`]),
    /// if this store is of that backend.
    pub fn config<T: Any>(&self) -> Option<&T> {
        let any: &dyn Any = &*self.config;
        any.downcast_ref()
    }

    /// Open the store as entry `id`, in `database` (the started entry its
    /// `database` field names, for kinds that take one).
    pub(crate) async fn open(
        &self,
        id: &str,
        database: Option<&SharedDatabase>,
        clock: SharedClock,
    ) -> anyhow::Result<SharedStore> {
        self.config.open(id, database, clock).await
    }
}

impl DatabaseEntry {
    /// The backend's fields as type `T` (such as
    /// [`crate::sql::SqlDatabaseConfig`]), if this database is of that backend.
    pub fn config<T: Any>(&self) -> Option<&T> {
        let any: &dyn Any = &*self.config;
        any.downcast_ref()
    }

    /// Connect as entry `id`.
    pub(crate) async fn connect(&self, id: &str) -> anyhow::Result<SharedDatabase> {
        self.config.connect(id).await
    }
}

/// Every kind this build knows, as written in YAML.
pub fn kinds() -> impl Iterator<Item = &'static str> {
    let stores = STORE_KINDS.iter().map(|k| k.name);
    stores.chain(DATABASE_KINDS.iter().map(|k| k.name)).chain(["wasm.component"])
}

impl Kind {
    /// The kind as written in YAML.
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Store(s) => s.kind.name,
            Kind::Database(d) => d.kind.name,
            Kind::Component(_) => "wasm.component",
        }
    }

    /// Whether guests can open this entry as a store.
    pub fn is_store(&self) -> bool {
        matches!(self, Kind::Store(_))
    }

    /// The entries this one names, with the field that names each.
    pub(crate) fn references(&self) -> Vec<(String, &str)> {
        match self {
            Kind::Database(_) => Vec::new(),
            Kind::Store(s) => s.database.iter().map(|db| ("database".to_owned(), db.as_str())).collect(),
            Kind::Component(c) => {
                let mut refs: Vec<_> =
                    c.stores.iter().enumerate().map(|(i, g)| (format!("stores[{i}]"), g.store.as_str())).collect();
                refs.extend(c.default_store.as_deref().map(|id| ("default_store".to_owned(), id)));
                refs
            }
        }
    }

    /// Parse the kind-specific fields of an entry declared in `file`, and
    /// the names of the fields this kind accepts. Problems that leave the
    /// rest of the entry readable go to `problems`, so that an entry's
    /// every problem is reported at once; the error is one that does not.
    pub(crate) fn parse(
        kind: &str,
        f: &mut Fields,
        file: &Path,
        problems: &mut Vec<ConfigError>,
    ) -> Result<(Kind, Vec<&'static str>)> {
        if let Some(k) = STORE_KINDS.iter().find(|k| k.name == kind) {
            return parse_store(k, f, file, problems);
        }
        if let Some(k) = DATABASE_KINDS.iter().find(|k| k.name == kind) {
            let config = (k.parse)(f, file)?;
            return Ok((Kind::Database(DatabaseEntry { kind: k, config }), k.fields.to_vec()));
        }
        if kind == "wasm.component" {
            return Ok((Kind::Component(ComponentConfig::parse(f, file, problems)), ComponentConfig::FIELDS.to_vec()));
        }
        // Not compiled in (known kinds returned above).
        if let Some((_, feature)) = OPTIONAL_KINDS.iter().find(|(k, _)| *k == kind) {
            return Err(f.error(
                "kind",
                format!("kind `{kind}` is not in this build of kvhost: build it with cargo feature {feature}"),
            ));
        }
        let known: Vec<&str> = kinds().collect();
        Err(f.error("kind", format!("unknown kind `{kind}`; this build knows: {}", known.join(", "))))
    }
}

/// Fields every store kind takes, beside its backend's own.
const STORE_FIELDS: &[&str] = &[
    "cleanup_interval",
    "max_key_bytes",
    "max_value_bytes",
    "max_result_bytes",
    "max_concurrency",
    "max_concurrency_wait",
];

/// `result`'s value, or (its error kept in `problems`) the default.
pub(super) fn keep<T: Default>(problems: &mut Vec<ConfigError>, result: Result<T>) -> T {
    result.unwrap_or_else(|e| {
        problems.push(e);
        T::default()
    })
}

fn parse_store(
    kind: &'static StoreKind,
    f: &mut Fields,
    file: &Path,
    problems: &mut Vec<ConfigError>,
) -> Result<(Kind, Vec<&'static str>)> {
    let database =
        if kind.databases.is_empty() { None } else { keep(problems, f.required_string("database").map(Some)) };
    let cleanup_interval = keep(problems, f.duration("cleanup_interval")).unwrap_or(kind.cleanup_interval);
    let limits = keep(problems, parse_limits(f));
    let config = (kind.parse)(f, file)?;
    let database_field = (!kind.databases.is_empty()).then_some("database");
    let fields = kind.fields.iter().copied().chain(database_field).chain(STORE_FIELDS.iter().copied()).collect();
    Ok((Kind::Store(StoreEntry { kind, database, cleanup_interval, limits, config }), fields))
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
    if let Some(v) = f.duration("max_concurrency_wait")? {
        limits.max_concurrency_wait = v;
    }
    limits.validate().map_err(|e| f.error(&e.field, e.message))?;
    Ok(limits)
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
    /// Resource limits of the guest (of each instance, for an HTTP component).
    pub limits: GuestLimits,
    /// Serve the component over HTTP (it exports `wasi:http/incoming-handler`)
    /// instead of running it as a command.
    pub http: Option<HttpConfig>,
    /// Keys to watch: each change calls the component's
    /// `wasi:keyvalue/watcher` export (`on-set`, `on-delete`) instead of
    /// running it as a command.
    pub watch: Vec<WatchConfig>,
}

/// One item of `watch:` of a `wasm.component` entry: a store the component
/// is granted, and the keys of it to watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchConfig {
    /// The store, as the component opens it: a granted ID or alias.
    pub store: String,
    /// Only keys starting with this; empty = every key the grant covers.
    pub prefix: String,
}

/// `http:` of a `wasm.component` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpConfig {
    /// Where to listen.
    pub addr: std::net::SocketAddr,
    /// `header_timeout`, `idle_timeout`, `max_connections`, `max_body`:
    /// the bounds on its clients, SPEC.md's defaults where not given.
    pub limits: crate::serve::ServeLimits,
}

impl HttpConfig {
    const FIELDS: &[&str] = &["addr", "header_timeout", "idle_timeout", "max_connections", "max_body"];

    /// `http:`, if the entry has it.
    fn parse(f: &mut Fields) -> Result<Option<Self>> {
        let Some(mut h) = f.nested("http")? else { return Ok(None) };
        let addr = h.required_string("addr")?;
        let addr = addr.parse().map_err(|_| {
            h.error("addr", format!("`{addr}` is not an address to listen on: expected IP:PORT such as 127.0.0.1:8081"))
        })?;
        let mut limits = crate::serve::ServeLimits::default();
        if let Some(v) = h.duration("header_timeout")? {
            limits.header_timeout = v;
        }
        if let Some(v) = h.duration("idle_timeout")? {
            limits.idle_timeout = v;
        }
        if let Some(v) = h.u32("max_connections")? {
            limits.max_connections = v;
        }
        if let Some(v) = h.size("max_body")? {
            limits.max_body = v;
        }
        limits.validate().map_err(|(field, message)| h.error(field, message))?;
        h.finish(Self::FIELDS)?;
        Ok(Some(Self { addr, limits }))
    }
}

impl ComponentConfig {
    const FIELDS: &[&str] = &["path", "stores", "default_store", "args", "env", "limits", "http", "watch"];

    /// Whether the component is a watcher (it has `watch:`), which runs
    /// while the registry runs and is called once per change.
    pub fn is_watcher(&self) -> bool {
        !self.watch.is_empty()
    }

    /// Every field is read whatever the others hold: each problem goes to
    /// `problems`, and what could be read stays for the registry's checks
    /// across entries (such as stores that are not declared).
    fn parse(f: &mut Fields, file: &Path, problems: &mut Vec<ConfigError>) -> Self {
        let raw = keep(problems, f.required_string("path"));
        let base = file.parent().unwrap_or(Path::new("."));
        let path = base.join(&raw);
        if !raw.is_empty() && !path.is_file() {
            problems.push(f.error(
                "path",
                format!("component file {} does not exist (paths are relative to the YAML file)", path.display()),
            ));
        }
        let stores = keep(problems, parse_grants(f));
        let default_store = keep(problems, f.string("default_store"));
        // The default store is granted too: an alias may not take its ID.
        let mut names = stores.clone();
        names.extend(default_store.iter().map(Grant::new));
        if let Err((i, message)) = check_names(&names) {
            problems.push(f.error(&format!("stores[{i}].as"), message));
        }
        let args = keep(problems, f.string_list("args"));
        let env = keep(problems, f.string_map("env"));
        let limits = keep(problems, Self::parse_limits(f));
        let http = keep(problems, HttpConfig::parse(f));
        #[cfg(not(feature = "serve"))]
        if http.is_some() {
            problems
                .push(f.error("http", "this kvhost was built without its `serve` feature, so it cannot serve HTTP"));
        }
        if http.is_some() && !args.is_empty() {
            problems.push(f.error("args", "an HTTP component takes requests, not arguments: remove args or http"));
        }
        let watch = keep(problems, parse_watch(f));
        if !watch.is_empty() {
            check_watch(f, &watch, &names, problems);
            if http.is_some() {
                problems.push(f.error(
                    "watch",
                    "a component either serves HTTP or watches stores, not both: declare two entries with the same path",
                ));
            }
            if !args.is_empty() {
                problems.push(f.error("args", "a watcher is called per change, not run with arguments: remove args"));
            }
        }
        Self { path, stores, default_store, args, env, limits, http, watch }
    }

    fn parse_limits(f: &mut Fields) -> Result<GuestLimits> {
        let mut limits = GuestLimits::default();
        if let Some(mut l) = f.nested("limits")? {
            limits.max_memory = l.size("max_memory")?;
            limits.timeout = l.duration("timeout")?.filter(|d| !d.is_zero());
            l.finish(&["max_memory", "timeout"])?;
        }
        Ok(limits)
    }
}

/// `stores`: a list of store IDs, or of `{id, prefix, access: read|write, as}`.
fn parse_grants(f: &mut Fields) -> Result<Vec<Grant>> {
    use serde_yaml::Value;
    let items = match f.take("stores") {
        None => return Ok(Vec::new()),
        Some(Value::Sequence(items)) => items,
        Some(other) => {
            let got = type_name(&other);
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
                grant.alias = g.string("as")?;
                g.finish(&["id", "prefix", "access", "as"])?;
                grant
            }
            other => {
                let got = type_name(&other);
                return Err(f.error(&name, format!("expected a store ID or {{id, prefix, access, as}}, got {got}")));
            }
        };
        grants.push(grant);
    }
    Ok(grants)
}

/// `watch`: a list of `{store, prefix}`.
fn parse_watch(f: &mut Fields) -> Result<Vec<WatchConfig>> {
    use serde_yaml::Value;
    let items = match f.take("watch") {
        None => return Ok(Vec::new()),
        Some(Value::Sequence(items)) => items,
        Some(other) => {
            let got = type_name(&other);
            return Err(f.error("watch", format!("expected a list of {{store, prefix}}, got {got}")));
        }
    };
    let mut watch = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let name = format!("watch[{i}]");
        if !matches!(item, Value::Mapping(_)) {
            let got = type_name(&item);
            return Err(f.error(&name, format!("expected {{store, prefix}}, got {got}")));
        }
        let mut w = f.nested_value(&name, item)?;
        let store = w.required_string("store")?;
        let prefix = w.string("prefix")?.unwrap_or_default();
        w.finish(&["store", "prefix"])?;
        watch.push(WatchConfig { store, prefix });
    }
    Ok(watch)
}

/// Each watched store must be granted (by ID or alias, or be the default
/// store), and its prefix lie within the grant's: a watcher sees only keys
/// it may read.
fn check_watch(f: &Fields, watch: &[WatchConfig], grants: &[Grant], problems: &mut Vec<ConfigError>) {
    for (i, w) in watch.iter().enumerate() {
        let field = format!("watch[{i}]");
        let grant = grants.iter().find(|g| g.store == w.store || g.alias.as_deref() == Some(w.store.as_str()));
        let Some(grant) = grant else {
            problems.push(f.error(
                &field,
                format!(
                    "store {} is not granted to this component: add it to `stores` (read access is enough)",
                    w.store
                ),
            ));
            continue;
        };
        if !w.prefix.starts_with(&grant.prefix) {
            problems.push(f.error(
                &field,
                format!(
                    "store {} with prefix {:?} is outside the component's grant (keys starting with {:?}); \
                     watch a prefix that starts with {:?}",
                    w.store, w.prefix, grant.prefix, grant.prefix
                ),
            ));
        }
    }
}
