//! Why a component cannot run here, or why a run failed, in one line that
//! says what to do: not a component, an import kvhost does not provide, no
//! export kvhost knows how to run, a trap or a blown limit.

use wasmtime::Engine;
use wasmtime::component::Component;

/// The interfaces kvhost links, by package (version-less), as guests see them.
const PROVIDED: &[(&str, &str)] = &[
    ("wasi:cli", "WASI 0.2"),
    ("wasi:clocks", "WASI 0.2"),
    ("wasi:filesystem", "WASI 0.2"),
    ("wasi:io", "WASI 0.2"),
    ("wasi:random", "WASI 0.2"),
    ("wasi:sockets", "WASI 0.2"),
    #[cfg(feature = "serve")]
    ("wasi:http", "wasi:http 0.2"),
    ("kvhost:store", "kvhost:store@0.1.0"),
    ("wasi:keyvalue", "wasi:keyvalue@0.2.0-draft and @0.2.0-draft2"),
];

/// What to tell the author of a component that imports `name`, which the
/// linker could not satisfy (`cause`: wasmtime's innermost reason).
pub(super) fn unprovided_import(name: &str, cause: &str) -> String {
    let package = name.split(['/', '@']).next().unwrap_or(name);
    if let Some((_, provides)) = PROVIDED.iter().find(|(p, _)| *p == package) {
        return format!(
            "it imports `{name}`, which does not match what kvhost provides of {package} ({provides}): {cause}; \
             build the guest against that version"
        );
    }
    let hint = match package {
        #[cfg(not(feature = "serve"))]
        "wasi:http" => "this kvhost was built without its `serve` feature, which provides wasi:http".to_owned(),
        p if p.starts_with("fermyon:spin") || p.starts_with("spin:") => {
            "that is Spin's own API; to use stores here, build the guest with wasi:keyvalue@0.2.0-draft2 \
             (which Spin implements too) or kvhost:store"
                .to_owned()
        }
        _ => format!(
            "kvhost provides WASI 0.2 (cli, clocks, filesystem, io, random, sockets), wasi:http, kvhost:store and \
             wasi:keyvalue; compose the guest with a component that exports {package} (`wasm-tools compose`), or \
             build it without that import"
        ),
    };
    format!("it imports `{name}`, which kvhost does not provide: {hint}")
}

/// The error for a failed `instantiate_pre`, naming the import at fault.
pub(super) fn link_error(err: wasmtime::Error) -> anyhow::Error {
    // wasmtime says "component imports instance `NAME`, but a matching
    // implementation was not found in the linker", its reason below that.
    let text = err.to_string();
    let name = text.split('`').nth(1);
    match name {
        Some(name) if text.starts_with("component imports") => {
            anyhow::anyhow!(unprovided_import(name, &err.root_cause().to_string()))
        }
        _ => anyhow::Error::from(err).context("its imports cannot be satisfied"),
    }
}

/// What a component that lacks the export `needed` exports instead, and what
/// kvhost runs.
pub(super) fn not_runnable(engine: &Engine, component: &Component, needed: &str) -> anyhow::Error {
    let exports: Vec<String> =
        component.component_type().exports(engine).map(|(name, _)| format!("`{name}`")).collect();
    let exports = if exports.is_empty() { "nothing".to_owned() } else { exports.join(", ") };
    let handles_http = exports.contains("wasi:http/incoming-handler");
    let runs = exports.contains("wasi:cli/run");
    let hint = if needed.starts_with("wasi:keyvalue/watcher") {
        "a component with `watch:` must export wasi:keyvalue/watcher: build it for the world \
         wasi:keyvalue/watch-service@0.2.0-draft2 (or @0.2.0-draft), or remove `watch:` to run it as a command"
    } else if needed.starts_with("wasi:cli/run") && handles_http {
        "it is an HTTP handler: serve it with `kvhost serve`"
    } else if needed.starts_with("wasi:http") && runs {
        "it is a command: run it with `kvhost run`"
    } else {
        "`kvhost run` runs commands, which export wasi:cli/run (a Rust `main` built for wasm32-wasip2, \
         componentize-py's wasi:cli/command world); `kvhost serve` serves components that export \
         wasi:http/incoming-handler"
    };
    anyhow::anyhow!("it exports {exports}, not {needed}, so kvhost cannot run it: {hint}")
}

/// Refuse, with what to do about it, a file that is not a WebAssembly
/// component: not WebAssembly at all, or a core module.
pub(super) fn check_is_component(bytes: &[u8]) -> anyhow::Result<()> {
    const MAGIC: &[u8] = b"\0asm";
    if bytes.len() < 8 || &bytes[..4] != MAGIC {
        anyhow::bail!("it is not a WebAssembly file (those start with \\0asm)");
    }
    // Bytes 4..8: version and layer; a core module is version 1, layer 0.
    if bytes[4..8] == [1, 0, 0, 0] {
        anyhow::bail!(
            "it is a core WebAssembly module, not a component: build for the wasm32-wasip2 target, or wrap it with \
             `wasm-tools component new MODULE.wasm --adapt wasi_snapshot_preview1.reactor.wasm -o COMPONENT.wasm` \
             (the adapter comes from wasmtime's releases or the crate wasi-preview1-component-adapter-provider)"
        );
    }
    Ok(())
}

/// One line that says why guest `name` stopped: out of memory, a trap, a
/// limit or an interrupt. The wasm backtrace goes to the debug log.
pub(super) fn failure(name: &str, e: wasmtime::Error, memory_refusal: Option<String>) -> anyhow::Error {
    tracing::debug!(guest = name, "guest failed: {e:?}");
    let why = match (memory_refusal, e.downcast_ref::<wasmtime::Trap>()) {
        (Some(refusal), _) => format!("{refusal} (then: {})", e.root_cause()),
        (None, Some(trap)) => trap.to_string(),
        (None, None) => e.root_cause().to_string(),
    };
    anyhow::anyhow!("guest {name} failed: {why}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_an_unknown_import_and_what_provides_it() {
        let m = unprovided_import("wasi:config/store@0.2.0-draft", "missing");
        assert!(m.contains("imports `wasi:config/store@0.2.0-draft`, which kvhost does not provide"), "{m}");
        assert!(m.contains("wasm-tools compose"), "{m}");
    }

    #[test]
    fn points_spin_guests_to_the_draft_spin_implements() {
        let m = unprovided_import("fermyon:spin/key-value@2.0.0", "missing");
        assert!(m.contains("Spin's own API") && m.contains("wasi:keyvalue@0.2.0-draft2"), "{m}");
    }

    #[test]
    fn says_a_provided_package_at_another_version_does_not_match() {
        let m = unprovided_import("kvhost:store/store@9.0.0", "instance export `open` has the wrong type");
        assert!(m.contains("does not match what kvhost provides of kvhost:store (kvhost:store@0.1.0)"), "{m}");
        assert!(m.contains("has the wrong type"), "{m}");
    }
}
