//! `kvhost serve`: an HTTP guest with stores, served as `wasmtime serve`
//! serves one: a fresh instance per request, the stores shared by all.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use kvhost::guest::GuestRunner;
use kvhost::serve::{HttpServer, ServeLimits};
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
    /// Close a connection that has not sent a whole request head this long
    /// after it opened or began its next request [default: 10s].
    #[arg(long, value_parser = kvhost::registry::parse_duration)]
    header_timeout: Option<Duration>,
    /// Close a kept-alive connection with no request this long after its
    /// last response [default: 60s].
    #[arg(long, value_parser = kvhost::registry::parse_duration)]
    idle_timeout: Option<Duration>,
    /// Most connections open at once; more wait in the listener's backlog
    /// [default: 10000].
    #[arg(long)]
    max_connections: Option<u32>,
    /// Largest request body, such as 1MiB: a larger one is answered 413
    /// [default: 10MiB].
    #[arg(long, value_parser = kvhost::registry::parse_size)]
    max_body: Option<u64>,
    /// How long requests in flight may go on after Ctrl-C or SIGTERM.
    #[arg(long, value_parser = kvhost::registry::parse_duration, default_value = "10s")]
    stop_timeout: Duration,
    /// The guest component: one that exports wasi:http/incoming-handler.
    #[arg(value_name = "GUEST.wasm")]
    guest: PathBuf,
}

impl ServeArgs {
    /// The flags' bounds on clients, SPEC.md's defaults for the others;
    /// an error names the flag that cannot hold.
    fn serve_limits(&self) -> anyhow::Result<ServeLimits> {
        let mut limits = ServeLimits::default();
        limits.header_timeout = self.header_timeout.unwrap_or(limits.header_timeout);
        limits.idle_timeout = self.idle_timeout.unwrap_or(limits.idle_timeout);
        limits.max_connections = self.max_connections.unwrap_or(limits.max_connections);
        limits.max_body = self.max_body.unwrap_or(limits.max_body);
        limits.validate().map_err(|(field, message)| anyhow::anyhow!("--{} {message}", field.replace('_', "-")))?;
        Ok(limits)
    }
}

pub async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let serve_limits = args.serve_limits()?;
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
            let mut server = HttpServer::new(runner, guest, kv, args.guest_args.limits())
                .stop_timeout(args.stop_timeout)
                .serve_limits(serve_limits);
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
