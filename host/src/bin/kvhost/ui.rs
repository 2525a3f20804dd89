//! `kvhost ui`: the key browser, a page and a JSON API over every store of
//! a registry.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use kvhost::Host;
use kvhost::registry::{Kind, Registry};
use kvhost::ui::{Token, UiServer};
use tokio::net::TcpListener;

#[derive(clap::Args)]
#[command(after_help = "Example:\n  kvhost ui --config registry.yaml\n\n\
                        The token is $KVHOST_UI_TOKEN when set, else random per start.")]
pub struct UiArgs {
    /// Registry file or folder (repeatable).
    #[arg(long = "config", short = 'c', value_name = "PATH", required = true)]
    configs: Vec<PathBuf>,
    /// The address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8081")]
    addr: SocketAddr,
    /// Refuse every write (set, delete, clear) with 403.
    #[arg(long)]
    read_only: bool,
}

pub async fn ui(args: UiArgs) -> anyhow::Result<ExitCode> {
    let token = match std::env::var("KVHOST_UI_TOKEN") {
        Ok(token) => Token::new(token).context("KVHOST_UI_TOKEN")?,
        Err(_) => Token::random()?,
    };
    let registry = Registry::load(&args.configs)?;
    let stores: Vec<String> =
        registry.entries().iter().filter(|e| matches!(e.kind, Kind::Store(_))).map(|e| e.id.clone()).collect();
    anyhow::ensure!(!stores.is_empty(), "the registry declares no store to browse");
    let host = Host::new(registry);
    let served = async {
        host.start(&stores).await?;
        let listener = TcpListener::bind(args.addr).await.with_context(|| format!("cannot listen on {}", args.addr))?;
        let addr = listener.local_addr()?;
        if !addr.ip().is_loopback() {
            eprintln!(
                "WARNING: the key browser listens on {addr}, which other machines can reach: anyone who has the \
                 token can read and change every store, over plain HTTP. Use --addr 127.0.0.1:{} unless you mean it.",
                addr.port()
            );
        }
        let server = UiServer::new(host.catalog().clone(), token).read_only(args.read_only);
        println!("Key browser: {}", server.url(addr));
        eprintln!("{} stores{}; Ctrl-C to stop", stores.len(), if args.read_only { ", read-only" } else { "" });
        server.serve(listener, crate::signal::stopped()).await?;
        anyhow::Ok(())
    }
    .await;
    host.shutdown().await;
    served?;
    Ok(ExitCode::SUCCESS)
}
