//! A frozen database: how long an operation on a store whose server stopped
//! answering (a fault proxy holds every byte, every socket stays open) takes
//! to fail with `unavailable`, as a ratio of the database's `query_timeout`;
//! the target is at most 1.10. Also how long the first operation takes once
//! the server answers again.

use std::time::{Duration, Instant};

use kvhost::Error;
use kvhost_tests::proxied::{Proxied, Server};

use crate::measure::{Report, median};

/// The `query_timeout` the stores are given.
const QUERY_TIMEOUT: Duration = Duration::from_secs(1);

pub fn run(report: &mut Report, rounds: usize) -> anyhow::Result<()> {
    for server in Server::ALL {
        let p = Proxied::new(server, QUERY_TIMEOUT);
        p.store.set("k", b"v", None)?;
        let (mut ratios, mut recoveries) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            p.proxy.freeze();
            let start = Instant::now();
            let result = p.store.get("k");
            let waited = start.elapsed();
            anyhow::ensure!(
                matches!(result, Err(Error::Unavailable(_))),
                "{}: expected unavailable, got {result:?}",
                server.name()
            );
            ratios.push(waited.as_secs_f64() / QUERY_TIMEOUT.as_secs_f64());
            p.proxy.pass();
            let start = Instant::now();
            p.store.get("k")?;
            recoveries.push(start.elapsed().as_nanos() as f64);
        }
        let worst = ratios.iter().copied().fold(0.0, f64::max);
        let name = format!("12.frozen.{}", server.name());
        report.add_value(&format!("{name}.unavailable_after_x_query_timeout"), median(&mut ratios), "x", Some(1.10));
        report.add_value(&format!("{name}.unavailable_after_x_query_timeout.worst"), worst, "x", Some(1.10));
        report.add(&format!("{name}.first_op_after_thaw"), median(&mut recoveries), None);
    }
    Ok(())
}
