//! Measure 8: get latency while cleanup removes 1M expired entries.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kvhost::clock::ManualClock;
use kvhost::memory::MemoryStore;
use kvhost::{Store, Wait};

pub fn run(report: &mut crate::measure::Report) -> anyhow::Result<()> {
    println!("cleanup");
    const N: u64 = 1_000_000;
    let clock = ManualClock::starting_now();
    let store = Arc::new(MemoryStore::builder("bench:cleanup").max_size(0).clock(Arc::new(clock.clone())).build());
    let value = [7u8; 100];
    for i in 0..N {
        store.set(&format!("exp-{i:012}"), value.to_vec(), Some(Duration::from_secs(1))).wait()?;
    }
    let live: Vec<String> = (0..1000).map(|i| format!("live-{i:011}")).collect();
    for k in &live {
        store.set(k, value.to_vec(), None).wait()?;
    }
    clock.advance(Duration::from_secs(2));
    let done = Arc::new(AtomicBool::new(false));
    let (s, d) = (store.clone(), done.clone());
    let cleaner = std::thread::spawn(move || {
        let start = Instant::now();
        let removed = s.remove_expired().wait();
        d.store(true, Ordering::Release);
        (removed, start.elapsed())
    });
    let mut latencies = Vec::new();
    let mut i = 0;
    while !done.load(Ordering::Acquire) {
        let k = &live[i % live.len()];
        let t = Instant::now();
        let v = store.get(k).wait()?;
        latencies.push(t.elapsed().as_nanos() as f64);
        assert!(v.is_some());
        i += 1;
    }
    let (removed, took) = cleaner.join().expect("cleanup thread");
    anyhow::ensure!(removed? == N, "cleanup removed the wrong number of entries");
    latencies.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!("  cleanup of {N} entries took {took:?}; {} gets measured meanwhile", latencies.len());
    report.add_value("8.get_p99_during_cleanup", pct(0.99), "ns", Some(1_000_000.0));
    report.add_value("8.get_max_during_cleanup", *latencies.last().unwrap_or(&0.0), "ns", None);
    report.add_value("8.cleanup_1M_expired", took.as_nanos() as f64, "ns", None);
    Ok(())
}
