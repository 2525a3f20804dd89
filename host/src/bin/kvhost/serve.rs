//! `kvhost serve`: an HTTP guest with stores, served as `wasmtime serve`
//! serves one: a fresh instance per request, the stores shared by all.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use kvhost::guest::GuestRunner;
use kvhost::serve::HttpServer;
use tokio::net::TcpListener;

use crate::guest_args::GuestArgs;

#[derive(clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    guest_args: GuestArgs,
    /// The address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Most instances alive at once (places in wasmtime's pooling allocator);
    /// requests beyond it wait for a free one.
    #[arg(long, default_value_t = kvhost::guest::DEFAULT_MAX_INSTANCES, value_parser = clap::value_parser!(u32).range(1..))]
    max_instances: u32,
    /// How long requests in flight may go on after Ctrl-C or SIGTERM.
    #[arg(long, value_parser = kvhost::registry::parse_duration, default_value = "10s")]
    stop_timeout: Duration,
    /// The guest component: one that exports wasi:http/incoming-handler.
    #[arg(value_name = "GUEST.wasm")]
    guest: PathBuf,
}

pub async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let runner = Arc::new(args.guest_args.cached(GuestRunner::pooled(args.max_instances)?));
    let guest = runner
        .prepare_http(&runner.load_async(&args.guest).await?)
        .with_context(|| format!("cannot serve {}", args.guest.display()))?;
    let metrics = args.guest_args.metrics(None).await?;
    let (kv, host) = args.guest_args.stores(metrics.clone()).await?;
    let served = match TcpListener::bind(args.addr).await {
        Ok(listener) => {
            let addr = listener.local_addr()?;
            eprintln!("Serving HTTP on http://{addr}/");
            let mut server =
                HttpServer::new(runner, guest, kv, args.guest_args.limits()).stop_timeout(args.stop_timeout);
            if let Some(metrics) = metrics {
                let name = args.guest.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                server = server.metrics(metrics, name);
            }
            let stopped = async {
                crate::signal::stopped().await;
                eprintln!("stopping: finishing requests in flight");
            };
            server.serve(listener, stopped).await;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(anyhow::Error::from(e).context(format!("cannot listen on {}", args.addr))),
    };
    if let Some(host) = host {
        host.shutdown().await;
    }
    served
}
