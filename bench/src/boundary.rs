//! Measure 1b: the same guest calling host functions of the same signatures
//! that do nothing: the cost of the component boundary alone, for a sync
//! host function and for an async one (`func_wrap_async`).

use kvhost_tests::Linking;
use wasmtime::component::{HasSelf, Linker, Resource, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

mod null {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "kvhost:store/guest",
        imports: { default: trappable },
        with: { "kvhost:store/store.bucket": super::NullBucket },
    });

    /// The same, with `get` and `set` async as kvhost's async linker has them.
    pub mod async_io {
        wasmtime::component::bindgen!({
            path: "../wit",
            world: "kvhost:store/guest",
            imports: {
                "kvhost:store/store.[method]bucket.get": async | trappable,
                "kvhost:store/store.[method]bucket.set": async | trappable,
                default: trappable,
            },
            with: {
                "kvhost:store/types": super::kvhost::store::types,
                "kvhost:store/store.bucket": super::super::NullBucket,
            },
        });
    }
}

use null::kvhost::store::types;

pub struct NullBucket;

struct State {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

type R<T> = wasmtime::Result<Result<T, types::Error>>;
const VALUE: [u8; 100] = [7; 100];

impl types::Host for State {}

/// Do-nothing host functions of `kvhost:store/store` in the bindings `$b`.
macro_rules! null_store {
    ($b:path $(, $async:tt)?) => {
        use $b as b;

        impl b::kvhost::store::store::Host for State {
            fn open(&mut self, _: String) -> R<Resource<NullBucket>> {
                Ok(Ok(Resource::new_own(0)))
            }
        }

        impl b::kvhost::store::store::HostBucket for State {
            $($async)? fn get(&mut self, _: Resource<NullBucket>, _: String) -> R<Option<Vec<u8>>> {
                Ok(Ok(Some(VALUE.to_vec())))
            }
            $($async)? fn set(&mut self, _: Resource<NullBucket>, _: String, _: Vec<u8>, _: Option<u64>) -> R<()> {
                Ok(Ok(()))
            }
            fn delete(&mut self, _: Resource<NullBucket>, _: String) -> R<bool> {
                Ok(Ok(false))
            }
            fn exists(&mut self, _: Resource<NullBucket>, _: String) -> R<bool> {
                Ok(Ok(false))
            }
            fn clear(&mut self, _: Resource<NullBucket>) -> R<()> {
                Ok(Ok(()))
            }
            fn info(&mut self, _: Resource<NullBucket>) -> wasmtime::Result<types::Info> {
                Ok(types::Info {
                    id: String::new(),
                    backend: String::new(),
                    durable: false,
                    ttl: false,
                    versioned: false,
                    conditional: false,
                    listable: false,
                    max_key_bytes: 255,
                    max_value_bytes: 1 << 20,
                })
            }
            fn list_keys(&mut self, _: Resource<NullBucket>, _: String, _: Option<String>, _: u32) -> R<types::KeyPage> {
                Ok(Ok(types::KeyPage { keys: Vec::new(), cursor: None }))
            }
            fn get_entry(&mut self, _: Resource<NullBucket>, _: String) -> R<Option<types::Entry>> {
                Ok(Ok(None))
            }
            fn put(&mut self, _: Resource<NullBucket>, _: String, _: Vec<u8>, _: Option<u64>, _: types::Condition) -> R<u64> {
                Ok(Ok(0))
            }
            fn increment(&mut self, _: Resource<NullBucket>, _: String, _: i64) -> R<i64> {
                Ok(Ok(0))
            }
            fn get_many(&mut self, _: Resource<NullBucket>, _: Vec<String>) -> R<Vec<Option<Vec<u8>>>> {
                Ok(Ok(Vec::new()))
            }
            fn set_many(&mut self, _: Resource<NullBucket>, _: Vec<(String, Vec<u8>)>, _: Option<u64>) -> R<()> {
                Ok(Ok(()))
            }
            fn delete_many(&mut self, _: Resource<NullBucket>, _: Vec<String>) -> R<u32> {
                Ok(Ok(0))
            }
            fn drop(&mut self, _: Resource<NullBucket>) -> wasmtime::Result<()> {
                Ok(())
            }
        }
    };
}

mod sync_null {
    use super::*;
    null_store!(super::null);
}

mod async_null {
    use super::*;
    null_store!(super::null::async_io, async);
}

/// One run of the boundary guest per call: its ns per `op`.
pub fn sampler(linking: Linking, op: &str, n: u64) -> anyhow::Result<crate::measure::Sampler<'static>> {
    sampler_with(linking, false, op, n)
}

/// As [`sampler`] with the sync linker, but `get` and `set` borrow their
/// key (and value) from guest memory where bindgen's functions are handed
/// an owned `String` (and `Vec`): what that lifting costs a call.
pub fn borrowed_sampler(op: &str, n: u64) -> anyhow::Result<crate::measure::Sampler<'static>> {
    sampler_with(Linking::Sync, true, op, n)
}

/// Replace bindgen's `get` and `set` with functions of the same types that
/// read their arguments in place, as the owned ones do (UTF-8 checked).
fn link_borrowed(linker: &mut Linker<State>) -> anyhow::Result<()> {
    use wasmtime::component::{WasmList, WasmStr};
    linker.allow_shadowing(true);
    let mut store = linker.instance("kvhost:store/store@0.1.0")?;
    store.func_wrap("[method]bucket.get", |cx, (_, key): (Resource<NullBucket>, WasmStr)| {
        std::hint::black_box(key.to_str(&cx)?.len());
        Ok((Ok::<_, types::Error>(Some(VALUE.to_vec())),))
    })?;
    store.func_wrap(
        "[method]bucket.set",
        |cx, (_, key, value, _): (Resource<NullBucket>, WasmStr, WasmList<u8>, Option<u64>)| {
            std::hint::black_box((key.to_str(&cx)?.len(), value.as_le_slice(&cx).len()));
            Ok((Ok::<_, types::Error>(()),))
        },
    )?;
    Ok(())
}

fn sampler_with(
    linking: Linking,
    borrowed: bool,
    op: &str,
    n: u64,
) -> anyhow::Result<crate::measure::Sampler<'static>> {
    let op = op.to_owned();
    let engine = Engine::new(&kvhost::guest::GuestRunner::config())?;
    let mut linker = Linker::<State>::new(&engine);
    match linking {
        Linking::Sync => {
            wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
            null::kvhost::store::store::add_to_linker::<State, HasSelf<State>>(&mut linker, |s| s)?;
            if borrowed {
                link_borrowed(&mut linker)?;
            }
        }
        Linking::Async => {
            wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
            null::async_io::kvhost::store::store::add_to_linker::<State, HasSelf<State>>(&mut linker, |s| s)?;
        }
    }
    let component = wasmtime::component::Component::from_file(&engine, kvhost_tests::rust_guest())?;
    let pre = linker.instantiate_pre(&component)?;
    Ok(Box::new(move || {
        let out = MemoryOutputPipe::new(1 << 16);
        let wasi = WasiCtx::builder().args(&["kvdemo", "bench", &op, &n.to_string()]).stdout(out.clone()).build();
        let mut store = Store::new(&engine, State { wasi, table: ResourceTable::new() });
        store.set_epoch_deadline(u64::MAX / 2);
        match linking {
            Linking::Sync => {
                let cmd = wasmtime_wasi::p2::bindings::sync::CommandPre::new(pre.clone())?.instantiate(&mut store)?;
                cmd.wasi_cli_run().call_run(&mut store)?.map_err(|()| anyhow::anyhow!("guest failed"))?;
            }
            Linking::Async => kvhost_tests::rt().block_on(async {
                let cmd =
                    wasmtime_wasi::p2::bindings::CommandPre::new(pre.clone())?.instantiate_async(&mut store).await?;
                cmd.wasi_cli_run().call_run(&mut store).await?.map_err(|()| anyhow::anyhow!("guest failed"))
            })?,
        }
        crate::guest::parse(&String::from_utf8_lossy(&out.contents()))
    }))
}
