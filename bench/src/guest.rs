//! Measures that run inside the Rust guest (`kvdemo bench OP N`).

use kvhost::registry::GuestLimits;
use kvhost::{KvCtx, Prepared, Runner, Stdio};

/// The ns per op a guest printed as `bench OP N NS`.
pub fn parse(stdout: &str) -> anyhow::Result<f64> {
    stdout
        .split_whitespace()
        .last()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("unexpected guest output {stdout:?}"))
}

/// ns per `op` as the kvdemo guest measured it over `n` calls, median of `rounds` runs.
pub fn ns_per_op(runner: &Runner, kv: &KvCtx, op: &str, n: u64, rounds: usize) -> anyhow::Result<f64> {
    ns_per_op_of(&kvhost_tests::rust_guest(), "kvdemo", runner, kv, op, n, rounds)
}

/// ns per `op` as guest `wasm` measured it (`NAME bench OP N`), median of `rounds` runs.
pub fn ns_per_op_of(
    wasm: &std::path::Path,
    name: &str,
    runner: &Runner,
    kv: &KvCtx,
    op: &str,
    n: u64,
    rounds: usize,
) -> anyhow::Result<f64> {
    let prepared = runner.prepare(&runner.load(wasm)?)?;
    let mut samples = Vec::new();
    for _ in 0..rounds {
        samples.push(run_bench(runner, &prepared, name, kv, op, n)?);
    }
    Ok(crate::measure::median(&mut samples))
}

/// One run of `NAME bench OP N`: the ns per op the guest measured.
pub fn run_bench(
    runner: &Runner,
    prepared: &Prepared,
    name: &str,
    kv: &KvCtx,
    op: &str,
    n: u64,
) -> anyhow::Result<f64> {
    let out = runner.run_prepared(
        prepared,
        kvhost::GuestRun {
            name: name.into(),
            args: vec!["bench".into(), op.into(), n.to_string()],
            env: Vec::new(),
            kv: kv.clone(),
            limits: GuestLimits::default(),
            stdio: Stdio::Capture,
        },
    )?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(out.exit_code == 0, "guest bench failed: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    parse(&stdout)
}
