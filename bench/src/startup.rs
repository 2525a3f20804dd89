//! Measure 9: instantiate and run a trivial guest (open a store, return),
//! with the default allocator and the pooling one, in interleaved rounds.

use std::time::Instant;

use kvhost::guest::{GuestLimits, GuestRun, GuestRunner, Stdio};
use kvhost::memory::MemoryStore;
use kvhost::{Catalog, KvCtx, Limits};

use crate::measure::{Sampler, interleaved};

pub fn run(report: &mut crate::measure::Report, scale: u64) -> anyhow::Result<()> {
    println!("startup");
    let mut samplers = [sampler(GuestRunner::new()?, scale)?, sampler(GuestRunner::pooled(64)?, scale)?];
    let [default, pooling] = interleaved(5, &mut samplers)?[..] else { unreachable!("two measures") };
    report.add_value("9.instantiate_and_run_trivial_guest", default.median, "ns", Some(50_000.0));
    report.add_value("9.instantiate_and_run_trivial_guest.spread", default.percent, "%", None);
    report.add_value("9.instantiate_and_run_trivial_guest.pooling", pooling.median, "ns", Some(50_000.0));
    report.add_value("9.instantiate_and_run_trivial_guest.pooling.spread", pooling.percent, "%", None);
    Ok(())
}

/// One round per call: `500 * scale` runs of the noop guest, ns per run.
fn sampler(runner: GuestRunner, scale: u64) -> anyhow::Result<Sampler<'static>> {
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
    Ok(Box::new(move || {
        let start = Instant::now();
        kvhost_tests::rt().block_on(async {
            for _ in 0..n {
                let out = runner.run_prepared(&prepared, run.clone()).await?;
                anyhow::ensure!(out.exit_code == 0, "noop guest failed");
            }
            anyhow::Ok(())
        })?;
        Ok(start.elapsed().as_nanos() as f64 / n as f64)
    }))
}
