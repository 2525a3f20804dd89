//! What `kvhost run` and `kvhost serve` share: a guest's stores, grants and
//! limits, from flags and registry files.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use kvhost::registry::{GuestLimits, Registry};
use kvhost::{Bucket, Catalog, Grant, GuestRunner, Host, KvCtx, Limits, MemoryStore, Metrics};

#[derive(clap::Args)]
pub struct GuestArgs {
    /// Registry file or folder (repeatable).
    #[arg(long = "config", short = 'c', value_name = "PATH")]
    pub configs: Vec<PathBuf>,
    /// A store the guest may open (repeatable; needs --config), optionally
    /// narrowed and named: app:cache,prefix=user:,access=read,as=in_memory
    #[arg(long, value_name = "STORE_ID[,prefix=P][,access=read][,as=NAME]", value_parser = parse_grant)]
    pub allow: Vec<Grant>,
    /// The store that open("") and open("default") give the guest.
    #[arg(long, value_name = "STORE_ID")]
    pub default_store: Option<String>,
    /// Another name the guest may open its default store by, such as
    /// in_memory (repeatable): what Spin calls a store label, wasmCloud a
    /// bucket name.
    #[arg(long, value_name = "NAME")]
    pub alias: Vec<String>,
    /// Preset KEY=VALUE in the guest's default store (repeatable).
    #[arg(long = "kv", value_name = "KEY=VALUE", value_parser = parse_pair)]
    pub kv: Vec<(String, String)>,
    /// Most bytes of memory the guest may use, such as 64MiB.
    #[arg(long, value_parser = kvhost::registry::parse_size)]
    pub max_memory: Option<u64>,
    /// Stop the guest after this long, such as 30s.
    #[arg(long, value_parser = kvhost::registry::parse_duration)]
    pub timeout: Option<std::time::Duration>,
    /// Compile the guest every time instead of keeping compiled components
    /// in the cache ($KVHOST_CACHE_DIR, else ~/.cache/kvhost).
    #[arg(long)]
    pub no_cache: bool,
    /// Serve Prometheus metrics (store operations, HTTP requests) at
    /// http://HOST:PORT/metrics.
    #[cfg(feature = "serve")]
    #[arg(long, value_name = "HOST:PORT")]
    pub metrics: Option<std::net::SocketAddr>,
}

impl GuestArgs {
    /// Whether any flag that grants a GUEST stores was given.
    pub fn grants_anything(&self) -> bool {
        !self.allow.is_empty() || self.default_store.is_some() || !self.kv.is_empty() || !self.alias.is_empty()
    }

    /// The guest's limits.
    pub fn limits(&self) -> GuestLimits {
        GuestLimits { max_memory: self.max_memory, timeout: self.timeout }
    }

    /// A runner, with the component cache unless --no-cache.
    pub fn runner(&self) -> anyhow::Result<GuestRunner> {
        with_cache(GuestRunner::new()?, self.no_cache)
    }

    /// A runner with wasmtime's pooling allocator for `instances` instances
    /// at once, with the component cache unless --no-cache.
    pub fn pooled_runner(&self, instances: u32) -> anyhow::Result<GuestRunner> {
        with_cache(GuestRunner::pooled(instances)?, self.no_cache)
    }

    /// With --metrics: a set of metrics, its endpoint listening.
    pub async fn metrics(&self) -> anyhow::Result<Option<Metrics>> {
        #[cfg(feature = "serve")]
        if let Some(addr) = self.metrics {
            return serve_metrics(addr, "--metrics").await.map(Some);
        }
        Ok(None)
    }

    /// The stores the guest may open: one in-memory default store without
    /// --config, else the registry's stores it is granted, started, their
    /// operations recorded in `metrics` if given. The host, if any, must be
    /// shut down when the guest is done.
    pub async fn stores(&self, metrics: Option<Metrics>) -> anyhow::Result<(KvCtx, Option<Host>)> {
        if self.configs.is_empty() {
            if let Some(id) = self.allow.first().map(|g| &g.store).or(self.default_store.as_ref()) {
                bail!(
                    "--allow/--default-store {id} needs --config: without a registry the guest gets one in-memory store"
                );
            }
            let catalog = metrics.map_or_else(Catalog::new, Catalog::with_metrics);
            catalog.insert(Arc::new(MemoryStore::builder("default").max_size(0).build()), Limits::default());
            preset(catalog.open("default").context("the default store is not running")?, &self.kv).await?;
            let mut b = KvCtx::builder(catalog).default_store("default");
            for grant in grants(self, Some("default"))? {
                b = b.grant(grant);
            }
            return Ok((b.build(), None));
        }
        let registry = Registry::load(&self.configs)?;
        let mut host = Host::new(registry);
        if let Some(metrics) = metrics {
            host = host.with_metrics(metrics);
        }
        let mut wanted: Vec<String> = self.allow.iter().map(|g| g.store.clone()).collect();
        wanted.extend(self.default_store.clone());
        for id in &wanted {
            match host.registry().get(id) {
                Some(e) if e.kind.is_store() => {}
                Some(e) => bail!("--allow {id}: that entry is a {}, not a store", e.kind.name()),
                None => bail!("--allow {id}: no store with that ID in the registry"),
            }
        }
        if !self.alias.is_empty() && self.default_store.is_none() {
            bail!(
                "--alias names the default store; with --config, give it with --default-store (or use --allow ID,as=NAME)"
            );
        }
        host.start(&wanted).await?;
        let mut b = KvCtx::builder(host.catalog().clone());
        for grant in grants(self, self.default_store.as_deref())? {
            b = b.grant(grant);
        }
        if let Some(id) = &self.default_store {
            b = b.default_store(id);
        }
        if !self.kv.is_empty() {
            let id = self.default_store.as_deref().context("--kv needs --default-store with --config")?;
            preset(host.catalog().open(id).context("the default store is not running")?, &self.kv).await?;
        }
        Ok((b.build(), Some(host)))
    }
}

/// `runner` with the component cache, unless it is turned off or cannot be
/// opened (then it says so and compiles every time).
fn with_cache(runner: GuestRunner, no_cache: bool) -> anyhow::Result<GuestRunner> {
    let Some(dir) = (!no_cache).then(kvhost::ComponentCache::default_dir).flatten() else { return Ok(runner) };
    match kvhost::ComponentCache::open(&dir) {
        Ok(cache) => Ok(runner.with_cache(cache)),
        Err(e) => {
            tracing::warn!("compiling without a cache: {e:#}");
            Ok(runner)
        }
    }
}

/// `ID[,prefix=P][,access=read|write][,as=NAME]`, as registry `stores:`
/// entries say it.
fn parse_grant(s: &str) -> Result<Grant, String> {
    let mut parts = s.split(',');
    let id = parts.next().filter(|id| !id.is_empty()).ok_or("a grant starts with a store ID")?;
    let mut grant = Grant::new(id);
    for part in parts {
        match part.split_once('=') {
            Some(("prefix", p)) => grant.prefix = p.to_owned(),
            Some(("access", access)) => grant.access = access.parse()?,
            Some(("as", alias)) => grant.alias = Some(alias.to_owned()),
            _ => return Err(format!("`{part}`: expected prefix=P, access=read|write or as=NAME")),
        }
    }
    Ok(grant)
}

/// The guest's grants: `--allow`'s, then one per `--alias` of the default
/// store; each name checked, an error naming the flag at fault.
fn grants(args: &GuestArgs, default: Option<&str>) -> anyhow::Result<Vec<Grant>> {
    let mut grants = args.allow.clone();
    if let Some(default) = default {
        grants.extend(args.alias.iter().map(|alias| Grant::new(default).alias(alias.as_str())));
    }
    let mut names = grants.clone();
    names.extend(default.map(Grant::new));
    if let Err((i, message)) = kvhost::check_names(&names) {
        let flag = match args.allow.get(i) {
            Some(g) => format!("--allow {},as={}", g.store, g.alias.as_deref().unwrap_or_default()),
            None => format!("--alias {}", grants[i].alias.as_deref().unwrap_or_default()),
        };
        bail!("{flag}: {message}");
    }
    Ok(grants)
}

pub fn parse_pair(s: &str) -> Result<(String, String), String> {
    s.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())).ok_or_else(|| format!("`{s}` is not KEY=VALUE"))
}

/// `--kv KEY=VALUE`: written through a bucket, so the store's limits apply.
async fn preset(bucket: Bucket, pairs: &[(String, String)]) -> anyhow::Result<()> {
    for (k, v) in pairs {
        bucket.set(k, v.as_bytes(), None).await.with_context(|| format!("--kv {k}"))?;
    }
    Ok(())
}

/// A set of metrics served at `http://ADDR/metrics` (`what` names the
/// setting in errors).
#[cfg(feature = "serve")]
pub async fn serve_metrics(addr: std::net::SocketAddr, what: &str) -> anyhow::Result<Metrics> {
    let listener =
        tokio::net::TcpListener::bind(addr).await.with_context(|| format!("{what}: cannot listen on {addr}"))?;
    eprintln!("Metrics on http://{}/metrics", listener.local_addr()?);
    let metrics = Metrics::new();
    tokio::spawn(kvhost::serve_metrics(metrics.clone(), listener, std::future::pending()));
    Ok(metrics)
}
