//! The Redis store: each entry a plain Redis string under the store's
//! prefix, listed through a sorted set.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{RedisError, Value};

use super::database::RedisDatabase;
use super::listen::Listener;
use super::{publish, scripts};
use crate::backend::clock::SharedClock;
use crate::backend::{Condition, Expiry, Op, Store, StoreInfo, Versioned, expiry};
use crate::error::{Error, Result};
use crate::watch::Feed;

/// Members of the listing index looked at per cleanup script run.
const CLEANUP_BATCH: usize = 1000;
/// Keys deleted per `clear` round trip.
const CLEAR_BATCH: usize = 1000;

/// A store whose entries live in a Redis database under a key prefix.
///
/// - An entry is the Redis string `<prefix><key>`, set with `SET` (and an
///   absolute `PXAT` expiry from the host's clock): any Redis client reads it
///   with `GET <prefix><key>`, and Redis expires it itself.
/// - Keys written through kvhost are also members of a sorted set,
///   `<prefix>\0keys` (a key never holds NUL), scored 0 so that `ZRANGEBYLEX`
///   lists them in byte order: the index that `list-keys` pages through. A
///   write costs one more command (`ZADD`) in the same round trip.
/// - Versions are a hash of the value (the first 64 bits of its SHA-1,
///   computed by the server in the scripts), so they hold whoever wrote the
///   value; `info().versioned` is false.
/// - Conditional puts, increments and deletes are Lua scripts, atomic across
///   every host that shares the store.
/// - Every write publishes its change with `PUBLISH` in the same transaction
///   or script, so watchers on every host that shares the store see it, in
///   the order the server ran the writes ([`crate::watch::WatchScope::Shared`]).
///   The channel is `<prefix>__kvhost_watch:<database>` ([`RedisStore::channel`]);
///   a message is `s<key>\0<value>` for a set and `d<key>` for a delete
///   (the key without the prefix). An entry that Redis expires by itself is
///   reported when kvhost next finds it gone from the listing index (cleanup,
///   a listing, a delete), not when Redis drops it.
pub struct RedisStore {
    db: Arc<RedisDatabase>,
    prefix: String,
    index: String,
    /// The pub/sub channel the store's changes are published on.
    channel: String,
    clock: SharedClock,
    info: StoreInfo,
    feed: Feed,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore").field("id", &self.info.id).field("prefix", &self.prefix).finish()
    }
}

/// The version of a value in a Redis store: the first 64 bits of its SHA-1,
/// as the scripts compute it with `redis.sha1hex`.
pub fn redis_version(value: &[u8]) -> u64 {
    let digest = sha1_smol::Sha1::from(value).digest().bytes();
    u64::from_be_bytes(digest[..8].try_into().expect("a SHA-1 digest is 20 bytes"))
}

impl RedisStore {
    /// Open store `id` on `db` with its keys under `prefix`.
    pub async fn open(id: &str, db: Arc<RedisDatabase>, prefix: &str, clock: SharedClock) -> anyhow::Result<Self> {
        super::config::check_prefix(prefix).map_err(|e| anyhow::anyhow!("{} {prefix:?} {}", e.field, e.message))?;
        let info = StoreInfo { id: id.to_owned(), backend: "redis", durable: db.durable(), versioned: false };
        let channel = publish::channel(prefix, db.database);
        let listener = Listener {
            store: id.to_owned(),
            client: db.client.clone(),
            channel: channel.clone(),
            timeout: db.query_timeout.0,
        };
        let runtime = db.runtime.clone();
        let feed = Feed::shared(move |publisher| listener.spawn(&runtime, publisher));
        let index = format!("{prefix}\0keys");
        let store = Self { prefix: prefix.to_owned(), index, channel, db, clock, info, feed };
        // Load the scripts now, so that a server without scripting says so at start.
        let mut con = store.connection();
        let load = async {
            for script in scripts::all() {
                script.prepare_invoke().load_async(&mut con).await?;
            }
            Ok::<_, RedisError>(())
        };
        let timeout = store.db.query_timeout;
        match tokio::time::timeout(timeout.0, load).await {
            Ok(Ok(())) => Ok(store),
            Ok(Err(e)) => anyhow::bail!("cannot load the store's Lua scripts into {}: {e}", store.db.id()),
            Err(_) => anyhow::bail!(
                "cannot load the store's Lua scripts into {}: no answer within {} (query_timeout)",
                store.db.id(),
                timeout.text()
            ),
        }
    }

    /// The prefix of every key of this store.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The pub/sub channel this store's changes are published on:
    /// `redis-cli SUBSCRIBE <channel>` shows them.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    fn connection(&self) -> ConnectionManager {
        self.db.connection().1
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn now(&self) -> u64 {
        self.clock.now_ms()
    }

    /// The absolute expiry of an entry written now with `ttl`, as `PXAT`
    /// takes it, or `''` for none. Redis takes at most `i64::MAX` ms, so a
    /// later instant (a TTL near `u64::MAX` ms) is clamped to it: some 292
    /// million years, never in practice, as SQL stores keep it.
    fn expires_at(&self, ttl: Option<Duration>) -> String {
        expiry(self.now(), ttl).map(|at| at.min(i64::MAX as u64).to_string()).unwrap_or_default()
    }

    /// Whether an entry with this `PEXPIRETIME` answer is live now.
    fn live(&self, expire_time: i64) -> bool {
        expire_time == -1 || (expire_time >= 0 && expire_time as u64 > self.now())
    }

    fn err(&self, e: RedisError) -> Error {
        map_err(&self.info.id, &self.db.server, e)
    }

    fn op<'a, T: Send + 'a>(&'a self, work: impl Future<Output = redis::RedisResult<T>> + Send + 'a) -> Op<'a, T> {
        self.pending(async move { work.await.map_err(|e| self.err(e)) })
    }

    /// Work polled inside the runtime the connection lives on, bounded by
    /// the database's `query_timeout`: when that passes, the connection the
    /// work was using is replaced.
    fn pending<'a, T: Send + 'a>(&'a self, work: impl Future<Output = Result<T>> + Send + 'a) -> Op<'a, T> {
        let (generation, _) = self.db.connection();
        let db = &self.db;
        Op::pending_on(
            &self.db.runtime,
            db.query_timeout.bound(&self.info.id, &db.server, work, move || db.replace(generation)),
        )
    }

    /// `SET` each pair with one expiry, publish each, and index them, in one
    /// transaction.
    fn write_all<'a>(&'a self, entries: &[(&str, &[u8])], ttl: Option<Duration>) -> Op<'a, ()> {
        let expires_at = self.expires_at(ttl);
        let mut pipe = redis::pipe();
        pipe.atomic();
        for (key, value) in entries {
            let set = pipe.cmd("SET").arg(self.key(key)).arg(*value);
            if !expires_at.is_empty() {
                set.arg("PXAT").arg(&expires_at);
            }
            set.ignore();
            pipe.cmd("PUBLISH").arg(&self.channel).arg(publish::set_message(key, value)).ignore();
        }
        if !entries.is_empty() {
            let zadd = pipe.cmd("ZADD").arg(&self.index);
            for (key, _) in entries {
                zadd.arg(0).arg(*key);
            }
            zadd.ignore();
        }
        let mut con = self.connection();
        self.op(async move { pipe.query_async::<()>(&mut con).await })
    }

    /// Delete every key under the prefix: those written through kvhost and
    /// any another client put there, and the index; each removal is
    /// published by the script that makes it.
    async fn clear_all(&self) -> redis::RedisResult<()> {
        let mut con = self.connection();
        let pattern = format!("{}*", glob_escape(&self.prefix));
        let mut cursor = 0u64;
        loop {
            let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(CLEAR_BATCH)
                .query_async(&mut con)
                .await?;
            if !keys.is_empty() {
                let mut clear = scripts::CLEAR.prepare_invoke();
                clear.key(keys).arg(self.now()).arg(&self.channel).arg(&self.prefix);
                clear.invoke_async::<()>(&mut con).await?;
            }
            if next == 0 {
                return Ok(());
            }
            cursor = next;
        }
    }

    async fn remove_expired_all(&self) -> redis::RedisResult<u64> {
        let mut con = self.connection();
        let (now, mut min, mut total) = (self.now(), "-".to_owned(), 0u64);
        loop {
            let (removed, last, seen): (u64, String, usize) = scripts::CLEANUP
                .key(&self.index)
                .arg(now)
                .arg(&self.channel)
                .arg(&self.prefix)
                .arg(&min)
                .arg(CLEANUP_BATCH)
                .invoke_async(&mut con)
                .await?;
            total += removed;
            if seen < CLEANUP_BATCH {
                return Ok(total);
            }
            min = format!("({last}");
        }
    }
}

/// `text` with the glob characters of `SCAN MATCH` escaped, so that it
/// matches only itself.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The `ZRANGEBYLEX` bounds of the members starting with `prefix` and
/// greater than `after`, as bytes: a bound need not be UTF-8.
fn lex_range(prefix: &str, after: Option<&str>) -> (Vec<u8>, Vec<u8>) {
    let bound = |open: u8, text: &[u8]| [&[open][..], text].concat();
    let min = match after {
        Some(after) if after >= prefix => bound(b'(', after.as_bytes()),
        _ => bound(b'[', prefix.as_bytes()),
    };
    // Just past every string with the prefix: the prefix with its last
    // byte incremented (dropping trailing 0xff bytes), or the very end.
    let mut past = prefix.as_bytes().to_vec();
    while past.last() == Some(&0xff) {
        past.pop();
    }
    let max = match past.last_mut() {
        Some(last) => {
            *last += 1;
            bound(b'(', &past)
        }
        None => b"+".to_vec(),
    };
    (min, max)
}

/// Map a driver error to what a guest may see: trouble reaching the server
/// is `unavailable` (retry later); anything else names the store and its
/// database before the server's own words.
fn map_err(store: &str, server: &str, e: RedisError) -> Error {
    let busy = matches!(e.code(), Some("LOADING" | "BUSY" | "TRYAGAIN" | "MASTERDOWN" | "READONLY"));
    if busy || e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_connection_refusal() {
        Error::unavailable(format!("{store}: cannot reach {server}: {e}"), e)
    } else {
        Error::other(format!("{store}: {server} refused the operation: {e}"), e)
    }
}

impl Store for RedisStore {
    fn info(&self) -> &StoreInfo {
        &self.info
    }

    fn get<'a>(&'a self, key: &'a str) -> Op<'a, Option<Vec<u8>>> {
        let key = self.key(key);
        let mut con = self.connection();
        self.op(async move {
            let (value, expire_time): (Option<Vec<u8>>, i64) =
                redis::pipe().cmd("GET").arg(&key).cmd("PEXPIRETIME").arg(&key).query_async(&mut con).await?;
            Ok(value.filter(|_| self.live(expire_time)))
        })
    }

    fn set<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Option<Duration>) -> Op<'a, ()> {
        self.write_all(&[(key, value.as_slice())], ttl)
    }

    fn delete<'a>(&'a self, key: &'a str) -> Op<'a, bool> {
        let mut con = self.connection();
        self.op(async move {
            let n: i64 = scripts::DELETE
                .key(self.key(key))
                .key(&self.index)
                .arg(self.now())
                .arg(&self.channel)
                .arg(&self.prefix)
                .arg(key)
                .invoke_async(&mut con)
                .await?;
            Ok(n == 1)
        })
    }

    fn exists<'a>(&'a self, key: &'a str) -> Op<'a, bool> {
        let key = self.key(key);
        let mut con = self.connection();
        self.op(async move {
            let expire_time: i64 = redis::cmd("PEXPIRETIME").arg(&key).query_async(&mut con).await?;
            Ok(self.live(expire_time))
        })
    }

    fn clear(&self) -> Op<'_, ()> {
        self.op(self.clear_all())
    }

    fn remove_expired(&self) -> Op<'_, u64> {
        self.op(self.remove_expired_all())
    }

    fn list<'a>(&'a self, prefix: &'a str, after: Option<&'a str>, limit: usize) -> Op<'a, Vec<String>> {
        let (min, max) = lex_range(prefix, after);
        let mut con = self.connection();
        self.op(async move {
            scripts::LIST
                .key(&self.index)
                .arg(self.now())
                .arg(&self.channel)
                .arg(&self.prefix)
                .arg(min)
                .arg(max)
                .arg(limit)
                .invoke_async(&mut con)
                .await
        })
    }

    fn get_entry<'a>(&'a self, key: &'a str) -> Op<'a, Option<Versioned>> {
        self.get(key).map(|value| Ok(value?.map(|value| Versioned { version: redis_version(&value), value })))
    }

    fn expiry<'a>(&'a self, key: &'a str) -> Op<'a, Option<Expiry>> {
        let key = self.key(key);
        let mut con = self.connection();
        self.op(async move {
            // -2: no such key; -1: no expiry; else the PXAT it was set with.
            let expire_time: i64 = redis::cmd("PEXPIRETIME").arg(&key).query_async(&mut con).await?;
            let at = u64::try_from(expire_time).ok();
            Ok(self.live(expire_time).then(|| Expiry::at(at, self.now())))
        })
    }

    fn put<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Option<Duration>, condition: Condition) -> Op<'a, u64> {
        let version = redis_version(&value);
        let expected = match condition {
            Condition::Always => {
                return self.write_all(&[(key, value.as_slice())], ttl).map(move |r| r.map(|()| version));
            }
            Condition::IfAbsent => String::new(),
            Condition::IfVersion(v) => format!("{v:016x}"),
        };
        let expires_at = self.expires_at(ttl);
        let mut con = self.connection();
        self.pending(async move {
            let written: i64 = scripts::PUT_IF
                .key(self.key(key))
                .key(&self.index)
                .arg(self.now())
                .arg(&self.channel)
                .arg(&self.prefix)
                .arg(key)
                .arg(&value)
                .arg(expires_at)
                .arg(expected)
                .invoke_async(&mut con)
                .await
                .map_err(|e| self.err(e))?;
            if written == 1 { Ok(version) } else { Err(condition.conflict(key)) }
        })
    }

    fn increment<'a>(&'a self, key: &'a str, delta: i64) -> Op<'a, i64> {
        let mut con = self.connection();
        self.pending(async move {
            let result: redis::RedisResult<String> = scripts::INCREMENT
                .key(self.key(key))
                .key(&self.index)
                .arg(self.now())
                .arg(&self.channel)
                .arg(&self.prefix)
                .arg(key)
                .arg(delta)
                .invoke_async(&mut con)
                .await;
            match result {
                Ok(text) => text.parse().map_err(|_| {
                    Error::Other(format!("{}: {} answered INCRBY with {text:?}", self.info.id, self.db.server).into())
                }),
                Err(e) if e.to_string().contains("not an integer") => {
                    Err(Error::InvalidArgument(format!("cannot increment {key:?}: its value is not a decimal integer")))
                }
                Err(e) if e.to_string().contains("overflow") => Err(Error::InvalidArgument(format!(
                    "cannot increment {key:?}: adding {delta} overflows a signed 64-bit integer"
                ))),
                Err(e) => Err(self.err(e)),
            }
        })
    }

    fn get_many<'a>(&'a self, keys: &'a [String]) -> Op<'a, Vec<Option<Vec<u8>>>> {
        if keys.is_empty() {
            return Op::ready(Ok(Vec::new()));
        }
        let full: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
        let mut pipe = redis::pipe();
        pipe.cmd("MGET").arg(&full);
        for key in &full {
            pipe.cmd("PEXPIRETIME").arg(key);
        }
        let mut con = self.connection();
        self.op(async move {
            let mut replies: Vec<Value> = pipe.query_async(&mut con).await?;
            let expire_times: Vec<i64> = replies.drain(1..).map(redis::from_redis_value).collect::<Result<_, _>>()?;
            let values: Vec<Option<Vec<u8>>> = redis::from_redis_value(replies.remove(0))?;
            Ok(values.into_iter().zip(expire_times).map(|(v, at)| v.filter(|_| self.live(at))).collect())
        })
    }

    fn set_many<'a>(&'a self, entries: &'a [(String, Vec<u8>)], ttl: Option<Duration>) -> Op<'a, ()> {
        // Of a repeated key the last value wins, as a run of SETs leaves it.
        let pairs: Vec<(&str, &[u8])> = entries.iter().map(|(k, v)| (k.as_str(), v.as_slice())).collect();
        self.write_all(&pairs, ttl)
    }

    fn delete_many<'a>(&'a self, keys: &'a [String]) -> Op<'a, u64> {
        if keys.is_empty() {
            return Op::ready(Ok(0));
        }
        let mut con = self.connection();
        self.op(async move {
            scripts::DELETE_MANY
                .key(&self.index)
                .arg(self.now())
                .arg(&self.channel)
                .arg(&self.prefix)
                .arg(keys)
                .invoke_async(&mut con)
                .await
        })
    }

    fn feed(&self) -> Option<&Feed> {
        Some(&self.feed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_characters_in_a_prefix_match_only_themselves() {
        assert_eq!(glob_escape(r"a*b?c[d]e\f:"), r"a\*b\?c\[d\]e\\f:");
        assert_eq!(glob_escape("plain:"), "plain:");
    }

    #[test]
    fn lex_ranges_cover_exactly_the_prefix() {
        let range = |p, a| {
            let (min, max) = lex_range(p, a);
            (String::from_utf8(min).unwrap(), String::from_utf8(max).unwrap())
        };
        assert_eq!(range("user:", None), ("[user:".to_owned(), "(user;".to_owned()));
        assert_eq!(range("user:", Some("user:5")), ("(user:5".to_owned(), "(user;".to_owned()));
        assert_eq!(range("user:", Some("a")), ("[user:".to_owned(), "(user;".to_owned()));
        assert_eq!(range("", None), ("[".to_owned(), "+".to_owned()));
        // The byte after the prefix's last need not be UTF-8.
        assert_eq!(lex_range("é", None).1, [b'(', 0xc3, 0xaa]);
    }

    #[test]
    fn versions_are_the_first_64_bits_of_the_sha1() {
        // sha1("abc") = a9993e364706816aba3e25717850c26c9cd0d89d
        assert_eq!(redis_version(b"abc"), 0xa9993e364706816a);
    }
}
