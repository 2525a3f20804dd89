//! Measure 7: memory store bytes per entry beyond the key and value bytes,
//! at 1M entries (16-byte key, 100-byte value), from a counting allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use kvhost::{MemoryStore, Store, Wait};

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

pub fn run(report: &mut crate::measure::Report) -> anyhow::Result<()> {
    println!("footprint");
    const N: u64 = 1_000_000;
    let (live_before, rss_before) = (LIVE.load(Ordering::Relaxed), rss_bytes());
    let store = MemoryStore::builder("bench:footprint").max_size(0).build();
    let value = [7u8; 100];
    for i in 0..N {
        store.set(&format!("key-{i:012}"), value.to_vec(), None).wait()?;
    }
    let live = (LIVE.load(Ordering::Relaxed) - live_before) as f64 / N as f64 - 116.0;
    let rss = (rss_bytes().saturating_sub(rss_before)) as f64 / N as f64 - 116.0;
    report.add_value("7.memory_overhead_bytes_per_entry(allocated)", live, "B", Some(64.0));
    report.add_value("7.memory_overhead_bytes_per_entry(rss)", rss, "B", None);
    drop(store);
    Ok(())
}
