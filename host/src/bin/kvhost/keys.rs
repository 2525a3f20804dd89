//! `kvhost keys`: the live keys of one store, to inspect what guests wrote.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::store_args::StoreArgs;

#[derive(clap::Args)]
#[command(after_help = "Example:\n  kvhost keys --config registry.yaml app:cache --prefix user:")]
pub struct KeysArgs {
    #[command(flatten)]
    store: StoreArgs,
}

/// Keys are read a page at a time, so a large store streams out.
const PAGE: u32 = 1000;

pub async fn keys(args: KeysArgs) -> anyhow::Result<ExitCode> {
    let (host, bucket) = args.store.open().await?;
    let listed = async {
        let mut out = std::io::stdout().lock();
        let (mut cursor, mut count) = (None::<String>, 0u64);
        loop {
            let page = bucket.list(&args.store.prefix, cursor.as_deref(), PAGE).await?;
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
