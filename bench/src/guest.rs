//! Measures that run inside a Rust guest (`NAME bench OP N`), through either
//! of kvhost's linkers.

use std::path::Path;

use kvhost::KvCtx;
use kvhost::guest::{GuestLimits, GuestOutput, GuestRun, GuestRunner, Prepared, Stdio};
use kvhost_tests::Linking;

/// The ns per op a guest printed as `bench OP N NS`.
pub fn parse(stdout: &str) -> anyhow::Result<f64> {
    stdout
        .split_whitespace()
        .last()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("unexpected guest output {stdout:?}"))
}

/// One run of `NAME bench OP N` per call, linked as `linking` says: the ns
/// per op the guest measured.
pub fn sampler(
    linking: Linking,
    wasm: &Path,
    name: &str,
    kv: &KvCtx,
    op: &str,
    n: u64,
) -> anyhow::Result<crate::measure::Sampler<'static>> {
    let args = ["bench".to_owned(), op.to_owned(), n.to_string()];
    let (name, kv) = (name.to_owned(), kv.clone());
    Ok(match linking {
        Linking::Async => {
            let runner = kvhost_tests::runner();
            let prepared = runner.prepare(&runner.load(wasm)?)?;
            Box::new(move || run_bench(&runner, &prepared, &name, &kv, &args))
        }
        Linking::Sync => {
            let pre = kvhost_tests::sync_host::prepare(wasm)?;
            Box::new(move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let out = kvhost_tests::sync_host::run_prepared(&pre, kv.clone(), &args)?;
                anyhow::ensure!(out.exit_code == 0, "guest bench failed: {}", String::from_utf8_lossy(&out.stderr));
                parse(&String::from_utf8_lossy(&out.stdout))
            })
        }
    })
}

/// One run of `NAME bench OP N` as a task of the tests' runtime: the ns per
/// op the guest measured.
pub fn run_bench(
    runner: &GuestRunner,
    prepared: &Prepared,
    name: &str,
    kv: &KvCtx,
    args: &[String],
) -> anyhow::Result<f64> {
    let run = GuestRun { name: name.into(), ..bench_run(kv, args) };
    let out = kvhost_tests::rt().block_on(runner.run_prepared(prepared, run))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(out.exit_code == 0, "guest bench failed: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    parse(&stdout)
}

/// Start a guest run as a task on the tests' runtime, as `kvhost run` runs guests.
pub fn spawn(prepared: &Prepared, run: GuestRun) -> tokio::task::JoinHandle<anyhow::Result<GuestOutput>> {
    let (runner, prepared) = (kvhost_tests::runner(), prepared.clone());
    kvhost_tests::rt().spawn(async move { runner.run_prepared(&prepared, run).await })
}

/// Wait for every guest run, each of which must succeed; their outputs.
pub fn join(runs: Vec<tokio::task::JoinHandle<anyhow::Result<GuestOutput>>>) -> anyhow::Result<Vec<GuestOutput>> {
    kvhost_tests::rt().block_on(async {
        let mut outs = Vec::with_capacity(runs.len());
        for run in runs {
            let out = run.await??;
            anyhow::ensure!(out.exit_code == 0, "a guest failed: {}", String::from_utf8_lossy(&out.stderr));
            outs.push(out);
        }
        anyhow::Ok(outs)
    })
}

/// A run of the kvdemo guest with `args`, output captured.
pub fn bench_run(kv: &KvCtx, args: &[String]) -> GuestRun {
    GuestRun {
        name: "kvdemo".into(),
        args: args.to_vec(),
        env: Vec::new(),
        kv: kv.clone(),
        limits: GuestLimits::default(),
        stdio: Stdio::Capture,
    }
}
