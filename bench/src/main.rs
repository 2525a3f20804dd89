//! kvhost-bench: every measure side by side in one run, printed with ratios.
//!
//! `cargo run --release -p kvhost-bench -- [--quick] [--filter TEXT]`

mod boundary;
mod cleanup;
mod footprint;
mod frozen;
mod guest;
mod hostile;
mod measure;
mod memory;
mod peer;
mod redis;
mod roundtrips;
mod serve;
mod sql;
mod startup;
mod watch;

#[global_allocator]
static ALLOC: footprint::Counting = footprint::Counting;

use clap::Parser;

#[derive(Parser)]
struct Args {
    /// Fewer iterations: the whole run finishes in well under a minute.
    #[arg(long)]
    quick: bool,
    /// Run only the groups whose name contains this text
    /// (memory, footprint, cleanup, startup, sqlite, postgres, redis, watch, serve, hostile,
    /// frozen; postgres includes the 1,000 waiting guests and the batches; frozen is a
    /// database that stops answering, on PostgreSQL, MariaDB and Redis).
    #[arg(long)]
    filter: Option<String>,
    /// In the memory group, take only the measures whose name contains this
    /// text (to profile one of them: `perf record kvhost-bench --filter memory
    /// --only 3.kvhost_wasi_draft.set`).
    #[arg(long)]
    only: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let scale = if args.quick { 1 } else { 5 };
    let wanted = |group: &str| args.filter.as_deref().is_none_or(|f| group.contains(f));
    let mut report = measure::Report::default();
    println!("kvhost-bench ({} mode); ns per operation, median of rounds", if args.quick { "quick" } else { "full" });
    if wanted("memory") {
        memory::run(&mut report, scale, args.only.as_deref())?;
        report.target("2.kvhost_store.get", 1.10);
        report.target("2.kvhost_store.set", 1.10);
        report.target("3.kvhost_wasi_draft.get", 1.0);
        report.target("3.kvhost_wasi_draft.set", 1.0);
    }
    if wanted("footprint") {
        footprint::run(&mut report, !args.quick)?;
    }
    if wanted("cleanup") {
        cleanup::run(&mut report)?;
    }
    if wanted("startup") {
        startup::run(&mut report, scale)?;
    }
    for dialect in ["sqlite", "postgres"] {
        if wanted(dialect) {
            sql::run(&mut report, dialect, scale)?;
        }
    }
    if wanted("redis") {
        redis::run(&mut report, scale)?;
    }
    if wanted("watch") {
        watch::run(&mut report, scale)?;
    }
    if wanted("serve") {
        serve::run(&mut report, scale)?;
    }
    if wanted("hostile") {
        hostile::run(&mut report, scale)?;
    }
    if wanted("frozen") {
        frozen::run(&mut report, 2 * scale as usize)?;
    }
    report.print();
    Ok(())
}
