//! `kvhost run`: a guest with stores, or a registry's components.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use kvhost::registry::{GuestLimits, Registry};
use kvhost::{Bucket, Catalog, Grant, GuestRun, GuestRunner, Host, KvCtx, Limits, MemoryStore, Stdio};

#[derive(clap::Args)]
pub struct RunArgs {
    /// Registry file or folder (repeatable).
    #[arg(long = "config", short = 'c', value_name = "PATH")]
    configs: Vec<PathBuf>,
    /// A store the guest may open (repeatable; needs --config), optionally
    /// narrowed and named: app:cache,prefix=user:,access=read,as=in_memory
    #[arg(long, value_name = "STORE_ID[,prefix=P][,access=read][,as=NAME]", value_parser = parse_grant)]
    allow: Vec<Grant>,
    /// The store that open("") and open("default") give the guest.
    #[arg(long, value_name = "STORE_ID")]
    default_store: Option<String>,
    /// Another name the guest may open its default store by, such as
    /// in_memory (repeatable): what Spin calls a store label, wasmCloud a
    /// bucket name.
    #[arg(long, value_name = "NAME")]
    alias: Vec<String>,
    /// Preset KEY=VALUE in the guest's default store (repeatable).
    #[arg(long = "kv", value_name = "KEY=VALUE", value_parser = parse_pair)]
    kv: Vec<(String, String)>,
    /// Set an environment variable for the guest (repeatable).
    #[arg(long = "env", value_name = "NAME=VALUE", value_parser = parse_pair)]
    env: Vec<(String, String)>,
    /// Most bytes of memory the guest may use, such as 64MiB.
    #[arg(long, value_parser = kvhost::registry::parse_size)]
    max_memory: Option<u64>,
    /// Stop the guest after this long, such as 30s.
    #[arg(long, value_parser = kvhost::registry::parse_duration)]
    timeout: Option<std::time::Duration>,
    /// Compile the guest every time instead of keeping compiled components
    /// in the cache ($KVHOST_CACHE_DIR, else ~/.cache/kvhost).
    #[arg(long)]
    no_cache: bool,
    /// The guest component (a wasi:cli command), then its arguments.
    #[arg(value_name = "GUEST.wasm")]
    guest: Option<PathBuf>,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "ARGS")]
    args: Vec<String>,
}

/// A runner with the component cache, unless it is turned off or cannot be
/// opened (then it says so and compiles every time).
fn runner(no_cache: bool) -> anyhow::Result<GuestRunner> {
    let runner = GuestRunner::new()?;
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
fn grants(args: &RunArgs, default: Option<&str>) -> anyhow::Result<Vec<Grant>> {
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

fn parse_pair(s: &str) -> Result<(String, String), String> {
    s.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())).ok_or_else(|| format!("`{s}` is not KEY=VALUE"))
}

pub async fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let runner = Arc::new(runner(args.no_cache)?);
    let Some(guest) = args.guest.clone() else {
        if args.configs.is_empty() {
            bail!("nothing to run: give a GUEST.wasm, or --config with auto_start components");
        }
        return run_registry(args, runner).await;
    };
    let limits = GuestLimits { max_memory: args.max_memory, timeout: args.timeout };
    let (kv, host) = if args.configs.is_empty() {
        if let Some(id) = args.allow.first().map(|g| &g.store).or(args.default_store.as_ref()) {
            bail!("--allow/--default-store {id} needs --config: without a registry the guest gets one in-memory store");
        }
        let catalog = Catalog::new();
        catalog.insert(Arc::new(MemoryStore::builder("default").max_size(0).build()), Limits::default());
        preset(catalog.open("default").context("the default store is not running")?, &args.kv).await?;
        let mut b = KvCtx::builder(catalog).default_store("default");
        for grant in grants(&args, Some("default"))? {
            b = b.grant(grant);
        }
        (b.build(), None)
    } else {
        let registry = Registry::load(&args.configs)?;
        let mut host = Host::new(registry);
        let mut wanted: Vec<String> = args.allow.iter().map(|g| g.store.clone()).collect();
        wanted.extend(args.default_store.clone());
        for id in &wanted {
            match host.registry().get(id) {
                Some(e) if e.kind.is_store() => {}
                Some(e) => bail!("--allow {id}: that entry is a {}, not a store", e.kind.name()),
                None => bail!("--allow {id}: no store with that ID in the registry"),
            }
        }
        if !args.alias.is_empty() && args.default_store.is_none() {
            bail!(
                "--alias names the default store; with --config, give it with --default-store (or use --allow ID,as=NAME)"
            );
        }
        host.start(&wanted).await?;
        let mut b = KvCtx::builder(host.catalog().clone());
        for grant in grants(&args, args.default_store.as_deref())? {
            b = b.grant(grant);
        }
        if let Some(id) = &args.default_store {
            b = b.default_store(id);
        }
        if !args.kv.is_empty() {
            let id = args.default_store.as_deref().context("--kv needs --default-store with --config")?;
            preset(host.catalog().open(id).context("the default store is not running")?, &args.kv).await?;
        }
        (b.build(), Some(host))
    };
    let name = guest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let run = GuestRun { name, args: args.args, env: args.env, kv, limits, stdio: Stdio::Inherit };
    let loader = runner.clone();
    let component = tokio::task::spawn_blocking(move || loader.load(&guest)).await?;
    let result = match component {
        Ok(component) => runner.run(&component, run).await,
        Err(e) => Err(e),
    };
    if let Some(host) = host {
        host.shutdown().await;
    }
    let code = result?.exit_code;
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}

/// `--kv KEY=VALUE`: written through a bucket, so the store's limits apply.
async fn preset(bucket: Bucket, pairs: &[(String, String)]) -> anyhow::Result<()> {
    for (k, v) in pairs {
        bucket.set(k, v.as_bytes(), None).await.with_context(|| format!("--kv {k}"))?;
    }
    Ok(())
}

async fn run_registry(args: RunArgs, runner: Arc<GuestRunner>) -> anyhow::Result<ExitCode> {
    if !args.allow.is_empty() || args.default_store.is_some() || !args.kv.is_empty() || !args.alias.is_empty() {
        bail!(
            "--allow, --default-store, --alias and --kv apply to a GUEST; registry components take their grants from the registry"
        );
    }
    let registry = Registry::load(&args.configs)?;
    let mut host = Host::new(registry);
    host.start_auto().await?;
    let interrupter = runner.clone();
    let ctrl_c = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::warn!("interrupted; stopping components");
            interrupter.interrupt();
        }
    });
    let exits = host.run_components(runner).await;
    ctrl_c.abort();
    host.shutdown().await;
    let mut failed = false;
    for exit in exits? {
        match exit.result {
            Ok(out) if out.exit_code == 0 => tracing::info!(id = %exit.id, "component finished"),
            Ok(out) => {
                failed = true;
                eprintln!("component {} exited with code {}", exit.id, out.exit_code);
            }
            Err(e) => {
                failed = true;
                eprintln!("component {} failed: {e:#}", exit.id);
            }
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
