//! A synchronous embedder, written as one would with kvhost's public API:
//! guests called with `instantiate` and `call` (no async), WASI's and
//! kvhost's sync linkers, each guest on a plain thread.

use std::path::Path;
use std::sync::OnceLock;

use kvhost::guest::{GuestOutput, GuestRunner};
use kvhost::wasmtime::component::{Component, Linker, ResourceTable};
use kvhost::wasmtime::{Engine, Store};
use kvhost::wasmtime_wasi::p2::bindings::sync::CommandPre;
use kvhost::wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use kvhost::wasmtime_wasi::{I32Exit, WasiCtx, WasiCtxView, WasiView};
use kvhost::{KvCtx, KvView};

/// What the embedder keeps per guest instance.
pub struct Embedder {
    wasi: WasiCtx,
    table: ResourceTable,
    kv: KvCtx,
}

impl WasiView for Embedder {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// The embedder's linker, on an engine configured as kvhost's runner
/// configures its own, so that measures compare like with like.
pub fn linker() -> &'static Linker<Embedder> {
    static LINKER: OnceLock<Linker<Embedder>> = OnceLock::new();
    LINKER.get_or_init(|| {
        let engine = Engine::new(&GuestRunner::config()).expect("engine");
        let mut linker = Linker::new(&engine);
        kvhost::wasmtime_wasi::p2::add_to_linker_sync(&mut linker).unwrap();
        kvhost::add_to_linker_sync(&mut linker, |e: &mut Embedder| KvView::new(&e.kv, &mut e.table)).unwrap();
        linker
    })
}

/// Compile and link command guest `wasm`.
pub fn prepare(wasm: &Path) -> anyhow::Result<CommandPre<Embedder>> {
    let linker = linker();
    let component = Component::from_file(linker.engine(), wasm)?;
    Ok(CommandPre::new(linker.instantiate_pre(&component)?)?)
}

/// Run command guest `wasm` with `args` on a plain thread, and capture its output.
pub fn run(wasm: &Path, kv: KvCtx, args: &[&str]) -> anyhow::Result<GuestOutput> {
    let pre = prepare(wasm)?;
    std::thread::scope(|s| s.spawn(|| run_prepared(&pre, kv, args)).join().expect("guest thread"))
}

/// Run a prepared guest on this thread, and capture its output.
pub fn run_prepared(pre: &CommandPre<Embedder>, kv: KvCtx, args: &[&str]) -> anyhow::Result<GuestOutput> {
    let mut argv = vec!["kvdemo".to_owned()];
    argv.extend(args.iter().map(|a| a.to_string()));
    let (out, err) = (MemoryOutputPipe::new(1 << 24), MemoryOutputPipe::new(1 << 24));
    let wasi = WasiCtx::builder().args(&argv).stdout(out.clone()).stderr(err.clone()).build();
    let mut store = Store::new(linker().engine(), Embedder { wasi, table: ResourceTable::new(), kv });
    store.set_epoch_deadline(u64::MAX / 2);
    let result = pre.instantiate(&mut store).and_then(|cmd| cmd.wasi_cli_run().call_run(&mut store));
    let exit_code = match result {
        Ok(Ok(())) => 0,
        Ok(Err(())) => 1,
        Err(e) => match e.downcast_ref::<I32Exit>() {
            Some(exit) => exit.0,
            None => return Err(anyhow::anyhow!("guest failed: {e:?}")),
        },
    };
    Ok(GuestOutput { exit_code, stdout: out.contents().to_vec(), stderr: err.contents().to_vec() })
}
