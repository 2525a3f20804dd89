//! How a Redis store's changes travel between kvhost hosts: the channel and
//! the message format.
//!
//! Each write publishes its change with `PUBLISH` in the same `MULTI`
//! transaction or Lua script that makes it, so the server delivers the
//! changes of every host to every subscriber in the order it ran the writes
//! (per key, and overall). Nothing is configured on the server: keyspace
//! notifications (`notify-keyspace-events`) are not used, as they need
//! server configuration and carry no value.
//!
//! Channel: `<key_prefix>__kvhost_watch:<database>`, e.g.
//! `app:kv:__kvhost_watch:0`. Redis pub/sub channels are shared by every
//! logical database of a server, hence the database index in the name; the
//! prefix comes first so that an ACL that grants a user `&<key_prefix>*`
//! covers it. Distinct (prefix, database) pairs give distinct channels (the
//! name ends in digits after the last `__kvhost_watch:`). Anyone may watch
//! with `redis-cli SUBSCRIBE app:kv:__kvhost_watch:0`.
//!
//! Message (binary-safe, the key is the store's key, without the prefix):
//! - `s<key>\0<value>`: `key` now holds `value` (a key never holds NUL; the
//!   value is raw bytes to the end of the message);
//! - `d<key>`: `key` was removed.
//!
//! What is published: set, put, increment, set-many (one message per key,
//! in the transaction's order), delete and delete-many (for each entry that
//! was there), clear (for each key it unlinks), and an entry that kvhost
//! finds expired by the host's clock and deletes (in any script that looks at
//! it, cleanup included). An entry that Redis expires (or evicts) by itself
//! cannot be published at that moment: no kvhost command runs then, and
//! only keyspace notifications would tell. It is reported when kvhost next
//! finds its key gone while it is still in the store's listing index: by
//! the store's cleanup (set `cleanup_interval` on the `store.redis` entry;
//! it is off by default), a listing, or a delete of that key. Each such key
//! is reported once, by whichever host removes it from the index.
//!
//! Cost: every write sends its change, whether or not anyone listens
//! (another host may). On the server a `PUBLISH` without subscribers is a
//! hash lookup: 0.23 µs per call by `INFO commandstats` on this machine,
//! against 1.05 µs for a `SET` and 2.84 µs for the whole `EXEC`. On the
//! wire the value travels twice in a `set` (in the `SET` and in the
//! message), which shows with large values only. Sequential `set`s from one
//! client on loopback (Redis 7.0, 2 shared cores, median of 25 interleaved
//! rounds of 1000, two runs): 100-byte values 47.1 / 51.6 µs without the
//! `PUBLISH` and 48.7 / 49.2 µs with it (within the noise); 10 KiB values
//! 46.9 / 46.0 µs without and 59.7 / 53.2 µs with it (+7 to +13 µs).
//! A subscriber that reads too slowly is disconnected by the server when
//! its output buffer passes `client-output-buffer-limit pubsub` (32 MB, or
//! 8 MB for 60 s, by default): kvhost's listener then reports the loss to
//! its watchers and resubscribes, as for any lost connection.
//!
//! Compared with wasmCloud's Redis keyvalue provider
//! (`crates/provider-keyvalue-redis/src/lib.rs`, as of wasmCloud commit
//! 8b5699837, January 2026; the provider has since left the tree, and the
//! newer `wash-runtime` Redis keyvalue plugin has no watcher): it requires
//! the operator to
//! enable keyspace notifications (`CONFIG SET notify-keyspace-events K$g`),
//! `PSUBSCRIBE`s `__keyspace@0__:<key>` for exact keys in database 0 only,
//! reads the value of a `set` event with a separate `GET` afterwards (so it
//! may report a later value, or nothing if the key is gone by then, and
//! misses `incrby` and expiry events), takes the last `:`-separated part of
//! the channel as the key (so `user:1` is never matched), reports bucket
//! `"0"`, calls its
//! watchers one event at a time, and ends its listener silently when the
//! connection drops. kvhost needs no server configuration, carries the value
//! in the message (exactly what was written, in order), watches prefixes in
//! any database, reports every write path, and resubscribes after a lost
//! connection, telling watchers what they may have missed
//! ([`crate::watch::Event::Missed`] with no count).

/// The channel of the store with keys under `prefix` in logical database
/// `database`.
pub(super) fn channel(prefix: &str, database: u32) -> String {
    format!("{prefix}__kvhost_watch:{database}")
}

/// The message that says `key` now holds `value`.
pub(super) fn set_message(key: &str, value: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(2 + key.len() + value.len());
    message.push(b's');
    message.extend_from_slice(key.as_bytes());
    message.push(0);
    message.extend_from_slice(value);
    message
}

/// A change as a message carries it.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Message<'a> {
    Set { key: &'a str, value: &'a [u8] },
    Delete { key: &'a str },
}

/// Read a message; `None` if it is not one of kvhost's (or its key is not
/// UTF-8: a key another client put under the prefix, which no kvhost watcher
/// can be given).
pub(super) fn parse(message: &[u8]) -> Option<Message<'_>> {
    let (&op, rest) = message.split_first()?;
    match op {
        b's' => {
            let nul = rest.iter().position(|&b| b == 0)?;
            let key = std::str::from_utf8(&rest[..nul]).ok().filter(|k| !k.is_empty())?;
            Some(Message::Set { key, value: &rest[nul + 1..] })
        }
        b'd' => Some(Message::Delete { key: std::str::from_utf8(rest).ok().filter(|k| !k.is_empty())? }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_message_carries_any_bytes_after_the_key() {
        let message = set_message("user:1", b"\0\xffAda\0");
        assert_eq!(message, b"suser:1\0\0\xffAda\0");
        assert_eq!(parse(&message), Some(Message::Set { key: "user:1", value: b"\0\xffAda\0" }));
        assert_eq!(parse(b"sk\0"), Some(Message::Set { key: "k", value: b"" }));
    }

    #[test]
    fn a_delete_message_is_the_key() {
        assert_eq!(parse(b"duser:1"), Some(Message::Delete { key: "user:1" }));
    }

    #[test]
    fn anything_else_is_not_a_message() {
        for junk in [&b""[..], b"x", b"s", b"skey-without-nul", b"d", b"d\xff", b"s\xff\0v", b"s\0v"] {
            assert_eq!(parse(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn channels_name_the_prefix_and_the_database() {
        assert_eq!(channel("app:kv:", 0), "app:kv:__kvhost_watch:0");
        assert_ne!(channel("app:kv:", 0), channel("app:kv:", 1));
    }
}
