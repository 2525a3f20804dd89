//! What `kvhost run` and `kvhost serve` share: a guest's stores, grants and
//! limits, from flags and registry files.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use kvhost::guest::{ComponentCache, GuestLimits, GuestRunner};
use kvhost::memory::MemoryStore;
use kvhost::metrics::Metrics;
use kvhost::registry::Registry;
use kvhost::{Bucket, Catalog, Grant, Host, KvCtx, KvCtxBuilder, Limits};

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
    /// Stop the guest after this long, such as 30s (kvhost serve: each
    /// request, 504 past it; 60s unless given).
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

    /// `runner` with the component cache, unless --no-cache or it cannot be
    /// opened (then it says so and compiles every time).
    pub fn cached(&self, runner: GuestRunner) -> GuestRunner {
        let Some(dir) = (!self.no_cache).then(ComponentCache::default_dir).flatten() else { return runner };
        match ComponentCache::open(&dir) {
            Ok(cache) => runner.with_cache(cache),
            Err(e) => {
                tracing::warn!("compiling without a cache: {e:#}");
                runner
            }
        }
    }

    /// With --metrics (else at `fallback`, if given): a set of metrics, its
    /// endpoint listening.
    pub async fn metrics(&self, fallback: Option<std::net::SocketAddr>) -> anyhow::Result<Option<Metrics>> {
        #[cfg(feature = "serve")]
        if let Some(addr) = self.metrics.or(fallback) {
            let (metrics, addr) = kvhost::serve::metrics_endpoint(addr).await?;
            eprintln!("Metrics on http://{addr}/metrics");
            return Ok(Some(metrics));
        }
        #[cfg(not(feature = "serve"))]
        let _ = fallback;
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
            let kv = self.grants(KvCtx::builder(catalog).default_store("default"), Some("default"))?;
            return Ok((kv, None));
        }
        let registry = Registry::load(&self.configs)?;
        let mut host = Host::builder(registry);
        if let Some(metrics) = metrics {
            host = host.metrics(metrics);
        }
        let host = host.build();
        let mut wanted: Vec<String> = self.allow.iter().map(|g| g.store.clone()).collect();
        wanted.extend(self.default_store.clone());
        for id in &wanted {
            host.registry().store(id).with_context(|| format!("--allow {id}"))?;
        }
        if !self.alias.is_empty() && self.default_store.is_none() {
            bail!(
                "--alias names the default store; with --config, give it with --default-store (or use --allow ID,as=NAME)"
            );
        }
        host.start(&wanted).await?;
        let mut b = KvCtx::builder(host.catalog().clone());
        if let Some(id) = &self.default_store {
            b = b.default_store(id);
        }
        let kv = self.grants(b, self.default_store.as_deref())?;
        if !self.kv.is_empty() {
            let id = self.default_store.as_deref().context("--kv needs --default-store with --config")?;
            preset(host.catalog().open(id).context("the default store is not running")?, &self.kv).await?;
        }
        Ok((kv, Some(host)))
    }

    /// The guest's context: `--allow`'s grants, then one per `--alias` of
    /// the `default` store; each name checked, an error naming the flag at
    /// fault.
    fn grants(&self, mut b: KvCtxBuilder, default: Option<&str>) -> anyhow::Result<KvCtx> {
        for g in &self.allow {
            let flag = format!("--allow {},as={}", g.store, g.alias.as_deref().unwrap_or_default());
            b = b.grant_from(g.clone(), flag);
        }
        if let Some(default) = default {
            for alias in &self.alias {
                b = b.grant_from(Grant::new(default).alias(alias.as_str()), format!("--alias {alias}"));
            }
        }
        Ok(b.try_build()?)
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
