//! Measures that run inside the Rust guest (`kvdemo bench OP N`).

use kvhost::registry::GuestLimits;
use kvhost::{KvCtx, Runner, Stdio};

/// ns per `op` as the guest measured it over `n` calls, median of `rounds` runs.
pub fn ns_per_op(runner: &Runner, kv: &KvCtx, op: &str, n: u64, rounds: usize) -> anyhow::Result<f64> {
    let component = runner.load(&kvhost_tests::rust_guest())?;
    let mut samples = Vec::new();
    for _ in 0..rounds {
        let out = runner.run(
            &component,
            kvhost::GuestRun {
                name: "kvdemo".into(),
                args: vec!["bench".into(), op.into(), n.to_string()],
                env: Vec::new(),
                kv: kv.clone(),
                limits: GuestLimits::default(),
                stdio: Stdio::Capture,
            },
        )?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        anyhow::ensure!(out.exit_code == 0, "guest bench failed: {stdout}{}", String::from_utf8_lossy(&out.stderr));
        let ns: f64 = stdout
            .split_whitespace()
            .last()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("unexpected guest output {stdout:?}"))?;
        samples.push(ns);
    }
    Ok(crate::measure::median(&mut samples))
}
