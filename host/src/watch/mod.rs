//! Watch: the changes made to a store, as a stream for whoever may read them.
//!
//! Every backend publishes the changes its writes make in a [`Feed`]: a set
//! with its key and new value, a delete with its key (an expired entry that
//! is removed is a delete too). [`crate::Bucket::watch`] subscribes to it
//! under the bucket's grant and gives a [`Watch`], a stream of [`Event`]s.
//!
//! Who sees what ([`WatchScope`]): a memory, SQLite or MariaDB store reports
//! the changes made by this process (`local`); a PostgreSQL or Redis store
//! reports the changes made by every host sharing it (`shared`), published by
//! the write itself on the server and received here on a connection of its
//! own, started when the first watcher subscribes.
//!
//! Delivery: each watcher reads from one bounded queue per store
//! ([`QUEUE`] changes); a write never waits for a watcher. A watcher that
//! falls further behind, or a feed whose server connection was lost, reads
//! an [`Event::Missed`] in place of what it missed, which is also counted in
//! `kvhost_watch_events_total{outcome="missed"|"lost"}` and logged.

mod event;
mod feed;
mod stream;

pub use event::Event;
#[cfg(any(feature = "redis", feature = "postgres"))]
pub(crate) use feed::Publisher;
pub use feed::{Feed, QUEUE, WatchScope};
pub use stream::Watch;

#[cfg(test)]
mod tests;
