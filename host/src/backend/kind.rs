//! How a backend declares its registry kinds: the fields it parses itself,
//! and how what an entry describes starts. The registry and the host know
//! backends only through these.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::SharedStore;
use super::clock::SharedClock;
use crate::config::{ConfigError, FieldError, Fields};

/// A boxed future, as the start-up hooks below return.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How a kind parses its own fields of an entry declared in a file.
pub(crate) type Parse<T> = fn(&mut Fields, &Path) -> Result<Arc<T>, ConfigError>;

/// A `store.*` kind, such as `store.memory`.
pub(crate) struct StoreKind {
    /// As written in YAML.
    pub name: &'static str,
    /// The `db.*` kinds its `database` field may name; empty = it has no
    /// `database` field.
    pub databases: &'static [&'static str],
    /// `cleanup_interval` when the entry gives none.
    pub cleanup_interval: Duration,
    /// The fields it parses itself, for unknown-field messages.
    pub fields: &'static [&'static str],
    /// Parse those fields of an entry declared in the given file.
    pub(crate) parse: Parse<dyn StoreConfig>,
}

/// A parsed `store.*` entry's own fields, able to open the store.
pub(crate) trait StoreConfig: Any + fmt::Debug + Send + Sync {
    /// Open store `id`. `database` is the started entry that the `database`
    /// field names, for kinds that have one.
    fn open<'a>(
        &'a self,
        id: &'a str,
        database: Option<&'a SharedDatabase>,
        clock: SharedClock,
    ) -> BoxFuture<'a, anyhow::Result<SharedStore>>;

    /// Whether this store (`id`) and `other` (`other_id`, in the same
    /// database) would hold the same data, so that one's `clear` would empty
    /// the other: the field at fault and why. Stores of other kinds answer
    /// `None`.
    fn overlaps(&self, _id: &str, _other_id: &str, _other: &dyn StoreConfig) -> Option<FieldError> {
        None
    }
}

/// A `db.*` kind: a connection that stores live in, such as `db.sql.postgres`.
pub(crate) struct DatabaseKind {
    /// As written in YAML.
    pub name: &'static str,
    /// The fields it parses itself.
    pub fields: &'static [&'static str],
    /// Parse those fields of an entry declared in the given file.
    pub(crate) parse: Parse<dyn DatabaseConfig>,
}

/// A parsed `db.*` entry's own fields, able to connect.
pub(crate) trait DatabaseConfig: Any + fmt::Debug + Send + Sync {
    /// Connect database entry `id`.
    fn connect<'a>(&'a self, id: &'a str) -> BoxFuture<'a, anyhow::Result<SharedDatabase>>;
}

/// A started `db.*` entry, shared by the stores that live in it.
pub(crate) trait Database: Any + Send + Sync {
    /// Close every connection, waiting for those in use to be returned.
    fn close(&self) -> BoxFuture<'_, ()>;
}

/// A started database entry.
pub(crate) type SharedDatabase = Arc<dyn Database>;

/// `db` as the backend type `T` that started it, if it is one.
pub(crate) fn downcast<T: Any + Send + Sync>(db: &SharedDatabase) -> Option<Arc<T>> {
    let any: Arc<dyn Any + Send + Sync> = db.clone();
    any.downcast().ok()
}

impl fmt::Debug for StoreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl fmt::Debug for DatabaseKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}
