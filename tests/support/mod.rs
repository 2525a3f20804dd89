//! Helpers for the end-to-end tests: build real guests, find the kvhost binary,
//! run guests through the library (either linker), open stores on every backend.

pub mod backend;
pub mod blocking;
pub mod browser;
pub mod fuzz;
pub mod guests;
pub mod needs;
pub mod proxied;
pub mod proxy;
pub mod readme;
pub mod restart;
pub mod served;
pub mod sync_host;
pub mod tls;
pub mod ui;
pub mod webdriver;
pub mod writers;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use kvhost::KvCtx;
use kvhost::guest::{GuestLimits, GuestOutput, GuestRun, GuestRunner, Stdio};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

/// Run a command, panicking with its output if it cannot start.
fn run_checked(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Build the Rust guest in `guest-examples/DIR` with its own toolchain (cargo,
/// wasm32-wasip2) and return component `BIN`. Cargo's lock and freshness
/// checks make repeated calls cheap.
pub fn build_rust_guest(dir: &str, bin: &str) -> PathBuf {
    build_rust_guest_with(dir, bin, &[], "target/guests")
}

/// [`build_rust_guest`] with more cargo arguments (such as features), into
/// a target folder of its own so that builds with other arguments do not
/// overwrite each other.
pub fn build_rust_guest_with(dir: &str, bin: &str, cargo_args: &[&str], target_dir: &str) -> PathBuf {
    build_rust_crate(&format!("guest-examples/{dir}"), bin, cargo_args, target_dir)
}

/// Build the Rust guest crate in folder `dir` (from the workspace root) and
/// return component `BIN`, as [`build_rust_guest_with`] does.
pub fn build_rust_crate(dir: &str, bin: &str, cargo_args: &[&str], target_dir: &str) -> PathBuf {
    let root = root();
    let manifest = format!("{dir}/Cargo.toml");
    let out = run_checked(
        Command::new(env!("CARGO"))
            .current_dir(&root)
            .args(["build", "--release", "--quiet", "--target", "wasm32-wasip2"])
            .args(cargo_args)
            .args(["--manifest-path", &manifest, "--target-dir", target_dir]),
    );
    assert!(out.status.success(), "building {dir} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let wasm = root.join(format!("{target_dir}/wasm32-wasip2/release/{bin}.wasm"));
    assert!(wasm.is_file(), "{} was not built", wasm.display());
    wasm
}

/// The kvhost:store guest (`guest-examples/rust`).
pub fn rust_guest() -> PathBuf {
    build_rust_guest("rust", "kvdemo")
}

/// The `kvhost` binary, built (or found fresh) in this test binary's profile.
///
/// `cargo test` does not rebuild another package's binaries, so this asks cargo
/// to; it is a no-op when the binary is up to date.
pub fn kvhost_bin() -> PathBuf {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        // Test binaries live in PROFILE/deps, other binaries (the bench) in PROFILE.
        let mut profile_dir = exe.parent().unwrap().to_owned();
        if profile_dir.file_name().is_some_and(|n| n == "deps") {
            profile_dir.pop();
        }
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let mut cmd = Command::new(env!("CARGO"));
        as_from_a_shell(&mut cmd);
        cmd.current_dir(root()).args(["build", "--quiet", "-p", "kvhost", "--bin", "kvhost"]);
        if release {
            cmd.arg("--release");
        }
        let out = run_checked(&mut cmd);
        assert!(out.status.success(), "building kvhost failed:\n{}", String::from_utf8_lossy(&out.stderr));
        let bin = profile_dir.join("kvhost");
        assert!(bin.is_file(), "{} was not built", bin.display());
        bin
    })
    .clone()
}

/// `cmd` with only the environment a shell would give it. The test
/// process's own (CARGO_PKG_*, CARGO_MANIFEST_DIR, ...) reaches the build
/// scripts of a cargo it runs, which rerun when such variables change
/// (ring's, through cc), and rebuilt ring, rustls, sqlx, redis and kvhost
/// on every test run.
pub fn as_from_a_shell(cmd: &mut Command) -> &mut Command {
    cmd.env_clear().envs(std::env::vars_os().filter(|(k, _)| {
        k.to_str().is_some_and(|k| {
            matches!(k, "PATH" | "HOME" | "USER" | "TMPDIR" | "CARGO_HOME" | "RUSTUP_HOME" | "RUSTUP_TOOLCHAIN")
        })
    }))
}

/// The output of `kvhost ARGS`.
pub fn kvhost(args: &[&str]) -> Output {
    run_checked(Command::new(kvhost_bin()).current_dir(root()).args(args))
}

/// Text of a process's stdout and stderr.
pub fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// One runner per test process: compiling its engine is the expensive part.
pub fn runner() -> Arc<GuestRunner> {
    static RUNNER: std::sync::OnceLock<Arc<GuestRunner>> = std::sync::OnceLock::new();
    RUNNER.get_or_init(|| Arc::new(GuestRunner::new().expect("engine"))).clone()
}

/// The tokio runtime guests run on in this test process: two workers, like
/// this machine.
pub fn rt() -> &'static tokio::runtime::Runtime {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap())
}

/// Which of kvhost's two linkers a guest runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linking {
    /// `add_to_linker_async`, as [`GuestRunner`] and `kvhost run` use it: the
    /// guest is a task on the runtime.
    Async,
    /// `add_to_linker_sync`, as a synchronous embedder uses it: the guest
    /// runs on a thread of its own (see [`sync_host`]).
    Sync,
}

/// Run the Rust guest through the library with `kv` grants and captured output.
pub fn run_rust_guest(kv: KvCtx, args: &[&str], limits: GuestLimits) -> anyhow::Result<GuestOutput> {
    run_guest(&rust_guest(), kv, args, limits)
}

/// Run a guest component through [`GuestRunner`] (the async linker) with `kv`
/// grants and captured output, waiting for it on this thread.
pub fn run_guest(wasm: &Path, kv: KvCtx, args: &[&str], limits: GuestLimits) -> anyhow::Result<GuestOutput> {
    rt().block_on(spawn_guest(wasm, kv, args, limits))?
}

/// Start a guest as a task on [`rt`], as `kvhost run --config` runs components.
pub fn spawn_guest(
    wasm: &Path,
    kv: KvCtx,
    args: &[&str],
    limits: GuestLimits,
) -> tokio::task::JoinHandle<anyhow::Result<GuestOutput>> {
    let runner = runner();
    let component = runner.load(wasm);
    let run = guest_run(kv, args, limits);
    rt().spawn(async move { runner.run(&component?, run).await })
}

/// Run a guest with either linker.
pub fn run_guest_linked(linking: Linking, wasm: &Path, kv: KvCtx, args: &[&str]) -> anyhow::Result<GuestOutput> {
    match linking {
        Linking::Async => run_guest(wasm, kv, args, GuestLimits::default()),
        Linking::Sync => sync_host::run(wasm, kv, args),
    }
}

fn guest_run(kv: KvCtx, args: &[&str], limits: GuestLimits) -> GuestRun {
    GuestRun {
        name: "kvdemo".into(),
        args: args.iter().map(|s| s.to_string()).collect(),
        env: Vec::new(),
        kv,
        limits,
        stdio: Stdio::Capture,
    }
}

/// Stdout of a guest run, asserting it exited 0.
#[track_caller]
pub fn stdout_ok(out: &GuestOutput) -> String {
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.exit_code, 0, "guest failed\nstdout:\n{stdout}\nstderr:\n{stderr}");
    stdout.into_owned()
}
