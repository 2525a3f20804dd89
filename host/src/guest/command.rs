//! Command guests: components that export `wasi:cli/run`, run to their end
//! like `wasmtime run` runs them.

use wasmtime::component::Component;
use wasmtime_wasi::p2::bindings::CommandPre;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{I32Exit, WasiCtx};

use super::diagnose::{self, failure};
use super::limits::GuestLimits;
use super::runner::GuestRunner;
use super::state::GuestState;
use crate::access::KvCtx;

/// Most bytes of output kept from a guest whose output is captured.
const CAPTURE_LIMIT: usize = 16 << 20;

/// Where a guest's stdout and stderr go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stdio {
    /// The host process's own streams, as `wasmtime run` does.
    Inherit,
    /// Kept in memory and returned in [`GuestOutput`].
    Capture,
}

/// One run of a guest command.
#[derive(Debug, Clone)]
pub struct GuestRun {
    /// `argv[0]` as the guest sees it.
    pub name: String,
    /// Arguments after the name.
    pub args: Vec<String>,
    /// Environment variables.
    pub env: Vec<(String, String)>,
    /// Which stores it may open.
    pub kv: KvCtx,
    /// Memory and time limits.
    pub limits: GuestLimits,
    /// Where its output goes.
    pub stdio: Stdio,
}

/// How a guest run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestOutput {
    /// The exit code: 0 for success, or what the guest passed to `exit`.
    pub exit_code: i32,
    /// Captured stdout (empty when inherited).
    pub stdout: Vec<u8>,
    /// Captured stderr (empty when inherited).
    pub stderr: Vec<u8>,
}

/// A command component linked against kvhost and WASI, ready to
/// instantiate. Cloning is cheap and shares the compiled code.
#[derive(Clone)]
pub struct Prepared(CommandPre<GuestState>);

impl GuestRunner {
    /// Link a command component once, so that each run only instantiates it.
    pub fn prepare(&self, component: &Component) -> anyhow::Result<Prepared> {
        let pre = self.linker.instantiate_pre(component).map_err(diagnose::link_error)?;
        let pre = CommandPre::new(pre).map_err(|_| diagnose::not_runnable(&self.engine, component, "wasi:cli/run"))?;
        Ok(Prepared(pre))
    }

    /// Run a command component (one that exports `wasi:cli/run`) to completion.
    ///
    /// A guest that calls `exit(n)` ends with exit code `n`. A trap, a blown
    /// limit or an interrupt is an error that says which.
    pub async fn run(&self, component: &Component, run: GuestRun) -> anyhow::Result<GuestOutput> {
        self.run_prepared(&self.prepare(component)?, run).await
    }

    /// Run a component linked by [`GuestRunner::prepare`].
    pub async fn run_prepared(&self, prepared: &Prepared, run: GuestRun) -> anyhow::Result<GuestOutput> {
        let mut wasi = WasiCtx::builder();
        let mut argv = vec![run.name.clone()];
        argv.extend(run.args.iter().cloned());
        wasi.args(&argv).envs(&run.env);
        let pipes = match run.stdio {
            Stdio::Inherit => {
                wasi.inherit_stdio();
                None
            }
            Stdio::Capture => {
                let (out, err) = (MemoryOutputPipe::new(CAPTURE_LIMIT), MemoryOutputPipe::new(CAPTURE_LIMIT));
                wasi.stdout(out.clone()).stderr(err.clone());
                Some((out, err))
            }
        };
        let (mut store, watchdog) = self.instance(wasi.build(), run.kv, &run.limits).await;
        let guest = async {
            let cmd = prepared.0.instantiate_async(&mut store).await?;
            cmd.wasi_cli_run().call_run(&mut store).await
        };
        let exit_code = match watchdog.run(guest).await {
            Ok(Ok(())) => 0,
            Ok(Err(())) => 1,
            Err(e) => match e.downcast_ref::<I32Exit>() {
                Some(exit) => exit.0,
                None => return Err(failure(&run.name, e, store.data().memory.refusal())),
            },
        };
        let (stdout, stderr) = match pipes {
            Some((out, err)) => (out.contents().to_vec(), err.contents().to_vec()),
            None => (Vec::new(), Vec::new()),
        };
        Ok(GuestOutput { exit_code, stdout, stderr })
    }
}
