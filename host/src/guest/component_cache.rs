//! Compiled components on disk, so that a big guest compiles once.
//!
//! An entry is named by the SHA-256 of the component and by a hash of
//! everything that makes compiled code loadable (kvhost's version, wasmtime's
//! version and its compilation settings, from
//! [`wasmtime::Engine::precompile_compatibility_hash`]): a changed guest, a
//! new kvhost or another engine configuration looks up another name, so a
//! stale entry is never found. Each entry starts with an HMAC-SHA256 of the
//! compiled code under a random key kept in the cache folder (mode 0600); an
//! entry that does not verify (tampered, truncated, written by someone without
//! the key) is never deserialized: the component is compiled again and the
//! entry replaced. Entries are written to a temporary file and renamed, so a
//! reader never sees half of one.
//!
//! The folder is bounded ([`ComponentCache::DEFAULT_MAX_BYTES`], 1 GiB): after
//! a write, the least recently used entries (a hit refreshes an entry's
//! modification time) are removed until the rest fit.

use std::hash::{Hash, Hasher};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Context as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

const MAC_LEN: usize = 32;

/// Where a component came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Loaded from a verified cache entry.
    Cache,
    /// Compiled now (and stored, if the cache folder is writable).
    Compiled,
}

/// A folder of compiled components. See the module docs for what keeps it safe.
#[derive(Clone)]
pub struct ComponentCache {
    dir: PathBuf,
    key: [u8; 32],
    max_bytes: u64,
}

impl std::fmt::Debug for ComponentCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComponentCache").field("dir", &self.dir).finish_non_exhaustive()
    }
}

impl ComponentCache {
    /// Default bound on the entries' total size: 1 GiB (a Python guest's
    /// compiled form is about 40 MB).
    pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;

    /// The default folder: `$KVHOST_CACHE_DIR`, else `$XDG_CACHE_HOME/kvhost`,
    /// else `$HOME/.cache/kvhost`.
    pub fn default_dir() -> Option<PathBuf> {
        let var = |name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        var("KVHOST_CACHE_DIR")
            .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("kvhost")))
            .or_else(|| var("HOME").map(|d| d.join(".cache/kvhost")))
    }

    /// Open (creating if needed) a cache in `dir`, with its key.
    pub fn open(dir: impl Into<PathBuf>) -> anyhow::Result<Self> {
        let dir = dir.into();
        create_private_dir(&dir).with_context(|| format!("cannot create the component cache {}", dir.display()))?;
        let key = load_or_create_key(&dir.join("key"))
            .with_context(|| format!("cannot read or create the key of the component cache {}", dir.display()))?;
        Ok(Self { dir, key, max_bytes: Self::DEFAULT_MAX_BYTES })
    }

    /// Bound the entries' total size to `max_bytes` instead of the default.
    pub fn max_bytes(mut self, max_bytes: u64) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The compiled form of the component `bytes`: from the cache when a
    /// verified entry exists, else compiled by `engine` and stored.
    pub fn load(&self, engine: &Engine, bytes: &[u8]) -> anyhow::Result<(Component, Source)> {
        let path = self.entry_path(engine, bytes);
        if let Some(component) = self.read(engine, &path) {
            // Mark it recently used, for eviction; failing that is harmless.
            let _ = std::fs::File::options().write(true).open(&path).and_then(|f| f.set_modified(SystemTime::now()));
            return Ok((component, Source::Cache));
        }
        let component = Component::new(engine, bytes)?;
        if let Err(e) = self.write(&path, &component).and_then(|()| self.evict()) {
            tracing::warn!(path = %path.display(), "cannot store the compiled component: {e:#}");
        }
        Ok((component, Source::Compiled))
    }

    /// The entry for `bytes` compiled by `engine`.
    pub fn entry_path(&self, engine: &Engine, bytes: &[u8]) -> PathBuf {
        let content: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
        // DefaultHasher::new() has fixed keys; if its algorithm changes with
        // Rust, names change too, which is a miss, never a wrong hit.
        let mut h = std::collections::hash_map::DefaultHasher::new();
        env!("CARGO_PKG_VERSION").hash(&mut h);
        engine.precompile_compatibility_hash().hash(&mut h);
        self.dir.join(format!("{content}-{:016x}.cwasm", h.finish()))
    }

    fn mac(&self) -> Hmac<Sha256> {
        <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key).expect("HMAC takes any key length")
    }

    /// A verified entry, or None (missing, unreadable, tampered, or refused by wasmtime).
    fn read(&self, engine: &Engine, path: &Path) -> Option<Component> {
        let data = std::fs::read(path).ok()?;
        if data.len() < MAC_LEN {
            tracing::warn!(path = %path.display(), "ignoring a truncated component cache entry");
            return None;
        }
        let (tag, code) = data.split_at(MAC_LEN);
        let mut mac = self.mac();
        mac.update(code);
        if mac.verify_slice(tag).is_err() {
            tracing::warn!(path = %path.display(), "ignoring a component cache entry that fails verification");
            return None;
        }
        // SAFETY: `code` is what `Component::serialize` produced in `write`:
        // the HMAC under this cache's secret key proves it was written by a
        // holder of the key, and wasmtime checks that its version and
        // settings match `engine`.
        match unsafe { Component::deserialize(engine, code) } {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(path = %path.display(), "ignoring a component cache entry: {e:#}");
                None
            }
        }
    }

    fn write(&self, path: &Path, component: &Component) -> anyhow::Result<()> {
        let code = component.serialize()?;
        let mut mac = self.mac();
        mac.update(&code);
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir)?;
        tmp.write_all(&mac.finalize().into_bytes())?;
        tmp.write_all(&code)?;
        tmp.persist(path)?;
        Ok(())
    }
}

impl ComponentCache {
    /// Remove the least recently used entries until the rest fit `max_bytes`.
    fn evict(&self) -> anyhow::Result<()> {
        let mut entries = Vec::new();
        for e in std::fs::read_dir(&self.dir)?.flatten() {
            let path = e.path();
            if path.extension().is_some_and(|x| x == "cwasm")
                && let Ok(meta) = e.metadata()
            {
                entries.push((meta.modified().unwrap_or(SystemTime::UNIX_EPOCH), meta.len(), path));
            }
        }
        entries.sort();
        let mut total: u64 = entries.iter().map(|(_, len, _)| len).sum();
        for (_, len, path) in entries {
            if total <= self.max_bytes {
                break;
            }
            tracing::debug!(path = %path.display(), "evicting a compiled component");
            // Another process may have removed it already.
            let _ = std::fs::remove_file(&path);
            total -= len;
        }
        Ok(())
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

fn load_or_create_key(path: &Path) -> anyhow::Result<[u8; 32]> {
    if let Ok(bytes) = std::fs::read(path) {
        return <[u8; 32]>::try_from(bytes.as_slice())
            .map_err(|_| anyhow::anyhow!("{} is not a 32-byte key; delete it to make a new one", path.display()));
    }
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no randomness for the cache key: {e}"))?;
    let mut tmp = tempfile::NamedTempFile::new_in(path.parent().unwrap_or(Path::new(".")))?;
    #[cfg(unix)]
    std::fs::set_permissions(tmp.path(), std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    tmp.write_all(&key)?;
    // Two processes may race to create the key: the first rename wins, and
    // both use what is on disk.
    match tmp.persist_noclobber(path) {
        Ok(_) => Ok(key),
        Err(_) => {
            let bytes = std::fs::read(path)?;
            <[u8; 32]>::try_from(bytes.as_slice())
                .map_err(|_| anyhow::anyhow!("{} is not a 32-byte key", path.display()))
        }
    }
}
