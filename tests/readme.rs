//! The README's getting-started commands, run exactly as written in a
//! temporary folder, so that the README cannot drift from what works.

use std::path::{Path, PathBuf};
use std::process::Command;

use kvhost_tests::readme::{expected_output, getting_started};
use kvhost_tests::{as_from_a_shell, root};

/// The first `name` on PATH.
fn on_path(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap();
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file()).expect("cargo is on PATH")
}

/// A `cargo` that builds `cargo install` in the workspace's target folder,
/// where the test suite's release build already is, instead of a cold one.
fn cargo_shim(dir: &Path) -> PathBuf {
    let bin = dir.join("shim");
    std::fs::create_dir_all(&bin).unwrap();
    let real = on_path("cargo");
    let target = root().join("target");
    let script = format!(
        "#!/bin/sh\nif [ \"$1\" = install ]; then shift; exec {real} install --target-dir {target} \"$@\"; fi\nexec {real} \"$@\"\n",
        real = real.display(),
        target = target.display()
    );
    let shim = bin.join("cargo");
    std::fs::write(&shim, script).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

#[test]
#[ignore = "installs kvhost with cargo install: scripts/test.sh runs it after the main suite"]
fn getting_started_commands_work_as_written() {
    let script = getting_started(&root().join("README.md"));
    let expected = expected_output(&script);
    assert!(expected.len() >= 4, "the block shows what it prints: {expected:?}");

    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(root(), dir.path().join("kvhost")).unwrap();
    let install = dir.path().join("install");
    let shim = cargo_shim(dir.path());
    let path = std::env::join_paths(
        [install.join("bin"), shim].into_iter().chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    // A newcomer's shell: `cargo install` then finds the build the other
    // tests' `kvhost_bin` made fresh, instead of building it again.
    let out = as_from_a_shell(&mut Command::new("bash"))
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(dir.path())
        .env("PATH", path)
        .env("CARGO_INSTALL_ROOT", &install)
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the getting-started commands failed\nstdout:\n{stdout}\nstderr:\n{stderr}");
    let printed: Vec<&str> = stdout.lines().collect();
    assert_eq!(printed, expected, "README.md shows other output than the commands print\nstderr:\n{stderr}");
    assert!(dir.path().join("hello-kv/hello.db").is_file(), "the SQLite file is where the README says");
}
