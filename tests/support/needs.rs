//! What a test needs beyond Rust: a database server or a guest toolchain.
//!
//! A test never passes by skipping: when what it needs is missing it fails,
//! saying how to install or start it. A user who cannot have it opts out with
//! `KVHOST_SKIP` (a comma-separated list of [`Need::name`]s, or `all`), and
//! `scripts/test.sh` then leaves the tests that need it out of the run, so
//! the test runner counts them as skipped and the run ends with their list.
//! A test that reaches a need it was opted out of was missed by that filter,
//! and fails saying so.

use std::fmt::Display;

/// Something a test needs that a machine may lack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Postgres,
    Mysql,
    Redis,
    /// componentize-py.
    Python,
    /// jco's componentize (guest-examples/javascript/node_modules).
    JavaScript,
    /// clang with wasi-libc, wit-bindgen-cli, wasm-tools.
    C,
    /// The wasmtime CLI, the peer host.
    Wasmtime,
    /// wasm-tools, for composing components.
    WasmTools,
    /// Debian's chromium and chromedriver, for the key browser's page.
    Chromium,
}

impl Need {
    /// Its name in `KVHOST_SKIP`.
    pub fn name(self) -> &'static str {
        match self {
            Need::Postgres => "postgres",
            Need::Mysql => "mysql",
            Need::Redis => "redis",
            Need::Python => "python",
            Need::JavaScript => "javascript",
            Need::C => "c",
            Need::Wasmtime => "wasmtime",
            Need::WasmTools => "wasm-tools",
            Need::Chromium => "chromium",
        }
    }

    /// The command that provides it on a machine of this kind.
    pub fn fix(self) -> &'static str {
        match self {
            Need::Postgres | Need::Mysql | Need::Redis => "start it with .ci/services.sh (scripts/setup.sh does)",
            _ => "install it with scripts/setup.sh (which ./scripts/test.sh runs first)",
        }
    }

    /// Whether the user opted out of tests that need it.
    pub fn opted_out(self) -> bool {
        std::env::var("KVHOST_SKIP")
            .is_ok_and(|list| list.split(',').map(str::trim).any(|n| n == self.name() || n == "all"))
    }

    /// Called where a test first uses it: a test run although the user opted
    /// out of this need was not left out by scripts/test.sh's filter.
    #[track_caller]
    pub fn check(self) {
        assert!(
            !self.opted_out(),
            "this test needs {0}, which KVHOST_SKIP opts out of, but scripts/test.sh does not leave it out: add it to \
             the filter for `{0}` there",
            self.name()
        );
    }

    /// Fail the test: it is missing.
    #[track_caller]
    pub fn missing(self, why: impl Display) -> ! {
        panic!(
            "{0} is missing: {why}\nfix: {1}; or, to skip the tests that need it, run \
             KVHOST_SKIP={0} ./scripts/test.sh",
            self.name(),
            self.fix()
        )
    }
}

/// For something that is a [`Need`] or is always there (`None`, such as a
/// SQLite file): [`Need::check`] it before the test uses it.
#[track_caller]
pub fn check(need: Option<Need>) {
    if let Some(need) = need {
        need.check();
    }
}

/// It failed: [`Need::missing`] for a need, a plain panic with `why` for
/// what is always there.
#[track_caller]
pub fn failed(need: Option<Need>, why: impl Display) -> ! {
    match need {
        Some(need) => need.missing(why),
        None => panic!("{why}"),
    }
}

/// Check that command-line tool `tool` (which `need` provides) runs.
#[track_caller]
pub fn require_tool(need: Need, tool: &str) {
    need.check();
    match std::process::Command::new(tool).arg("--version").output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => need.missing(format!("`{tool} --version` failed: {}", String::from_utf8_lossy(&out.stderr))),
        Err(e) => need.missing(format!("cannot run {tool}: {e}")),
    }
}
