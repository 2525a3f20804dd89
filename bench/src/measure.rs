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

/// One measured line.
struct Line {
    name: String,
    value: f64,
    unit: &'static str,
    /// The earlier line this one is compared to, and its value.
    baseline: Option<(String, f64)>,
    /// The most this line may be: a ratio to the baseline, or a value.
    target: Option<f64>,
}

/// Every line of a run, printed at the end with ratios and targets.
#[derive(Default)]
pub struct Report(Vec<Line>);

impl Report {
    /// Record a time per operation, compared to the earlier line `baseline` if given.
    pub fn add(&mut self, name: &str, ns: f64, baseline: Option<&str>) {
        let baseline = baseline.map(|b| (b.to_owned(), self.get(b).unwrap_or_else(|| panic!("{b} was not measured"))));
        println!("  {name:<46} {:>12}", fmt(ns, "ns"));
        self.0.push(Line { name: name.to_owned(), value: ns, unit: "ns", baseline, target: None });
    }

    /// Record a value with a unit and an optional maximum.
    pub fn add_value(&mut self, name: &str, value: f64, unit: &'static str, max: Option<f64>) {
        println!("  {name:<46} {:>12}", fmt(value, unit));
        self.0.push(Line { name: name.to_owned(), value, unit, baseline: None, target: max });
    }

    /// The target of line `name`: a maximum ratio to its baseline, or a maximum value.
    pub fn target(&mut self, name: &str, max: f64) {
        if let Some(l) = self.0.iter_mut().find(|l| l.name == name) {
            l.target = Some(max);
        }
    }

    /// The value of an earlier line.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.iter().find(|l| l.name == name).map(|l| l.value)
    }

    pub fn print(&self) {
        println!("\n{:<46} {:>12}  {:>7}  {:<8} baseline", "measure", "value", "ratio", "target");
        for l in &self.0 {
            let (ratio, judged) = match &l.baseline {
                Some((_, base)) => (format!("{:.2}x", l.value / base), l.value / base),
                None => ("-".to_owned(), l.value),
            };
            let target = match (l.target, &l.baseline) {
                (Some(t), Some(_)) => format!("<={t:.2}x {}", if judged <= t { "met" } else { "MISSED" }),
                (Some(t), None) => format!("<={} {}", fmt(t, l.unit), if judged <= t { "met" } else { "MISSED" }),
                (None, _) => String::new(),
            };
            let base = l.baseline.as_ref().map(|(b, _)| b.as_str()).unwrap_or("");
            println!("{:<46} {:>12}  {ratio:>7}  {target:<8} {base}", l.name, fmt(l.value, l.unit));
        }
    }
}

fn fmt(v: f64, unit: &str) -> String {
    match unit {
        "ns" if v >= 1_000_000.0 => format!("{:.2} ms", v / 1e6),
        "ns" if v >= 10_000.0 => format!("{:.1} µs", v / 1e3),
        "ns" => format!("{v:.0} ns"),
        "x" => format!("{v:.2}x"),
        u => format!("{v:.1} {u}"),
    }
}

/// CPU time this process has used so far, user and system, in nanoseconds.
pub fn cpu_ns() -> u64 {
    // SAFETY: getrusage writes into the zeroed struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid pointer.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0;
    }
    let ns = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1_000;
    ns(usage.ru_utime) + ns(usage.ru_stime)
}

/// Context switches of this process so far, voluntary and involuntary,
/// including threads that have exited.
pub fn context_switches() -> u64 {
    // SAFETY: getrusage writes into the zeroed struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid pointer.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0;
    }
    (usage.ru_nvcsw + usage.ru_nivcsw) as u64
}
