//! Measure 7: memory store bytes per entry beyond the key and value bytes,
//! at 1M entries (16-byte key, 100-byte value), from a counting allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use kvhost::memory::MemoryStore;
use kvhost::{Store, Wait};

/// The system allocator, counting live bytes requested.
pub struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Bytes allocated and not yet freed, by this process.
pub fn live_bytes() -> u64 {
    LIVE.load(Ordering::Relaxed) as u64
}

/// Resident memory of this process.
pub fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()).unwrap_or(0) * 4096
}

/// Key and value bytes of every entry: a 16-byte key, a 100-byte value.
const PAYLOAD: f64 = 116.0;

/// The `i`th key, 16 bytes.
fn key(i: u64) -> String {
    format!("key-{i:012}")
}

/// Bytes per entry beyond key and value of a memory store holding `n`
/// entries, allocated and resident; `ttl` gives every entry an expiry.
fn kvhost_overhead(n: u64, ttl: Option<std::time::Duration>) -> anyhow::Result<(f64, f64)> {
    let (live_before, rss_before) = (LIVE.load(Ordering::Relaxed), rss_bytes());
    let store = MemoryStore::builder("bench:footprint").max_size(0).build();
    let value = [7u8; 100];
    for i in 0..n {
        store.set(&key(i), value.to_vec(), ttl).wait()?;
    }
    let live = (LIVE.load(Ordering::Relaxed) - live_before) as f64 / n as f64 - PAYLOAD;
    let rss = (rss_bytes().saturating_sub(rss_before)) as f64 / n as f64 - PAYLOAD;
    drop(store);
    Ok((live, rss))
}

/// The same entries in the Redis on this machine, in its logical database
/// 15 (emptied before and after): `used_memory` per entry beyond key and value.
fn redis_overhead(n: u64) -> anyhow::Result<f64> {
    let mut con = redis::Client::open("redis://127.0.0.1:6379/15")?.get_connection()?;
    let used = |con: &mut redis::Connection| -> anyhow::Result<f64> {
        let info: String = redis::cmd("INFO").arg("memory").query(con)?;
        let line = info.lines().find_map(|l| l.strip_prefix("used_memory:"));
        Ok(line.ok_or_else(|| anyhow::anyhow!("INFO memory has no used_memory"))?.trim().parse()?)
    };
    redis::cmd("FLUSHDB").query::<()>(&mut con)?;
    let before = used(&mut con)?;
    let value = [7u8; 100];
    for start in (0..n).step_by(1000) {
        let mut pipe = redis::pipe();
        for i in start..n.min(start + 1000) {
            pipe.cmd("SET").arg(key(i)).arg(&value[..]).ignore();
        }
        pipe.query::<()>(&mut con)?;
    }
    let after = used(&mut con)?;
    redis::cmd("FLUSHDB").query::<()>(&mut con)?;
    Ok((after - before) / n as f64 - PAYLOAD)
}

pub fn run(report: &mut crate::measure::Report, big: bool) -> anyhow::Result<()> {
    println!("footprint");
    let hour = Some(std::time::Duration::from_secs(3600));
    let (live, rss) = kvhost_overhead(1_000_000, None)?;
    report.add_value("7.memory_overhead_bytes_per_entry(allocated)", live, "B", Some(64.0));
    report.add_value("7.memory_overhead_bytes_per_entry(rss)", rss, "B", None);
    let (live, _) = kvhost_overhead(1_000_000, hour)?;
    report.add_value("7.memory_overhead_bytes_per_entry_with_ttl(allocated)", live, "B", Some(64.0));
    if big {
        let (live, rss) = kvhost_overhead(10_000_000, None)?;
        report.add_value("7.memory_overhead_bytes_per_entry_10m(allocated)", live, "B", Some(64.0));
        report.add_value("7.memory_overhead_bytes_per_entry_10m(rss)", rss, "B", None);
        let (live, _) = kvhost_overhead(10_000_000, hour)?;
        report.add_value("7.memory_overhead_bytes_per_entry_10m_with_ttl(allocated)", live, "B", Some(64.0));
    }
    report.add_value("7.redis_overhead_bytes_per_entry(used_memory)", redis_overhead(1_000_000)?, "B", None);
    Ok(())
}
