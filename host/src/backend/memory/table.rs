//! The memory store's map: shards of hashbrown `HashTable`s of [`Slot`]s,
//! each behind a read-write lock. A key's hash picks its shard from bits
//! that hashbrown does not use inside a table of fewer than 2^49 buckets.

use std::hash::BuildHasher as _;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use hashbrown::HashTable;

use super::slot::Slot;

/// Shards of the map. Cleanup locks one shard at a time, so more shards mean
/// shorter pauses for readers (about 4k entries per lock at 1M entries).
const SHARDS: usize = 1 << SHARD_BITS;
const SHARD_BITS: u32 = 8;

/// One shard: its slots, and the versions it has given out.
pub(super) struct Shard {
    pub slots: HashTable<Slot>,
    /// Versions given out so far; see [`Shard::new_version`].
    issued: u64,
    /// This shard's place among the table's shards.
    index: u64,
}

impl Shard {
    /// A version no other write to the store has had: this shard's count
    /// of versions, then the shard's index in the low 8 bits. Taken under
    /// the shard's write lock, so writers share no counter.
    pub(super) fn new_version(&mut self) -> u64 {
        self.issued += 1;
        self.issued << SHARD_BITS | self.index
    }
}

pub(super) struct Table {
    shards: Box<[RwLock<Shard>]>,
    hasher: foldhash::fast::RandomState,
}

/// Where a key lives: its hash and its shard.
pub(super) struct Place<'a> {
    pub hash: u64,
    shard: &'a RwLock<Shard>,
}

impl Table {
    pub(super) fn new() -> Self {
        let shard = |index| RwLock::new(Shard { slots: HashTable::new(), issued: 0, index });
        Self { shards: (0..SHARDS as u64).map(shard).collect(), hasher: Default::default() }
    }

    pub(super) fn hash(&self, key: &str) -> u64 {
        self.hasher.hash_one(key)
    }

    pub(super) fn place(&self, key: &str) -> Place<'_> {
        let hash = self.hash(key);
        Place { hash, shard: &self.shards[(hash >> 49) as usize % SHARDS] }
    }

    /// Every shard, read-locked one at a time.
    pub(super) fn each_read(&self, mut f: impl FnMut(&Shard)) {
        for shard in self.shards.iter() {
            f(&shard.read().unwrap_or_else(PoisonError::into_inner));
        }
    }

    /// Every shard, write-locked one at a time.
    pub(super) fn each_write(&self, mut f: impl FnMut(&mut Shard)) {
        for shard in self.shards.iter() {
            f(&mut shard.write().unwrap_or_else(PoisonError::into_inner));
        }
    }

    /// How hashbrown rehashes a slot when a shard grows.
    pub(super) fn rehash(&self) -> impl Fn(&Slot) -> u64 + '_ {
        |slot| self.hash(slot.key())
    }
}

impl Place<'_> {
    pub(super) fn read(&self) -> RwLockReadGuard<'_, Shard> {
        self.shard.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn write(&self) -> RwLockWriteGuard<'_, Shard> {
        self.shard.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Whether `slot` holds `key`, for hashbrown's lookups.
pub(super) fn holds(key: &str) -> impl Fn(&Slot) -> bool + '_ {
    move |slot| slot.key() == key
}
