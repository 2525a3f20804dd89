//! A guest's memory budget (`limits.max_memory`), counted over all of its
//! linear memories together, and remembered when it refuses a growth so a
//! failed run can say why.

use wasmtime::ResourceLimiter;

/// Default `limits.max_memory`: 512 MiB over all of a guest's memories.
pub const DEFAULT_MAX_MEMORY: u64 = 512 << 20;

/// The [`ResourceLimiter`] of one guest instance.
pub(crate) struct MemoryBudget {
    max: usize,
    used: usize,
    /// The total a refused growth would have reached.
    refused: Option<usize>,
}

impl MemoryBudget {
    pub(crate) fn new(max: u64) -> Self {
        Self { max: usize::try_from(max).unwrap_or(usize::MAX), used: 0, refused: None }
    }

    /// Why the guest may have failed, if it was refused memory.
    pub(crate) fn refusal(&self) -> Option<String> {
        self.refused.map(|wanted| {
            format!(
                "guest ran out of memory: it asked for {wanted} bytes in all, over its limits.max_memory of {} bytes",
                self.max
            )
        })
    }
}

impl ResourceLimiter for MemoryBudget {
    /// Growth beyond the budget is refused (`memory.grow` returns -1), as
    /// the WebAssembly spec lets a host do; most guests then abort.
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let total = self.used.saturating_add(desired.saturating_sub(current));
        if total > self.max {
            self.refused = Some(total);
            return Ok(false);
        }
        self.used = total;
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_counts_every_memory_together() {
        let mut b = MemoryBudget::new(100);
        assert!(b.memory_growing(0, 60, None).unwrap());
        assert!(b.memory_growing(0, 30, None).unwrap());
        assert!(!b.memory_growing(30, 41, None).unwrap(), "60 + 41 is over 100");
        assert!(b.memory_growing(30, 40, None).unwrap(), "60 + 40 fits");
        let why = b.refusal().unwrap();
        assert!(why.contains("limits.max_memory") && why.contains("101"), "{why}");
    }

    #[test]
    fn no_refusal_no_reason() {
        let mut b = MemoryBudget::new(100);
        assert!(b.memory_growing(0, 100, None).unwrap());
        assert_eq!(b.refusal(), None);
    }
}
