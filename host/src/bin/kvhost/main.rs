//! The `kvhost` command line: a thin layer over the library, one file per command.

mod guest_args;
mod keys;
mod run;
#[cfg(feature = "sql")]
mod schema;
#[cfg(feature = "serve")]
mod serve;
mod signal;
mod store_args;
#[cfg(feature = "serve")]
mod ui;
mod watch;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{CommandFactory as _, Parser, Subcommand};
use kvhost::registry::Registry;

#[derive(Parser)]
#[command(name = "kvhost", version, about = "A key-value store for WebAssembly components")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a guest component, or the auto_start components of a registry.
    Run(run::RunArgs),
    #[cfg(feature = "serve")]
    /// Serve an HTTP guest (wasi:http/incoming-handler), a fresh instance per request.
    Serve(serve::ServeArgs),
    /// Validate registry files; exits non-zero and names each problem.
    Check {
        /// YAML files or folders of them.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Print, or apply, the DDL of a SQL store's table.
    #[cfg(feature = "sql")]
    Schema(schema::SchemaArgs),
    /// List the live keys of a store, one per line.
    Keys(keys::KeysArgs),
    /// Print a store's changes as they happen, one per line, until Ctrl-C.
    Watch(watch::WatchArgs),
    /// Serve the key browser: a page that shows and edits every store of a registry.
    #[cfg(feature = "serve")]
    Ui(ui::UiArgs),
    /// Print a shell completion script, e.g. `kvhost completions bash > ~/.local/share/bash-completion/completions/kvhost`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        // Colour for people, plain text for files and pipes.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check { paths } => check(&paths),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "kvhost", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Run(args) => block_on(run::run(args)),
        #[cfg(feature = "serve")]
        Command::Serve(args) => block_on(serve::serve(args)),
        #[cfg(feature = "sql")]
        Command::Schema(args) => block_on(schema::schema(args)),
        Command::Keys(args) => block_on(keys::keys(args)),
        Command::Watch(args) => block_on(watch::watch(args)),
        #[cfg(feature = "serve")]
        Command::Ui(args) => block_on(ui::ui(args)),
    };
    match result {
        Ok(code) => code,
        // A reader that stopped early (`kvhost keys ... | head`) is not an error.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}

/// Run a command's future on a multi-thread runtime.
fn block_on(command: impl Future<Output = anyhow::Result<ExitCode>>) -> anyhow::Result<ExitCode> {
    tokio::runtime::Runtime::new().context("cannot start the async runtime")?.block_on(command)
}

fn check(paths: &[PathBuf]) -> anyhow::Result<ExitCode> {
    match Registry::load(paths) {
        Ok(r) => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "ok: {} entries", r.entries().len())?;
            for e in r.entries() {
                writeln!(out, "  {} ({})", e.id, e.kind.name())?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            for e in errors.errors() {
                eprintln!("error: {e}");
            }
            eprintln!("{} problem(s) found", errors.errors().len());
            Ok(ExitCode::FAILURE)
        }
    }
}
