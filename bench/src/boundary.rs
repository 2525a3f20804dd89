//! Measure 1b: the same guest calling host functions of the same signatures
//! that do nothing: the cost of the component boundary alone.

use wasmtime::component::{HasSelf, Linker, Resource, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::p2::bindings::sync::CommandPre;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

mod null {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "kvhost:store/guest",
        imports: { default: trappable },
        with: { "kvhost:store/store.bucket": super::NullBucket },
    });
}

use null::kvhost::store::{store, types};

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

impl store::Host for State {
    fn open(&mut self, _: String) -> R<Resource<NullBucket>> {
        Ok(Ok(Resource::new_own(0)))
    }
}

impl store::HostBucket for State {
    fn get(&mut self, _: Resource<NullBucket>, _: String) -> R<Option<Vec<u8>>> {
        Ok(Ok(Some(VALUE.to_vec())))
    }
    fn set(&mut self, _: Resource<NullBucket>, _: String, _: Vec<u8>, _: Option<u64>) -> R<()> {
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

/// ns per call of `op` by the kvdemo guest against do-nothing host functions.
pub fn ns_per_op(op: &str, n: u64, rounds: usize) -> anyhow::Result<f64> {
    let engine = Engine::new(&kvhost::Runner::config())?;
    let mut linker = Linker::<State>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    store::add_to_linker::<State, HasSelf<State>>(&mut linker, |s| s)?;
    types::add_to_linker::<State, HasSelf<State>>(&mut linker, |s| s)?;
    let component = wasmtime::component::Component::from_file(&engine, kvhost_tests::rust_guest())?;
    let pre = CommandPre::new(linker.instantiate_pre(&component)?)?;
    let mut samples = Vec::new();
    for _ in 0..rounds {
        let out = MemoryOutputPipe::new(1 << 16);
        let wasi = WasiCtx::builder().args(&["kvdemo", "bench", op, &n.to_string()]).stdout(out.clone()).build();
        let mut store = Store::new(&engine, State { wasi, table: ResourceTable::new() });
        store.set_epoch_deadline(u64::MAX / 2);
        let cmd = pre.instantiate(&mut store)?;
        cmd.wasi_cli_run().call_run(&mut store)?.map_err(|()| anyhow::anyhow!("guest failed"))?;
        samples.push(crate::guest::parse(&String::from_utf8_lossy(&out.contents()))?);
    }
    Ok(crate::measure::median(&mut samples))
}
