//! `kvhost run`: a guest with stores, or a registry's components.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use kvhost::Host;
use kvhost::guest::{GuestRun, GuestRunner, Stdio};
use kvhost::registry::Registry;

use crate::guest_args::{GuestArgs, parse_pair};

#[derive(clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    guest_args: GuestArgs,
    /// Set an environment variable for the guest (repeatable).
    #[arg(long = "env", value_name = "NAME=VALUE", value_parser = parse_pair)]
    env: Vec<(String, String)>,
    /// The guest component (a wasi:cli command), then its arguments.
    #[arg(value_name = "GUEST.wasm")]
    guest: Option<PathBuf>,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "ARGS")]
    args: Vec<String>,
}

pub async fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let Some(guest) = args.guest.clone() else {
        if args.guest_args.configs.is_empty() {
            bail!("nothing to run: give a GUEST.wasm, or --config with auto_start components");
        }
        return run_registry(args).await;
    };
    let runner = Arc::new(args.guest_args.cached(GuestRunner::new()?));
    let limits = args.guest_args.limits();
    let metrics = args.guest_args.metrics(None).await?;
    let (kv, host) = args.guest_args.stores(metrics).await?;
    let name = guest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let run = GuestRun { name, args: args.args, env: args.env, kv, limits, stdio: Stdio::Inherit };
    let result = async {
        let component = runner.load_async(&guest).await?;
        let prepared = runner.prepare(&component).with_context(|| format!("cannot run {}", guest.display()))?;
        runner.run_prepared(&prepared, run).await
    }
    .await;
    if let Some(host) = host {
        host.shutdown().await;
    }
    let code = result?.exit_code;
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}

async fn run_registry(args: RunArgs) -> anyhow::Result<ExitCode> {
    if args.guest_args.grants_anything() {
        bail!(
            "--allow, --default-store, --alias and --kv apply to a GUEST; registry components take their grants from the registry"
        );
    }
    let registry = Registry::load(&args.guest_args.configs)?;
    let metrics = args.guest_args.metrics(registry.metrics_addr()).await?;
    let mut host = Host::builder(registry);
    if let Some(metrics) = metrics {
        host = host.metrics(metrics);
    }
    let host = host.build();
    let runner = Arc::new(args.guest_args.cached(host.guest_runner()?));
    host.start_auto().await?;
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let signal = tokio::spawn(async move {
        crate::signal::stopped().await;
        tracing::warn!("stopping: HTTP components finish their requests in flight, commands are interrupted");
        stop.send_replace(true);
    });
    let exits = host.run_components(runner, shutdown).await;
    signal.abort();
    host.shutdown().await;
    let mut failed = false;
    for exit in exits? {
        if exit.succeeded() {
            tracing::info!(id = %exit.id, "component {}", exit.state);
        } else {
            failed = true;
            eprintln!("component {} {}", exit.id, exit.state);
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
