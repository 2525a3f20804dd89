//! Timing and reporting.

use std::time::Instant;

/// Nanoseconds per call of `f`, the median of `rounds` rounds of `n` calls.
pub fn ns_per_op(rounds: usize, n: u64, mut f: impl FnMut()) -> f64 {
    let mut samples: Vec<f64> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..n {
                f();
            }
            start.elapsed().as_nanos() as f64 / n as f64
        })
        .collect();
    median(&mut samples)
}

/// The median of `samples`.
pub fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(|a, b| a.total_cmp(b));
    samples[samples.len() / 2]
}

/// One measured line: a value, and optionally the baseline it is compared to.
pub struct Line {
    pub name: String,
    pub ns: f64,
    pub baseline: Option<(String, f64)>,
}

/// Every line of a run, printed at the end.
#[derive(Default)]
pub struct Report(Vec<Line>);

impl Report {
    /// Record `name`, compared to the earlier line `baseline` if given.
    pub fn add(&mut self, name: &str, ns: f64, baseline: Option<&str>) {
        let baseline = baseline.map(|b| {
            let base = self.get(b).unwrap_or_else(|| panic!("baseline {b} was not measured"));
            (b.to_owned(), base)
        });
        println!("  {name:<34} {:>12}", fmt_ns(ns));
        self.0.push(Line { name: name.to_owned(), ns, baseline });
    }

    /// The value of an earlier line.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.iter().find(|l| l.name == name).map(|l| l.ns)
    }

    pub fn print(&self) {
        println!("\n{:<34} {:>12}  {:>8}  baseline", "measure", "per op", "ratio");
        for l in &self.0 {
            match &l.baseline {
                Some((b, base)) => println!("{:<34} {:>12}  {:>7.2}x  {b}", l.name, fmt_ns(l.ns), l.ns / base),
                None => println!("{:<34} {:>12}  {:>8}", l.name, fmt_ns(l.ns), "-"),
            }
        }
    }
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 10_000.0 { format!("{:.1} µs", ns / 1000.0) } else { format!("{ns:.0} ns") }
}
