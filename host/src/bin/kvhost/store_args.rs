//! The arguments `keys` and `watch` share, and what they do with them: one
//! store of a registry, started alone with what it depends on.

use std::path::PathBuf;

use anyhow::Context as _;
use kvhost::registry::Registry;
use kvhost::{Bucket, Host};

#[derive(clap::Args)]
pub struct StoreArgs {
    /// Registry file or folder (repeatable).
    #[arg(long = "config", short = 'c', value_name = "PATH", required = true)]
    configs: Vec<PathBuf>,
    /// The store, by its registry ID.
    #[arg(value_name = "STORE_ID")]
    pub store: String,
    /// Only keys starting with this.
    #[arg(long, default_value = "")]
    pub prefix: String,
}

impl StoreArgs {
    /// Start the store (and what it needs); the host, to shut down, and the
    /// store opened with every key.
    pub async fn open(&self) -> anyhow::Result<(Host, Bucket)> {
        let registry = Registry::load(&self.configs)?;
        registry.store(&self.store)?;
        let host = Host::new(registry);
        host.start(std::slice::from_ref(&self.store)).await?;
        let bucket = host.catalog().open(&self.store).context("the store did not start")?;
        Ok((host, bucket))
    }
}
