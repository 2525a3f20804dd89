//! Measure 4: the wasi:keyvalue draft guest on wasmtime-wasi-keyvalue's own host.

use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::p2::bindings::sync::CommandPre;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_keyvalue::{WasiKeyValue, WasiKeyValueCtx, WasiKeyValueCtxBuilder};

struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    kv: WasiKeyValueCtx,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// One run of kv-draft on the peer host per call: its ns per `op`.
pub fn sampler(op: &str, n: u64) -> anyhow::Result<crate::measure::Sampler<'static>> {
    let op = op.to_owned();
    let engine = Engine::new(&kvhost::guest::GuestRunner::config())?;
    let mut linker = Linker::<State>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    wasmtime_wasi_keyvalue::add_to_linker(&mut linker, |s: &mut State| WasiKeyValue::new(&s.kv, &mut s.table))?;
    let component = wasmtime::component::Component::from_file(&engine, draft_guest())?;
    let pre = CommandPre::new(linker.instantiate_pre(&component)?)?;
    Ok(Box::new(move || {
        let out = MemoryOutputPipe::new(1 << 16);
        let wasi = WasiCtx::builder().args(&["kv-draft", "bench", &op, &n.to_string()]).stdout(out.clone()).build();
        let state = State { wasi, table: ResourceTable::new(), kv: WasiKeyValueCtxBuilder::new().build() };
        let mut store = Store::new(&engine, state);
        store.set_epoch_deadline(u64::MAX / 2);
        let cmd = pre.instantiate(&mut store)?;
        cmd.wasi_cli_run().call_run(&mut store)?.map_err(|()| anyhow::anyhow!("guest failed"))?;
        crate::guest::parse(&String::from_utf8_lossy(&out.contents()))
    }))
}

/// The wasi:keyvalue@0.2.0-draft guest.
pub fn draft_guest() -> std::path::PathBuf {
    kvhost_tests::build_rust_guest("rust-wasi-draft", "kv-draft")
}
