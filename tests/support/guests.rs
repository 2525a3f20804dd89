//! Guests in Python, JavaScript and C, each built by its own toolchain the
//! first time a test asks for it (and again only when its sources change,
//! including the SDK an SDK guest is built on).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use crate::needs::Need;
use crate::root;

/// A guest language other than Rust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// guest-examples/python, componentize-py.
    Python,
    /// guest-examples/javascript, componentize-qjs from jco.
    JavaScript,
    /// guest-examples/c, wit-bindgen c + clang + wasm-tools.
    C,
    /// guest-examples/python-http, componentize-py: an HTTP guest.
    PythonHttp,
    /// guest-examples/python-sdk, componentize-py with the kvhost-guest
    /// Python SDK (guest-sdk-python).
    PythonSdk,
    /// guest-examples/javascript-sdk, componentize-qjs with the kvhost-guest
    /// JavaScript SDK (guest-sdk-js).
    JavaScriptSdk,
    /// guest-examples/python-watcher, componentize-py: a
    /// `wasi:keyvalue/watcher` (world watch-service of draft2).
    PythonWatcher,
}

impl Lang {
    /// The name its output and messages use.
    pub fn name(self) -> &'static str {
        match self {
            Lang::Python => "python",
            Lang::JavaScript => "javascript",
            Lang::C => "c",
            Lang::PythonHttp => "python-http",
            Lang::PythonSdk => "python-sdk",
            Lang::JavaScriptSdk => "javascript-sdk",
            Lang::PythonWatcher => "python-watcher",
        }
    }

    /// The toolchain that builds it.
    pub fn need(self) -> Need {
        match self {
            Lang::Python | Lang::PythonHttp | Lang::PythonSdk | Lang::PythonWatcher => Need::Python,
            Lang::JavaScript | Lang::JavaScriptSdk => Need::JavaScript,
            Lang::C => Need::C,
        }
    }

    /// What the guest calls itself in its output.
    pub fn program(self) -> &'static str {
        match self {
            Lang::Python => "kvdemo-py",
            Lang::JavaScript => "kvdemo-js",
            Lang::C => "kvdemo-c",
            Lang::PythonHttp => "http-kv-py",
            Lang::PythonSdk => "kvtour-py",
            Lang::JavaScriptSdk => "kvtour-js",
            Lang::PythonWatcher => "index-watcher-py",
        }
    }

    /// The folder of the SDK it is built on, whose sources it depends on too.
    fn sdk_sources(self) -> Option<&'static str> {
        match self {
            Lang::PythonSdk => Some("guest-sdk-python/src/kvhost_guest"),
            Lang::JavaScriptSdk => Some("guest-sdk-js/src"),
            _ => None,
        }
    }
}

/// The files directly in `dir`.
fn files_in(dir: &Path) -> impl Iterator<Item = PathBuf> + use<> {
    std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path()).filter(|p| p.is_file())
}

fn modified(path: &Path) -> SystemTime {
    std::fs::metadata(path).and_then(|m| m.modified()).unwrap_or(SystemTime::UNIX_EPOCH)
}

/// The component for `lang`, built with `guest-examples/LANG/build.sh`. The
/// test fails, saying how to install it, when its toolchain is missing.
///
/// A lock file serializes builds across the test processes nextest runs.
pub fn guest(lang: Lang) -> PathBuf {
    lang.need().check();
    let root = root();
    let dir = root.join("guest-examples").join(lang.name());
    let out_dir = root.join("target/guests").join(lang.name());
    std::fs::create_dir_all(&out_dir).unwrap();
    let wasm = out_dir.join(format!("{}.wasm", lang.program()));
    let lock = std::fs::File::create(out_dir.join("build.lock")).unwrap();
    lock.lock().unwrap();

    let sources: Vec<PathBuf> = files_in(&dir)
        .chain(lang.sdk_sources().into_iter().flat_map(|sdk| files_in(&root.join(sdk))))
        .chain([root.join("wit/store.wit"), root.join("wit/http.wit"), root.join("guest-examples/build-python.sh")])
        .collect();
    let newest = sources.iter().map(|p| modified(p)).max().unwrap();
    if wasm.is_file() && modified(&wasm) >= newest {
        return wasm;
    }
    let mut build = Command::new("bash");
    build.arg(dir.join("build.sh")).arg(&wasm).current_dir(&dir);
    if lang == Lang::C {
        let adapter = out_dir.join("wasi_snapshot_preview1.reactor.wasm");
        std::fs::write(&adapter, wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER)
            .unwrap();
        build.env("ADAPTER", &adapter);
    }
    let out = build.output().unwrap();
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        // build.sh exits 127 when a tool is not installed.
        if out.status.code() == Some(127) {
            lang.need().missing(format!("the {} toolchain is not installed:\n{log}", lang.name()));
        }
        panic!("building guest-examples/{} failed:\n{log}", lang.name());
    }
    assert!(wasm.is_file(), "{} did not write {}", dir.join("build.sh").display(), wasm.display());
    wasm
}
