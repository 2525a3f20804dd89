//! kvhost-bench: every measure side by side in one run, printed with ratios.
//!
//! `cargo run --release -p kvhost-bench -- [--quick] [--filter TEXT]`

mod guest;
mod measure;
mod memory;
mod sql;

use clap::Parser;

#[derive(Parser)]
struct Args {
    /// Fewer iterations: the whole run finishes in well under a minute.
    #[arg(long)]
    quick: bool,
    /// Run only the groups whose name contains this text (memory, sqlite, postgres).
    #[arg(long)]
    filter: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let scale = if args.quick { 1 } else { 5 };
    let wanted = |group: &str| args.filter.as_deref().is_none_or(|f| group.contains(f));
    let mut report = measure::Report::default();
    println!("kvhost-bench ({} mode); ns per operation, median of rounds", if args.quick { "quick" } else { "full" });
    if wanted("memory") {
        memory::run(&mut report, scale)?;
    }
    for dialect in ["sqlite", "postgres"] {
        if wanted(dialect) {
            sql::run(&mut report, dialect, scale)?;
        }
    }
    report.print();
    Ok(())
}
