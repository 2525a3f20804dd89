//! `wasi:keyvalue@0.2.0-draft2` (Spin's): store, atomics with CAS, batch.

use wasmtime::component::Resource;

use super::{Cas, KvView, finish, wasi_error};
use crate::access::Bucket;
use crate::backend::Condition;
use crate::error::{Error, Result};

/// The host side of draft2 for the bindings `$b`; see `kvhost_store!`.
macro_rules! wasi_draft2 {
    ($b:path, $finish:ident $(, $async:tt)?) => {
        use $b as b;
        use b::wasi::keyvalue0_2_0_draft2::{atomics, batch, store};

        fn wasi_error(err: Error) -> store::Error {
            wasi_error!(store, err)
        }

        impl store::Host for KvView<'_> {
            fn open(&mut self, identifier: String) -> Result<Resource<Bucket>> {
                KvView::open(self, &identifier)
            }

            fn convert_error(&mut self, err: Error) -> wasmtime::Result<store::Error> {
                Ok(wasi_error(err))
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

            $($async)? fn list_keys(&mut self, b: Resource<Bucket>, cursor: Option<String>) -> Result<store::KeyResponse> {
                let page = finish!($finish, self.bucket(&b)?.list("", cursor.as_deref(), 0))?;
                Ok(store::KeyResponse { keys: page.keys, cursor: page.cursor })
            }

            fn drop(&mut self, b: Resource<Bucket>) -> wasmtime::Result<()> {
                self.table.delete(b)?;
                Ok(())
            }
        }

        impl atomics::HostCas for KvView<'_> {
            $($async)? fn new(&mut self, b: Resource<Bucket>, key: String) -> Result<Resource<Cas>> {
                let bucket = self.bucket(&b)?.clone();
                let current = finish!($finish, bucket.get_entry(&key))?;
                self.table
                    .push(Cas { bucket, key, current })
                    .map_err(|e| Error::Other(format!("too many CAS handles: {e}").into()))
            }

            fn current(&mut self, cas: Resource<Cas>) -> Result<Option<Vec<u8>>> {
                let cas = self.table.get(&cas).map_err(|e| Error::Other(format!("bad CAS handle: {e}").into()))?;
                Ok(cas.current.as_ref().map(|v| v.value.clone()))
            }

            fn drop(&mut self, cas: Resource<Cas>) -> wasmtime::Result<()> {
                self.table.delete(cas)?;
                Ok(())
            }
        }

        impl atomics::Host for KvView<'_> {
            $($async)? fn increment(&mut self, b: Resource<Bucket>, key: String, delta: i64) -> Result<i64> {
                finish!($finish, self.bucket(&b)?.increment(&key, delta))
            }

            /// Write `value` if the key still has the version `cas` read;
            /// otherwise `cas-failed` with a fresh handle holding the current
            /// value, to retry.
            $($async)? fn swap(
                &mut self,
                cas: Resource<Cas>,
                value: Vec<u8>,
            ) -> wasmtime::Result<Result<(), atomics::CasError>> {
                let Cas { bucket, key, current } = self.table.delete(cas)?;
                let condition = current.map_or(Condition::IfAbsent, |c| Condition::IfVersion(c.version));
                Ok(match finish!($finish, bucket.put(&key, value, None, condition)) {
                    Ok(_) => Ok(()),
                    Err(Error::Conflict(_)) => match finish!($finish, bucket.get_entry(&key)) {
                        Ok(current) => {
                            let fresh = self.table.push(Cas { bucket, key, current })?;
                            Err(atomics::CasError::CasFailed(fresh))
                        }
                        Err(e) => Err(atomics::CasError::StoreError(wasi_error(e))),
                    },
                    Err(e) => Err(atomics::CasError::StoreError(wasi_error(e))),
                })
            }
        }

        impl batch::Host for KvView<'_> {
            $($async)? fn get_many(
                &mut self,
                b: Resource<Bucket>,
                keys: Vec<String>,
            ) -> Result<Vec<(String, Option<Vec<u8>>)>> {
                let values = finish!($finish, self.bucket(&b)?.get_many(&keys))?;
                Ok(keys.into_iter().zip(values).collect())
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
    wasi_draft2!(super::super::bindings, awaited, async);
}

mod waited {
    use super::*;
    wasi_draft2!(super::super::bindings::sync, waited);
}
