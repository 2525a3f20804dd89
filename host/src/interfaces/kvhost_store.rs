//! `kvhost:store`: every operation, TTL included.

use std::time::Duration;

use wasmtime::component::Resource;

use super::bindings::kvhost::store::types;
use super::{KvView, finish};
use crate::access::Bucket;
use crate::backend::Condition;
use crate::error::{Error, Result};

/// A TTL as guests give it (milliseconds, 0 = none) as the host keeps it.
pub(crate) fn ttl_from_ms(ttl_ms: Option<u64>) -> Option<Duration> {
    ttl_ms.filter(|&ms| ms > 0).map(Duration::from_millis)
}

// One set of error and info types, shared by both bindings.
impl types::Host for KvView<'_> {
    fn convert_error(&mut self, err: Error) -> wasmtime::Result<types::Error> {
        Ok(match err {
            Error::NoSuchStore(_) => types::Error::NoSuchStore,
            Error::AccessDenied(_) => types::Error::AccessDenied,
            Error::StoreFull { .. } => types::Error::StoreFull,
            Error::InvalidArgument(m) => types::Error::InvalidArgument(m),
            Error::TooLarge(m) => types::Error::TooLarge(m),
            Error::Conflict(_) => types::Error::Conflict,
            Error::Unavailable(c) => types::Error::Unavailable(c.to_string()),
            Error::Other(c) => types::Error::Other(c.to_string()),
        })
    }
}

fn info(bucket: &Bucket) -> types::Info {
    let (info, limits) = (bucket.info(), bucket.limits());
    types::Info {
        id: info.id.clone(),
        backend: info.backend.to_owned(),
        durable: info.durable,
        ttl: true,
        versioned: info.versioned,
        conditional: true,
        listable: true,
        max_key_bytes: limits.max_key_bytes,
        max_value_bytes: limits.max_value_bytes,
    }
}

fn condition(c: types::Condition) -> Condition {
    match c {
        types::Condition::Always => Condition::Always,
        types::Condition::IfAbsent => Condition::IfAbsent,
        types::Condition::IfVersion(v) => Condition::IfVersion(v),
    }
}

/// The host side of `kvhost:store/store` for the bindings `$b`, finishing
/// operations `$finish`ed (see [`finish`]), with functions `$async` or not.
macro_rules! kvhost_store {
    ($b:path, $finish:ident $(, $async:tt)?) => {
        use $b as b;

        impl b::kvhost::store::store::Host for KvView<'_> {
            fn open(&mut self, identifier: String) -> Result<Resource<Bucket>> {
                KvView::open(self, &identifier)
            }
        }

        impl b::kvhost::store::store::HostBucket for KvView<'_> {
            $($async)? fn get(&mut self, b: Resource<Bucket>, key: String) -> Result<Option<Vec<u8>>> {
                finish!($finish, self.bucket(&b)?.get(&key))
            }

            $($async)? fn set(&mut self, b: Resource<Bucket>, key: String, value: Vec<u8>, ttl_ms: Option<u64>) -> Result<()> {
                finish!($finish, self.bucket(&b)?.set(&key, value, ttl_from_ms(ttl_ms)))
            }

            $($async)? fn delete(&mut self, b: Resource<Bucket>, key: String) -> Result<bool> {
                finish!($finish, self.bucket(&b)?.delete(&key))
            }

            $($async)? fn exists(&mut self, b: Resource<Bucket>, key: String) -> Result<bool> {
                finish!($finish, self.bucket(&b)?.exists(&key))
            }

            $($async)? fn clear(&mut self, b: Resource<Bucket>) -> Result<()> {
                finish!($finish, self.bucket(&b)?.clear())
            }

            fn info(&mut self, b: Resource<Bucket>) -> wasmtime::Result<types::Info> {
                Ok(info(self.bucket(&b)?))
            }

            $($async)? fn list_keys(
                &mut self,
                b: Resource<Bucket>,
                prefix: String,
                cursor: Option<String>,
                limit: u32,
            ) -> Result<types::KeyPage> {
                let page = finish!($finish, self.bucket(&b)?.list(&prefix, cursor.as_deref(), limit))?;
                Ok(types::KeyPage { keys: page.keys, cursor: page.cursor })
            }

            $($async)? fn get_entry(&mut self, b: Resource<Bucket>, key: String) -> Result<Option<types::Entry>> {
                let entry = finish!($finish, self.bucket(&b)?.get_entry(&key))?;
                Ok(entry.map(|e| types::Entry { value: e.value, version: e.version }))
            }

            $($async)? fn put(
                &mut self,
                b: Resource<Bucket>,
                key: String,
                value: Vec<u8>,
                ttl_ms: Option<u64>,
                cond: types::Condition,
            ) -> Result<u64> {
                finish!($finish, self.bucket(&b)?.put(&key, value, ttl_from_ms(ttl_ms), condition(cond)))
            }

            $($async)? fn increment(&mut self, b: Resource<Bucket>, key: String, delta: i64) -> Result<i64> {
                finish!($finish, self.bucket(&b)?.increment(&key, delta))
            }

            $($async)? fn get_many(&mut self, b: Resource<Bucket>, keys: Vec<String>) -> Result<Vec<Option<Vec<u8>>>> {
                finish!($finish, self.bucket(&b)?.get_many(&keys))
            }

            $($async)? fn set_many(
                &mut self,
                b: Resource<Bucket>,
                entries: Vec<(String, Vec<u8>)>,
                ttl_ms: Option<u64>,
            ) -> Result<()> {
                finish!($finish, self.bucket(&b)?.set_many(&entries, ttl_from_ms(ttl_ms)))
            }

            $($async)? fn delete_many(&mut self, b: Resource<Bucket>, keys: Vec<String>) -> Result<u32> {
                let n = finish!($finish, self.bucket(&b)?.delete_many(&keys))?;
                Ok(u32::try_from(n).unwrap_or(u32::MAX))
            }

            fn drop(&mut self, b: Resource<Bucket>) -> wasmtime::Result<()> {
                self.table.delete(b)?;
                Ok(())
            }
        }
    };
}

mod awaited {
    use super::*;
    kvhost_store!(super::super::bindings, awaited, async);
}

mod waited {
    use super::*;
    kvhost_store!(super::super::bindings::sync, waited);
}
