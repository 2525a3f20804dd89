use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::access::{Catalog, Grant, KvCtx, Wait};
use crate::backend::{SharedStore, Store};
use crate::memory::MemoryStore;

/// A catalog with one memory store `app:kv` holding a few keys, and a guest
/// context granting it as `grant` says.
fn opened(grant: Grant, limits: Limits) -> (Bucket, SharedStore) {
    let store: SharedStore = Arc::new(MemoryStore::builder("app:kv").max_size(0).build());
    for k in ["user:1", "user:2", "admin:1", "u"] {
        store.set(k, b"v".to_vec(), None).wait().unwrap();
    }
    let catalog = Catalog::new();
    catalog.insert(store.clone(), limits);
    let kv = KvCtx::builder(catalog).grant(grant).build();
    (kv.open("app:kv").unwrap(), store)
}

fn denied<T: std::fmt::Debug>(r: Result<T>) -> String {
    match r {
        Err(Error::AccessDenied(m)) => m,
        other => panic!("expected access-denied, got {other:?}"),
    }
}

fn keys(page: Page) -> Vec<String> {
    page.keys
}

#[test]
fn errors_when_a_key_is_outside_a_prefix_grant_on_every_operation() {
    let (b, inner) = opened(Grant::new("app:kv").prefix("user:"), Limits::default());
    assert_eq!(b.get("user:1").wait().unwrap().as_deref(), Some(&b"v"[..]));
    let m = denied(b.get("admin:1").wait());
    assert!(m.contains("\"admin:1\"") && m.contains("\"user:\""), "{m}");
    denied(b.exists("admin:1").wait());
    denied(b.get_entry("admin:1").wait());
    denied(b.set("admin:1", b"x", None).wait());
    denied(b.delete("admin:1").wait());
    denied(b.put("admin:1", b"x", None, Condition::Always).wait());
    denied(b.increment("admin:2", 1).wait());
    denied(b.get_many(&["user:1".into(), "admin:1".into()]).wait());
    denied(b.set_many(&[("user:3".into(), b"x".to_vec()), ("admin:3".into(), b"x".to_vec())], None).wait());
    denied(b.delete_many(&["user:1".into(), "admin:1".into()]).wait());
    denied(b.clear().wait());
    // Nothing outside the prefix changed, and no batch half-applied.
    assert_eq!(inner.get("admin:1").wait().unwrap().as_deref(), Some(&b"v"[..]));
    assert!(!inner.exists("admin:2").wait().unwrap() && !inner.exists("user:3").wait().unwrap());
    assert!(inner.exists("user:1").wait().unwrap());
}

#[test]
fn lists_only_the_keys_a_prefix_grant_covers() {
    let (b, _) = opened(Grant::new("app:kv").prefix("user:"), Limits::default());
    assert_eq!(keys(b.list("", None, 10).wait().unwrap()), ["user:1", "user:2"]);
    assert_eq!(keys(b.list("us", None, 10).wait().unwrap()), ["user:1", "user:2"]);
    assert_eq!(keys(b.list("user:2", None, 10).wait().unwrap()), ["user:2"]);
    assert!(b.list("admin:", None, 10).wait().unwrap().keys.is_empty());
    let first = b.list("", None, 1).wait().unwrap();
    assert_eq!(first.keys, ["user:1"]);
    assert_eq!(keys(b.list("", first.cursor.as_deref(), 10).wait().unwrap()), ["user:2"]);
}

#[test]
fn writes_inside_a_prefix_grant_go_through() {
    let (b, inner) = opened(Grant::new("app:kv").prefix("user:"), Limits::default());
    b.set("user:9", b"x", None).wait().unwrap();
    assert_eq!(b.increment("user:n", 2).wait().unwrap(), 2);
    assert!(b.delete("user:1").wait().unwrap());
    assert_eq!(b.delete_many(&["user:2".into(), "user:9".into()]).wait().unwrap(), 2);
    assert_eq!(inner.list("", None, 10).wait().unwrap(), ["admin:1", "u", "user:n"]);
}

#[test]
fn errors_on_every_write_under_a_read_only_grant() {
    let (b, inner) = opened(Grant::new("app:kv").read_only(), Limits::default());
    assert!(b.exists("admin:1").wait().unwrap());
    assert_eq!(b.get_many(&["u".into()]).wait().unwrap(), [Some(b"v".to_vec())]);
    assert_eq!(b.list("", None, 10).wait().unwrap().keys.len(), 4);
    let m = denied(b.set("u", b"x", None).wait());
    assert!(m.contains("read-only") && m.contains("app:kv"), "{m}");
    denied(b.delete("u").wait());
    denied(b.clear().wait());
    denied(b.put("u", b"x", None, Condition::IfAbsent).wait());
    denied(b.increment("n", 1).wait());
    denied(b.set_many(&[("u".into(), b"x".to_vec())], None).wait());
    denied(b.delete_many(&["u".into()]).wait());
    assert_eq!(inner.list("", None, 10).wait().unwrap().len(), 4);
}

#[test]
fn checks_limits_before_the_grant() {
    let (b, _) = opened(Grant::new("app:kv").prefix("user:").read_only(), Limits::default());
    let long = "k".repeat(256);
    assert!(matches!(b.get(&long).wait(), Err(Error::InvalidArgument(m)) if m.contains("max_key_bytes")));
    assert!(matches!(b.set("", b"x", None).wait(), Err(Error::InvalidArgument(_))));
    assert!(matches!(b.set("user:1", vec![0; (1 << 20) + 1], None).wait(), Err(Error::TooLarge(_))));
}

#[test]
fn holds_an_embedders_calls_to_the_stores_limits() {
    let limits = Limits { max_key_bytes: 8, max_value_bytes: 4, max_result_bytes: 12, ..Limits::default() };
    let (b, inner) = opened(Grant::new("app:kv"), limits);
    assert!(matches!(b.set("too-long-key", b"v", None).wait(), Err(Error::InvalidArgument(_))));
    assert!(matches!(b.set("k", b"12345", None).wait(), Err(Error::TooLarge(m)) if m.contains("max_value_bytes")));
    assert!(matches!(b.put("k", b"12345", None, Condition::Always).wait(), Err(Error::TooLarge(_))));
    let batch: Vec<(String, Vec<u8>)> = (0..3).map(|i| (format!("b{i}"), b"1234".to_vec())).collect();
    assert!(matches!(b.set_many(&batch, None).wait(), Err(Error::TooLarge(m)) if m.contains("set-many")));
    assert!(!inner.exists("b0").wait().unwrap(), "a refused batch writes nothing");
    b.set_many(&batch[..2], None).wait().unwrap();
    let all: Vec<String> = ["b0", "b1", "b0", "u"].map(String::from).into();
    assert!(matches!(b.get_many(&all).wait(), Err(Error::TooLarge(m)) if m.contains("get-many")));
}

#[test]
fn ends_a_list_page_early_rather_than_pass_max_result_bytes() {
    let limits = Limits { max_key_bytes: 6, max_result_bytes: 12, ..Limits::default() };
    let (b, _) = opened(Grant::new("app:kv"), limits);
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = b.list("", cursor.as_deref(), 100).wait().unwrap();
        assert!(page.keys.iter().map(String::len).sum::<usize>() <= 12, "{page:?}");
        seen.extend(page.keys);
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, ["admin:1", "u", "user:1", "user:2"]);
}

#[test]
fn refuses_a_cursor_another_store_issued() {
    let (b, _) = opened(Grant::new("app:kv"), Limits::default());
    let foreign = crate::access::cursor::encode("app:other", "u");
    assert!(matches!(b.list("", Some(&foreign), 10).wait(), Err(Error::InvalidArgument(_))));
}

/// A store whose reads wait until the test lets them through.
struct Held {
    inner: MemoryStore,
    release: tokio::sync::Semaphore,
}

impl Store for Held {
    fn info(&self) -> &StoreInfo {
        self.inner.info()
    }
    fn get<'a>(&'a self, key: &'a str) -> Op<'a, Option<Vec<u8>>> {
        Op::pending(async move {
            self.release.acquire().await.expect("open").forget();
            Store::get(&self.inner, key).await
        })
    }
    fn set<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Option<Duration>) -> Op<'a, ()> {
        Store::set(&self.inner, key, value, ttl)
    }
    fn delete<'a>(&'a self, key: &'a str) -> Op<'a, bool> {
        Store::delete(&self.inner, key)
    }
    fn exists<'a>(&'a self, key: &'a str) -> Op<'a, bool> {
        Store::exists(&self.inner, key)
    }
    fn clear(&self) -> Op<'_, ()> {
        Store::clear(&self.inner)
    }
    fn remove_expired(&self) -> Op<'_, u64> {
        Store::remove_expired(&self.inner)
    }
    fn list<'a>(&'a self, prefix: &'a str, after: Option<&'a str>, limit: usize) -> Op<'a, Vec<String>> {
        Store::list(&self.inner, prefix, after, limit)
    }
    fn get_entry<'a>(&'a self, key: &'a str) -> Op<'a, Option<Versioned>> {
        Store::get_entry(&self.inner, key)
    }
    fn put<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Option<Duration>, c: Condition) -> Op<'a, u64> {
        Store::put(&self.inner, key, value, ttl, c)
    }
    fn increment<'a>(&'a self, key: &'a str, delta: i64) -> Op<'a, i64> {
        Store::increment(&self.inner, key, delta)
    }
    fn get_many<'a>(&'a self, keys: &'a [String]) -> Op<'a, Vec<Option<Vec<u8>>>> {
        Store::get_many(&self.inner, keys)
    }
    fn set_many<'a>(&'a self, entries: &'a [(String, Vec<u8>)], ttl: Option<Duration>) -> Op<'a, ()> {
        Store::set_many(&self.inner, entries, ttl)
    }
    fn delete_many<'a>(&'a self, keys: &'a [String]) -> Op<'a, u64> {
        Store::delete_many(&self.inner, keys)
    }
}

#[test]
fn waits_for_a_permit_then_errors_naming_the_limit() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let held =
            Arc::new(Held { inner: MemoryStore::builder("app:kv").build(), release: tokio::sync::Semaphore::new(0) });
        let catalog = Catalog::new();
        let limits =
            Limits { max_concurrency: 1, max_concurrency_wait: Duration::from_millis(200), ..Limits::default() };
        catalog.insert(held.clone(), limits);
        let kv = KvCtx::builder(catalog).allow("app:kv").build();
        let (first, second) = (kv.open("app:kv").unwrap(), kv.open("app:kv").unwrap());
        let holder = tokio::spawn(async move { first.get("k").await });
        tokio::task::yield_now().await;
        match second.set("k", b"v", None).await {
            Err(Error::Unavailable(m)) => {
                let m = m.message();
                assert!(m.contains("max_concurrency") && m.contains("app:kv") && m.contains("200ms"), "{m}")
            }
            other => panic!("expected unavailable, got {other:?}"),
        }
        assert!(!held.inner.exists("k").unwrap(), "a refused write does not happen");
        // A permit freed while an operation waits is taken by it.
        let waiting = tokio::spawn(async move { second.set("k", b"v", None).await });
        tokio::task::yield_now().await;
        held.release.add_permits(1);
        holder.await.unwrap().unwrap();
        waiting.await.unwrap().unwrap();
        assert!(held.inner.exists("k").unwrap());
    });
}

/// One span's fields, by name, in the order they were recorded.
type Recorded = Vec<(String, String)>;

/// Every `kv` span's fields, as a subscriber records them.
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<Recorded>>>);

impl<S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>> tracing_subscriber::Layer<S>
    for Spans
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let mut fields = Fields(vec![("#".into(), id.into_u64().to_string())]);
        attrs.record(&mut fields);
        self.0.lock().unwrap().push(fields.0);
    }

    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let mut spans = self.0.lock().unwrap();
        let span = spans.iter_mut().find(|s| s[0].1 == id.into_u64().to_string()).expect("known span");
        let mut fields = Fields(Vec::new());
        values.record(&mut fields);
        span.extend(fields.0);
    }
}

struct Fields(Vec<(String, String)>);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }
}

#[test]
fn traces_each_operation_with_store_op_key_length_outcome_and_duration() {
    use tracing_subscriber::layer::SubscriberExt as _;
    let spans = Spans::default();
    let subscriber =
        tracing_subscriber::registry().with(tracing_subscriber::filter::LevelFilter::DEBUG).with(spans.clone());
    tracing::subscriber::with_default(subscriber, || {
        let (b, _) = opened(Grant::new("app:kv").read_only(), Limits::default());
        b.get("user:1").wait().unwrap();
        b.set("user:1", b"x", None).wait().unwrap_err();
    });
    let spans = spans.0.lock().unwrap();
    let field = |span: &[(String, String)], name: &str| {
        span.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or_else(|| panic!("no {name} in {span:?}"))
    };
    assert_eq!(spans.len(), 2, "{spans:?}");
    for (span, op, outcome) in [(&spans[0], "get", "ok"), (&spans[1], "set", "access-denied")] {
        assert_eq!(field(span, "store"), "app:kv");
        assert_eq!(field(span, "op"), op);
        assert_eq!(field(span, "key_len"), "6");
        assert_eq!(field(span, "outcome"), outcome);
        field(span, "duration_us").parse::<u64>().unwrap();
    }
}
