//! `kvhost keys`: the live keys of one store, to inspect what guests wrote.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use kvhost::Host;
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
const PAGE: u32 = 1000;

pub async fn keys(args: KeysArgs) -> anyhow::Result<ExitCode> {
    let registry = Registry::load(&args.configs)?;
    registry.store(&args.store)?;
    let host = Host::new(registry);
    host.start(std::slice::from_ref(&args.store)).await?;
    let bucket = host.catalog().open(&args.store).context("the store did not start")?;
    let listed = async {
        let mut out = std::io::stdout().lock();
        let (mut cursor, mut count) = (None::<String>, 0u64);
        loop {
            let page = bucket.list(&args.prefix, cursor.as_deref(), PAGE).await?;
            for key in &page.keys {
                writeln!(out, "{key}")?;
            }
            count += page.keys.len() as u64;
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => return anyhow::Ok(count),
            }
        }
    }
    .await;
    host.shutdown().await;
    let count = listed.context("listing failed")?;
    eprintln!("{count} keys");
    Ok(ExitCode::SUCCESS)
}
