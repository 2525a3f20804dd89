//! Measure 9: instantiate and run a trivial guest (open a store, return).

use std::time::Instant;

use kvhost::registry::GuestLimits;
use kvhost::{Catalog, GuestRun, GuestRunner, KvCtx, Limits, MemoryStore, Stdio};

pub fn run(report: &mut crate::measure::Report, scale: u64) -> anyhow::Result<()> {
    println!("startup");
    let ns = measure(&GuestRunner::new()?, scale)?;
    report.add_value("9.instantiate_and_run_trivial_guest", ns, "ns", Some(50_000.0));
    let ns = measure(&GuestRunner::pooled(64)?, scale)?;
    report.add_value("9.instantiate_and_run_trivial_guest.pooling", ns, "ns", Some(50_000.0));
    Ok(())
}

fn measure(runner: &GuestRunner, scale: u64) -> anyhow::Result<f64> {
    let stores = Catalog::new();
    stores.insert(std::sync::Arc::new(MemoryStore::builder("bench:mem").build()), Limits::default());
    let kv = KvCtx::builder(stores).default_store("bench:mem").build();
    let component = runner.load(&kvhost_tests::rust_guest())?;
    let prepared = runner.prepare(&component)?;
    let run = GuestRun {
        name: "kvdemo".into(),
        args: vec!["noop".into()],
        env: Vec::new(),
        kv,
        limits: GuestLimits::default(),
        stdio: Stdio::Capture,
    };
    let n = 500 * scale;
    let mut samples = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        kvhost_tests::rt().block_on(async {
            for _ in 0..n {
                let out = runner.run_prepared(&prepared, run.clone()).await?;
                anyhow::ensure!(out.exit_code == 0, "noop guest failed");
            }
            anyhow::Ok(())
        })?;
        samples.push(start.elapsed().as_nanos() as f64 / n as f64);
    }
    Ok(crate::measure::median(&mut samples))
}
