//! The `kvhost` binary: `run` like `wasmtime run`, registries, `check`, Ctrl-C.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kvhost_tests::{kvhost, kvhost_bin, root, rust_guest, text};

fn registry(dir: &Path, body: &str) -> String {
    let guest = rust_guest();
    let text = body.replace("GUEST", &guest.display().to_string());
    let file = dir.join("registry.yaml");
    std::fs::write(&file, text).unwrap();
    file.display().to_string()
}

const STORES: &str =
    "namespace: app\nentries:\n  - {name: cache, kind: store.memory}\n  - {name: secret, kind: store.memory}\n";

#[test]
fn run_guest_uses_one_default_memory_store() {
    let guest = rust_guest();
    let out = kvhost(&["run", guest.to_str().unwrap()]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("kvdemo: all 24 checks passed"), "{stdout}");
}

#[test]
fn guest_exit_code_and_stderr_pass_through() {
    let guest = rust_guest();
    let out = kvhost(&["run", guest.to_str().unwrap(), "expect", "k", "v"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("kvdemo: FAILED: k is None"), "{:?}", text(&out));
}

#[test]
fn kv_flag_presets_the_default_store() {
    let guest = rust_guest();
    let out = kvhost(&["run", "--kv", "k=v=w", guest.to_str().unwrap(), "expect", "k", "v=w"]);
    assert!(out.status.success(), "{:?}", text(&out));
}

#[test]
fn config_grants_allowed_and_default_stores_only() {
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(dir.path(), STORES);
    let guest = rust_guest();
    let g = guest.to_str().unwrap();
    let base = ["run", "--config", &reg, "--allow", "app:cache", "--default-store", "app:cache", "--kv", "hello=world"];
    let out = kvhost(&[&base[..], &[g, "--store", "app:cache", "expect", "hello", "world"]].concat());
    assert!(out.status.success(), "{:?}", text(&out));
    let out = kvhost(&[&base[..], &[g, "demo"]].concat());
    assert!(out.status.success(), "{:?}", text(&out));
    let out = kvhost(&[&base[..], &[g, "--store", "app:secret", "info"]].concat());
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("access-denied"), "{:?}", text(&out));
}

#[test]
fn allow_of_unknown_store_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(dir.path(), STORES);
    let guest = rust_guest();
    let out = kvhost(&["run", "--config", &reg, "--allow", "app:nope", guest.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out).1.contains("--allow app:nope: no store `app:nope` in the registry"), "{:?}", text(&out));
}

#[test]
fn run_config_without_guest_runs_auto_start_components() {
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(
        dir.path(),
        "namespace: app\nentries:\n  - {name: cache, kind: store.memory, max_size: 3}\n  - name: filler\n    kind: wasm.component\n    path: GUEST\n    default_store: app:cache\n    args: [fill, k, \"9\"]\n    lifecycle: {auto_start: true}\n  - name: idle\n    kind: wasm.component\n    path: GUEST\n",
    );
    let out = kvhost(&["run", "--config", &reg]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(stdout.trim(), "stored 3, then store-full", "only the auto_start component ran");
}

#[test]
fn run_config_fails_when_a_component_fails() {
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(
        dir.path(),
        "namespace: app\nentries:\n  - {name: cache, kind: store.memory}\n  - name: checker\n    kind: wasm.component\n    path: GUEST\n    default_store: app:cache\n    args: [expect, missing, value]\n    lifecycle: {auto_start: true}\n",
    );
    let out = kvhost(&["run", "--config", &reg]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("component app:checker exited with code 1"), "{:?}", text(&out));
}

#[test]
fn sigint_interrupts_components_and_shuts_down_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(
        dir.path(),
        "namespace: app\nentries:\n  - {name: cache, kind: store.memory, cleanup_interval: 1s}\n  - name: looper\n    kind: wasm.component\n    path: GUEST\n    default_store: app:cache\n    args: [wait-for, never]\n    lifecycle: {auto_start: true}\n",
    );
    let mut child = Command::new(kvhost_bin())
        .args(["run", "--config", &reg])
        .env("RUST_LOG", "kvhost=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut log = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        log.push_str(&line);
        log.push('\n');
        if line.contains("running component") {
            break;
        }
    }
    assert!(log.contains("running component"), "{log}");
    let killed = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    for line in lines {
        log.push_str(&line.unwrap());
        log.push('\n');
    }
    // stderr closed: the process is exiting. Bound the wait so a hang fails the test.
    let give_up = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < give_up, "kvhost did not exit after SIGINT\n{log}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains("guest interrupted"), "{log}");
    assert!(log.contains("stopped") && log.contains("app:cache"), "the store was stopped:\n{log}");
}

#[test]
fn check_accepts_the_demo_registry() {
    rust_guest();
    let out = kvhost(&["check", root().join("guest-examples/demo.yaml").to_str().unwrap()]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("demo:kvdemo (wasm.component)"), "{stdout}");
}

#[test]
fn check_rejects_bad_registry_naming_file_entry_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.yaml");
    std::fs::write(&file, "namespace: app\nentries:\n  - {name: s, kind: store.memory, max_size: -5}\n  - {name: t, kind: store.memory, lifecycle: {requires: [app:gone]}}\n").unwrap();
    let out = kvhost(&["check", file.to_str().unwrap()]);
    let stderr = text(&out).1;
    assert_eq!(out.status.code(), Some(1));
    let f = file.display();
    assert!(stderr.contains(&format!("{f}: entry app:s: field `max_size`: must not be negative, got -5")), "{stderr}");
    assert!(
        stderr.contains(&format!("{f}: entry app:t: field `lifecycle.requires[0]`: refers to `app:gone`")),
        "{stderr}"
    );
    assert!(stderr.contains("2 problem(s) found"), "{stderr}");
}

#[test]
fn keys_lists_what_guests_wrote_to_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(
        dir.path(),
        "namespace: app\nentries:\n  - {name: db, kind: db.sql.sqlite, file: kv.db}\n  - {name: kv, kind: store.sql, database: app:db, table_name: kv_store}\n",
    );
    assert!(kvhost(&["schema", "--config", &reg, "app:kv", "--apply"]).status.success());
    let guest = rust_guest();
    let out =
        kvhost(&["run", "--config", &reg, "--default-store", "app:kv", guest.to_str().unwrap(), "fill", "user:", "3"]);
    assert!(out.status.success(), "{:?}", text(&out));
    kvhost(&["run", "--config", &reg, "--default-store", "app:kv", guest.to_str().unwrap(), "set", "other", "x"]);

    let out = kvhost(&["keys", "--config", &reg, "app:kv", "--prefix", "user:"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout, "user:0\nuser:1\nuser:2\n");
    assert!(stderr.contains("3 keys"), "{stderr}");
    assert_eq!(text(&kvhost(&["keys", "--config", &reg, "app:kv"])).0, "other\nuser:0\nuser:1\nuser:2\n");

    let out = kvhost(&["keys", "--config", &reg, "app:db"]);
    assert!(!out.status.success());
    assert!(text(&out).1.contains("`app:db` is a db.sql.sqlite, not a store"), "{:?}", text(&out));
}

#[test]
fn allow_flag_narrows_a_grant_to_a_prefix_and_to_reads() {
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(dir.path(), STORES);
    let guest = rust_guest();
    let g = guest.to_str().unwrap();
    let base =
        ["run", "--config", &reg, "--allow", "app:cache,prefix=user:,access=read", "--default-store", "app:cache"];
    let out = kvhost(&[&base[..], &[g, "probe", "user:1"]].concat());
    let stdout = text(&out).0;
    assert!(out.status.success(), "{:?}", text(&out));
    assert!(stdout.contains("get: ok\n") && stdout.contains("set: access-denied\n"), "{stdout}");
    let out = kvhost(&[&base[..], &[g, "probe", "admin:1"]].concat());
    assert!(text(&out).0.contains("get: access-denied\n"), "{:?}", text(&out));

    let out = kvhost(&["run", "--config", &reg, "--allow", "app:cache,prefx=a", g]);
    assert!(!out.status.success());
    assert!(text(&out).1.contains("`prefx=a`: expected prefix=P, access=read|write or as=NAME"), "{:?}", text(&out));
}

fn draft_guest() -> std::path::PathBuf {
    kvhost_tests::build_rust_guest("rust-wasi-draft", "kv-draft")
}

#[test]
fn alias_flag_names_the_default_store_as_a_guest_expects() {
    let draft = draft_guest();
    let d = draft.to_str().unwrap();
    // kv-draft count opens "in_memory", as wasmCloud's template does.
    let out = kvhost(&["run", d, "count", "visits"]);
    assert_eq!(out.status.code(), Some(1), "{:?}", text(&out));
    assert!(text(&out).1.contains("open(\"in_memory\"): Error::AccessDenied"), "{:?}", text(&out));
    let out = kvhost(&["run", "--alias", "in_memory", "--kv", "visits=41", d, "count", "visits"]);
    assert_eq!(text(&out).0.trim(), "visits = 42", "{:?}", text(&out));
}

#[test]
fn allow_flag_gives_a_registry_store_an_alias_with_its_prefix_and_access() {
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(dir.path(), STORES);
    let guest = rust_guest();
    let g = guest.to_str().unwrap();
    let allow = ["run", "--config", &reg, "--allow", "app:cache,prefix=user:,access=read,as=users"];
    let out = kvhost(&[&allow[..], &[g, "--store", "users", "probe", "user:1"]].concat());
    let stdout = text(&out).0;
    assert!(out.status.success(), "{:?}", text(&out));
    assert!(stdout.contains("get: ok\n") && stdout.contains("set: access-denied\n"), "{stdout}");
    let out = kvhost(&[&allow[..], &[g, "--store", "users", "probe", "admin:1"]].concat());
    assert!(text(&out).0.contains("get: access-denied\n"), "{:?}", text(&out));
    let draft = draft_guest();
    let base = ["run", "--config", &reg, "--default-store", "app:cache", "--alias", "in_memory"];
    let out = kvhost(&[&base[..], &[draft.to_str().unwrap(), "count", "visits"]].concat());
    assert_eq!(text(&out).0.trim(), "visits = 1", "{:?}", text(&out));
}

#[test]
fn errors_naming_the_flag_for_an_empty_default_or_repeated_alias() {
    let guest = rust_guest();
    let g = guest.to_str().unwrap();
    for (args, needle) in [
        (vec!["--alias", ""], "--alias : an alias must not be empty"),
        (vec!["--alias", "default"], "--alias default: `default` always names the default store"),
        (vec!["--alias", "c", "--alias", "c"], "--alias c: alias `c` is already given to default"),
    ] {
        let out = kvhost(&[&["run"][..], &args, &[g]].concat());
        assert!(!out.status.success(), "{args:?}");
        assert!(text(&out).1.contains(needle), "{args:?}: {:?}", text(&out));
    }
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(dir.path(), STORES);
    let out = kvhost(&["run", "--config", &reg, "--allow", "app:cache,as=x", "--allow", "app:secret,as=x", g]);
    assert!(!out.status.success());
    assert!(
        text(&out).1.contains("--allow app:secret,as=x: alias `x` is already given to app:cache"),
        "{:?}",
        text(&out)
    );
    let out = kvhost(&["run", "--config", &reg, "--alias", "x", g]);
    assert!(text(&out).1.contains("--alias names the default store; with --config, give it with --default-store"));
}

#[test]
fn errors_in_one_line_when_the_guest_is_not_webassembly() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.wasm");
    std::fs::write(&file, "not a component").unwrap();
    let out = kvhost(&["run", "--no-cache", file.to_str().unwrap()]);
    let (_, err) = text(&out);
    assert!(!out.status.success());
    assert!(err.contains("notes.wasm") && err.contains("is not a WebAssembly file"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

/// A component that imports instance `name` with one function, and does nothing else.
fn component_importing(name: &str) -> Vec<u8> {
    use wasm_encoder::{Component, ComponentImportSection, ComponentTypeRef, ComponentTypeSection, InstanceType};
    let mut instance = InstanceType::new();
    instance.ty().function().params(std::iter::empty::<(&str, wasm_encoder::ComponentValType)>()).result(None);
    instance.export("get", ComponentTypeRef::Func(0));
    let mut types = ComponentTypeSection::new();
    types.instance(&instance);
    let mut imports = ComponentImportSection::new();
    imports.import(name, ComponentTypeRef::Instance(0));
    let mut component = Component::new();
    component.section(&types).section(&imports);
    component.finish()
}

/// `kvhost ARGS FILE` fails with one line of error, returned.
fn fails_in_one_line(args: &[&str], file: &Path) -> String {
    let out = kvhost(&[args, &[file.to_str().unwrap()]].concat());
    let (_, err) = text(&out);
    assert!(!out.status.success(), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    err
}

#[test]
fn errors_naming_an_import_kvhost_does_not_provide_and_what_provides_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.wasm");
    std::fs::write(&file, component_importing("wasi:config/store@0.2.0-draft")).unwrap();
    let err = fails_in_one_line(&["run", "--no-cache"], &file);
    assert!(err.contains("config.wasm"), "{err}");
    assert!(err.contains("imports `wasi:config/store@0.2.0-draft`, which kvhost does not provide"), "{err}");
    assert!(err.contains("wasm-tools compose"), "{err}");

    std::fs::write(&file, component_importing("fermyon:spin/key-value@2.0.0")).unwrap();
    let err = fails_in_one_line(&["run", "--no-cache"], &file);
    assert!(err.contains("Spin's own API") && err.contains("wasi:keyvalue@0.2.0-draft2"), "{err}");
}

#[test]
fn errors_saying_what_a_component_exports_when_kvhost_cannot_run_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("empty.wasm");
    // The smallest component: magic, version 0xd, layer 1, no sections.
    std::fs::write(&file, b"\0asm\x0d\0\x01\0").unwrap();
    let err = fails_in_one_line(&["run", "--no-cache"], &file);
    assert!(err.contains("empty.wasm: it exports nothing, not wasi:cli/run"), "{err}");
    assert!(err.contains("wasm32-wasip2") && err.contains("kvhost serve"), "{err}");

    let http = kvhost_tests::served::http_guest();
    let err = fails_in_one_line(&["run"], &http);
    assert!(err.contains("`wasi:http/incoming-handler@0.2"), "{err}");
    assert!(err.contains("it is an HTTP handler: serve it with `kvhost serve`"), "{err}");
}

#[test]
fn errors_saying_how_to_make_a_component_from_a_core_module() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("module.wasm");
    // The smallest core module: magic, version 1, no sections.
    std::fs::write(&file, b"\0asm\x01\0\0\0").unwrap();
    let out = kvhost(&["run", "--no-cache", file.to_str().unwrap()]);
    let (_, err) = text(&out);
    assert!(!out.status.success());
    assert!(err.contains("is a core WebAssembly module, not a component"), "{err}");
    assert!(err.contains("wasm32-wasip2") && err.contains("wasm-tools component new"), "{err}");
}

#[test]
fn completions_for_bash_zsh_and_fish_know_every_command() {
    for shell in ["bash", "zsh", "fish"] {
        let out = kvhost(&["completions", shell]);
        let (script, err) = text(&out);
        assert!(out.status.success(), "{shell}: {err}");
        for command in ["run", "serve", "check", "schema", "keys", "completions", "default-store"] {
            assert!(script.contains(command), "{shell} completions lack {command}");
        }
    }
    // The bash script is valid bash.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kvhost.bash");
    std::fs::write(&file, text(&kvhost(&["completions", "bash"])).0).unwrap();
    let check = Command::new("bash").arg("-n").arg(&file).output().unwrap();
    assert!(check.status.success(), "{:?}", text(&check));
}

#[test]
fn watch_says_what_it_watches_stops_on_sigint_and_refuses_a_non_store() {
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(
        dir.path(),
        "namespace: app\nentries:\n  - {name: db, kind: db.sql.sqlite, file: kv.db}\n  - {name: cache, kind: store.memory}\n",
    );
    let mut child = Command::new(kvhost_bin())
        .args(["watch", "--config", &reg, "app:cache", "--prefix", "user:"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert_eq!(first, r#"watching app:cache (local), keys starting with "user:"; Ctrl-C to stop"#);
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    assert_eq!(rest, ["0 changes"]);
    assert!(child.wait().unwrap().success());

    let out = kvhost(&["watch", "--config", &reg, "app:db"]);
    assert!(!out.status.success());
    assert!(text(&out).1.contains("`app:db` is a db.sql.sqlite, not a store"), "{:?}", text(&out));
}

#[test]
fn a_reader_that_stops_early_is_not_an_error() {
    // `kvhost check FILE | head -1`: the rest of the output meets a closed pipe.
    let dir = tempfile::tempdir().unwrap();
    let mut body = String::from("namespace: app\nentries:\n");
    for i in 0..5000 {
        body.push_str(&format!("  - {{name: s{i}, kind: store.memory}}\n"));
    }
    let reg = registry(dir.path(), &body);
    let mut child =
        Command::new(kvhost_bin()).args(["check", &reg]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert_eq!(first, "ok: 5000 entries\n");
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn a_registry_nested_too_deep_is_refused_at_once_saying_where() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hostile.yaml");
    std::fs::write(&file, "[".repeat(3 << 20)).unwrap();
    let out = kvhost(&["check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let (_, stderr) = text(&out);
    assert!(stderr.contains("hostile.yaml: nesting deeper than 64 levels at line 1, column 65"), "{stderr}");
}

#[test]
fn logs_carry_no_colour_codes_when_stderr_is_not_a_terminal() {
    let out = Command::new(kvhost_bin())
        .args(["run", rust_guest().to_str().unwrap(), "set", "k", "v"])
        .env("RUST_LOG", "kvhost=debug")
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert!(stderr.contains("DEBUG"), "debug logs were written: {stderr}");
    assert!(!stderr.contains('\u{1b}'), "no ANSI escapes: {stderr:?}");
}
