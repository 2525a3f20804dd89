//! Timing and reporting.

use std::time::Instant;

/// Nanoseconds per call of `f` over one round of `n` calls.
pub fn timed(n: u64, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

/// One sample of a measure, in nanoseconds per operation.
pub type Sampler<'a> = Box<dyn FnMut() -> anyhow::Result<f64> + 'a>;

/// A measure's median over its rounds, and the spread of the rounds
/// ((max - min) / median, in percent).
#[derive(Debug, Clone, Copy)]
pub struct Spread {
    pub median: f64,
    pub percent: f64,
}

/// `rounds` samples of every measure, interleaved: each round takes one
/// sample of each in turn, so a slow patch of a noisy machine touches every
/// measure alike rather than one of them.
pub fn interleaved(rounds: usize, measures: &mut [Sampler<'_>]) -> anyhow::Result<Vec<Spread>> {
    let mut samples = vec![Vec::with_capacity(rounds); measures.len()];
    for _ in 0..rounds {
        for (measure, taken) in measures.iter_mut().zip(&mut samples) {
            taken.push(measure()?);
        }
    }
    Ok(samples
        .into_iter()
        .map(|mut s| {
            let median = median(&mut s);
            let (lo, hi) = (s[0], s[s.len() - 1]);
            Spread { median, percent: (hi - lo) / median * 100.0 }
        })
        .collect())
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
    /// The spread of its interleaved rounds, in percent, if it had them.
    spread: Option<f64>,
}

/// Every line of a run, printed at the end with ratios and targets.
#[derive(Default)]
pub struct Report(Vec<Line>);

impl Report {
    /// Record a time per operation, compared to the earlier line `baseline` if given.
    pub fn add(&mut self, name: &str, ns: f64, baseline: Option<&str>) {
        let baseline = baseline.map(|b| (b.to_owned(), self.get(b).unwrap_or_else(|| panic!("{b} was not measured"))));
        println!("  {name:<46} {:>12}", fmt(ns, "ns"));
        self.0.push(Line { name: name.to_owned(), value: ns, unit: "ns", baseline, target: None, spread: None });
    }

    /// [`Report::add`] of a measure taken in interleaved rounds, with their spread.
    pub fn add_spread(&mut self, name: &str, ns: Spread, baseline: Option<&str>) {
        self.add(name, ns.median, baseline);
        self.0.last_mut().expect("just added").spread = Some(ns.percent);
    }

    /// Record a value with a unit and an optional maximum.
    pub fn add_value(&mut self, name: &str, value: f64, unit: &'static str, max: Option<f64>) {
        println!("  {name:<46} {:>12}", fmt(value, unit));
        self.0.push(Line { name: name.to_owned(), value, unit, baseline: None, target: max, spread: None });
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
        println!("\n{:<46} {:>12}  {:>7}  {:>7}  {:<8} baseline", "measure", "value", "spread", "ratio", "target");
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
            let spread = l.spread.map_or("-".to_owned(), |p| format!("{p:.1}%"));
            println!("{:<46} {:>12}  {spread:>7}  {ratio:>7}  {target:<8} {base}", l.name, fmt(l.value, l.unit));
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
