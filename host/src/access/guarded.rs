//! A backend store with what guards it.

use super::gate::Gate;
use super::limits::Limits;
use crate::backend::SharedStore;

/// A backend store with its limits and its concurrency cap, shared by every
/// bucket open on it.
pub(crate) struct Guarded {
    pub(crate) backend: SharedStore,
    pub(crate) limits: Limits,
    pub(crate) gate: Gate,
    /// Where its operations are recorded, if anywhere.
    pub(crate) metrics: Option<crate::metrics::Metrics>,
}

impl Guarded {
    pub(crate) fn new(store: SharedStore, limits: Limits, metrics: Option<crate::metrics::Metrics>) -> Self {
        let gate = Gate::new(limits.max_concurrency, limits.max_concurrency_wait);
        if let Some(m) = &metrics {
            m.count_entries(&store);
        }
        Self { backend: store, limits, gate, metrics }
    }
}
