//! `kvhost keys`: the live keys of one store, to inspect what guests wrote.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use kvhost::Runtime;
use kvhost::registry::Registry;

#[derive(clap::Args)]
#[command(after_help = "Example:\n  kvhost keys --config registry.yaml app:cache --prefix user:")]
pub struct KeysArgs {
    /// Registry file or folder (repeatable).
    #[arg(long = "config", short = 'c', value_name = "PATH", required = true)]
    configs: Vec<PathBuf>,
    /// The store to list.
    #[arg(value_name = "STORE_ID")]
    store: String,
    /// Only keys starting with this.
    #[arg(long, default_value = "")]
    prefix: String,
}

/// Keys are read a page at a time, so a large store streams out.
const PAGE: usize = 1000;

pub async fn keys(args: KeysArgs) -> anyhow::Result<ExitCode> {
    let registry = Registry::load(&args.configs)?;
    match registry.get(&args.store) {
        None => bail!("no entry `{}` in the registry", args.store),
        Some(e) if !e.kind.is_store() => bail!("`{}` is a {}, not a store", args.store, e.kind.name()),
        Some(_) => {}
    }
    let mut runtime = Runtime::new(registry);
    runtime.start(std::slice::from_ref(&args.store)).await?;
    let store = runtime.stores().get(&args.store).context("the store did not start")?;
    let prefix = args.prefix;
    // Stores are synchronous (SQL ones block on the runtime), so list off it.
    let listed = tokio::task::spawn_blocking(move || -> anyhow::Result<u64> {
        let mut out = std::io::stdout().lock();
        let (mut after, mut count) = (None::<String>, 0u64);
        loop {
            let page = store.list(&prefix, after.as_deref(), PAGE)?;
            for key in &page {
                writeln!(out, "{key}")?;
            }
            count += page.len() as u64;
            if page.len() < PAGE {
                return Ok(count);
            }
            after = page.last().cloned();
        }
    })
    .await
    .context("listing failed")?;
    runtime.shutdown().await;
    let count = listed?;
    eprintln!("{count} keys");
    Ok(ExitCode::SUCCESS)
}
