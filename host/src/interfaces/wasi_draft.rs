//! `wasi:keyvalue@0.2.0-draft` (wasmtime's `-S keyvalue`): store, atomics, batch.
//!
//! This draft's cursors are numbers: each bucket handle numbers the cursors it
//! issues and accepts only the last ones it issued.

use wasmtime::component::Resource;

use super::{KvView, finish, wasi_error};
use crate::access::Bucket;
use crate::error::{Error, Result};

/// The host side of the draft for the bindings `$b`; see `kvhost_store!`.
macro_rules! wasi_draft {
    ($b:path, $finish:ident $(, $async:tt)?) => {
        use $b as b;
        use b::wasi::keyvalue0_2_0_draft::{atomics, batch, store};

        impl store::Host for KvView<'_> {
            fn open(&mut self, identifier: String) -> Result<Resource<Bucket>> {
                KvView::open(self, &identifier)
            }

            fn convert_error(&mut self, err: Error) -> wasmtime::Result<store::Error> {
                Ok(wasi_error!(store, err))
            }
        }

        impl store::HostBucket for KvView<'_> {
            $($async)? fn get(&mut self, b: Resource<Bucket>, key: String) -> Result<Option<Vec<u8>>> {
                finish!($finish, self.bucket(&b)?.get(&key))
            }

            $($async)? fn set(&mut self, b: Resource<Bucket>, key: String, value: Vec<u8>) -> Result<()> {
                finish!($finish, self.bucket(&b)?.set(&key, value, None))
            }

            $($async)? fn delete(&mut self, b: Resource<Bucket>, key: String) -> Result<()> {
                finish!($finish, self.bucket(&b)?.delete(&key)).map(drop)
            }

            $($async)? fn exists(&mut self, b: Resource<Bucket>, key: String) -> Result<bool> {
                finish!($finish, self.bucket(&b)?.exists(&key))
            }

            $($async)? fn list_keys(&mut self, b: Resource<Bucket>, cursor: Option<u64>) -> Result<store::KeyResponse> {
                let bucket = self.bucket_mut(&b)?;
                let after = cursor.map(|n| bucket.numbered.resolve(n).map(str::to_owned)).transpose()?;
                let page = finish!($finish, bucket.list("", after.as_deref(), 0))?;
                let cursor = page.cursor.map(|c| bucket.numbered.issue(c));
                Ok(store::KeyResponse { keys: page.keys, cursor })
            }

            fn drop(&mut self, b: Resource<Bucket>) -> wasmtime::Result<()> {
                self.table.delete(b)?;
                Ok(())
            }
        }

        impl atomics::Host for KvView<'_> {
            $($async)? fn increment(&mut self, b: Resource<Bucket>, key: String, delta: u64) -> Result<u64> {
                let delta = i64::try_from(delta)
                    .map_err(|_| Error::InvalidArgument(format!("increment delta {delta} is over {}", i64::MAX)))?;
                let n = finish!($finish, self.bucket(&b)?.increment(&key, delta))?;
                u64::try_from(n).map_err(|_| {
                    Error::InvalidArgument(format!("{key:?} is {n}, which this draft's u64 cannot return"))
                })
            }
        }

        impl batch::Host for KvView<'_> {
            $($async)? fn get_many(
                &mut self,
                b: Resource<Bucket>,
                keys: Vec<String>,
            ) -> Result<Vec<Option<(String, Vec<u8>)>>> {
                let values = finish!($finish, self.bucket(&b)?.get_many(&keys))?;
                Ok(keys.into_iter().zip(values).map(|(k, v)| v.map(|v| (k, v))).collect())
            }

            $($async)? fn set_many(&mut self, b: Resource<Bucket>, key_values: Vec<(String, Vec<u8>)>) -> Result<()> {
                finish!($finish, self.bucket(&b)?.set_many(&key_values, None))
            }

            $($async)? fn delete_many(&mut self, b: Resource<Bucket>, keys: Vec<String>) -> Result<()> {
                finish!($finish, self.bucket(&b)?.delete_many(&keys)).map(drop)
            }
        }
    };
}

mod awaited {
    use super::*;
    wasi_draft!(super::super::bindings, awaited, async);
}

mod waited {
    use super::*;
    wasi_draft!(super::super::bindings::sync, waited);
}
