//! The YAML registry: files of entries that declare stores, databases and components.
//!
//! ```yaml
//! version: "1.0"
//! namespace: app
//! entries:
//!   - name: sessions
//!     kind: store.memory
//!     max_size: 10000
//!     cleanup_interval: "5m"
//!     lifecycle:
//!       auto_start: true
//! ```

mod depth;
mod entry;
mod graph;
mod kind;
mod load;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

pub use crate::config::{ConfigError, FieldError, RegistryError, parse_duration, parse_size};
pub use entry::{Entry, Lifecycle};
pub use kind::{ComponentConfig, DatabaseEntry, HttpConfig, Kind, StoreEntry, WatchConfig, kinds};

/// A validated set of entries from one or more YAML files.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    entries: Vec<Entry>,
    by_id: HashMap<String, usize>,
    /// Top-level `metrics.addr`, and the file that set it.
    metrics: Option<(std::net::SocketAddr, PathBuf)>,
}

impl Registry {
    /// Load files, or folders of `.yaml`/`.yml` files (searched recursively,
    /// passing over hidden folders and `node_modules`).
    /// Every problem found is reported, each naming file, entry and field.
    pub fn load<P: AsRef<Path>>(paths: &[P]) -> Result<Self, RegistryError> {
        let mut files = Vec::new();
        let mut errors = Vec::new();
        for p in paths {
            if let Err(e) = load::collect_files(p.as_ref(), &mut files) {
                errors.push(e);
            }
        }
        let mut sources = Vec::new();
        for file in files {
            match depth::read(&file) {
                Ok(text) => sources.push((file, text)),
                Err(e) => errors.push(ConfigError { file, entry: None, field: None, message: e }),
            }
        }
        match Self::from_sources(sources.iter().map(|(f, t)| (f.as_path(), t.as_str()))) {
            Ok(r) if errors.is_empty() => Ok(r),
            Ok(_) => Err(RegistryError(errors)),
            Err(RegistryError(more)) => {
                errors.extend(more);
                Err(RegistryError(errors))
            }
        }
    }

    /// Parse a registry from YAML text; `file` names it in errors and anchors relative paths.
    pub fn from_yaml(file: impl Into<PathBuf>, text: &str) -> Result<Self, RegistryError> {
        let file = file.into();
        Self::from_sources([(file.as_path(), text)])
    }

    fn from_sources<'a>(sources: impl IntoIterator<Item = (&'a Path, &'a str)>) -> Result<Self, RegistryError> {
        let mut errors = Vec::new();
        let mut registry = Registry::default();
        for (file, text) in sources {
            let parsed = load::parse_file(file, text);
            errors.extend(parsed.errors);
            for e in parsed.entries {
                registry.insert(e, &mut errors);
            }
            match (&registry.metrics, parsed.metrics) {
                (Some((first, _)), Some(addr)) if *first == addr => {}
                (Some((_, first_file)), Some(_)) => errors.push(ConfigError {
                    file: file.to_owned(),
                    entry: None,
                    field: Some("metrics.addr".into()),
                    message: format!("metrics are already served as {} says; set it in one file", first_file.display()),
                }),
                (None, Some(addr)) => registry.metrics = Some((addr, file.to_owned())),
                (_, None) => {}
            }
        }
        // Entries that failed to parse are not "missing": references to them
        // are not reported again.
        let broken: HashSet<&str> = errors.iter().filter_map(|e| e.entry.as_deref()).collect();
        errors.extend(graph::check_references(&registry.entries, &registry.by_id, &broken));
        errors.extend(graph::check_cycles(&registry.entries, &registry.by_id));
        errors.extend(graph::check_overlaps(&registry.entries));
        if errors.is_empty() { Ok(registry) } else { Err(RegistryError(errors)) }
    }

    /// Where the registry asks for Prometheus metrics to be served
    /// (top-level `metrics: {addr: HOST:PORT}`), if anywhere.
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.metrics.as_ref().map(|(addr, _)| *addr)
    }

    fn insert(&mut self, entry: Entry, errors: &mut Vec<ConfigError>) {
        if let Some(&first) = self.by_id.get(&entry.id) {
            errors.push(ConfigError {
                file: entry.file.clone(),
                entry: Some(entry.id.clone()),
                field: Some("name".into()),
                message: format!("duplicate ID; first declared in {}", self.entries[first].file.display()),
            });
            return;
        }
        self.by_id.insert(entry.id.clone(), self.entries.len());
        self.entries.push(entry);
    }

    /// Every entry, in file order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry with this ID.
    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.by_id.get(id).map(|&i| &self.entries[i])
    }

    /// The store entry `id`, or an error saying there is no such entry or
    /// what kind of entry it is instead.
    pub fn store(&self, id: &str) -> anyhow::Result<&StoreEntry> {
        match self.get(id).map(|e| (e, &e.kind)) {
            Some((_, Kind::Store(store))) => Ok(store),
            Some((entry, kind)) => {
                anyhow::bail!("`{id}` is a {}, not a store (declared in {})", kind.name(), entry.file.display())
            }
            None => anyhow::bail!("no store `{id}` in the registry"),
        }
    }

    /// The given entries and everything they depend on, dependencies first.
    /// Unknown IDs are ignored.
    pub fn start_order<'a>(&'a self, ids: impl IntoIterator<Item = &'a str>) -> Vec<&'a Entry> {
        let roots: Vec<usize> = ids.into_iter().filter_map(|id| self.by_id.get(id).copied()).collect();
        graph::start_order(&self.entries, &self.by_id, &roots).into_iter().map(|i| &self.entries[i]).collect()
    }

    /// Entries whose lifecycle says `auto_start`.
    pub fn auto_start(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| e.lifecycle.auto_start)
    }
}

// The registry's tests declare every kind, so they need every backend.
#[cfg(all(test, feature = "sqlite", feature = "postgres", feature = "mysql", feature = "redis", feature = "serve"))]
mod tests;
