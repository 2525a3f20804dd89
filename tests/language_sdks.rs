//! The guests on the Python and JavaScript SDKs (`guest-examples/python-sdk`,
//! `guest-examples/javascript-sdk`): every part of each SDK, through
//! `kvhost run`, on a memory store, a SQLite file and PostgreSQL, as
//! `sdk_guest.rs` runs the Rust SDK's guest; and each SDK README's
//! getting-started commands, as written.

use std::path::Path;
use std::process::Command;

use kvhost_tests::guests::{Lang, guest};
use kvhost_tests::readme::{expected_output, getting_started};
use kvhost_tests::{kvhost, kvhost_bin, root, served, text};

/// `kvhost run ARGS GUEST GUEST_ARGS`: its stdout, asserting success.
fn run_ok(guest: &Path, args: &[&str], guest_args: &[&str]) -> String {
    let out = kvhost(&[&["run"], args, &[guest.to_str().unwrap()], guest_args].concat());
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    stdout
}

/// The tour of `lang`'s guest on the store `args` give it: its checks all
/// pass, on the backend it names.
fn tour(lang: Lang, args: &[&str], store: &str, backend: &str, checks: u32) {
    let program = lang.program();
    let out = run_ok(&guest(lang), args, &["tour"]);
    assert!(out.contains(&format!("{program}: store {store} on {backend} backend")), "{out}");
    assert!(out.contains(&format!("{program}: all {checks} checks passed")), "{out}");
}

/// The tour on SQLite, then `visit` twice: the count survives between runs.
fn tour_on_sqlite(lang: Lang, checks: u32) {
    let dir = tempfile::tempdir().unwrap();
    let registry = served::sqlite(dir.path());
    let args = ["--config", &registry, "--default-store", "app:kv"];
    tour(lang, &args, "app:kv", "sqlite", checks);
    assert_eq!(run_ok(&guest(lang), &args, &["visit"]), "visit 1\n");
    assert_eq!(run_ok(&guest(lang), &args, &["visit"]), "visit 2\n");
}

fn tour_on_postgres(lang: Lang, checks: u32) {
    let dir = tempfile::tempdir().unwrap();
    let registry = served::postgres(dir.path());
    tour(lang, &["--config", &registry, "--default-store", "app:kv"], "app:kv", "postgres", checks);
}

/// `fill` writes keys in one run and `keys` lists them in the next, paging
/// through the SDK's iterator.
fn keys_page_through_a_store(lang: Lang) {
    let dir = tempfile::tempdir().unwrap();
    let registry = served::sqlite(dir.path());
    let args = ["--config", &registry, "--default-store", "app:kv"];
    run_ok(&guest(lang), &args, &["fill", "user:", "2345"]);
    run_ok(&guest(lang), &args, &["fill", "other:", "3"]);
    let listed = run_ok(&guest(lang), &args, &["keys", "user:"]);
    let expected: Vec<String> = (0..2345).map(|i| format!("user:{i:06}")).collect();
    assert_eq!(listed.lines().collect::<Vec<_>>(), expected);
}

/// A store the guest was not granted: the SDK's AccessDenied, caught by its
/// class, and a non-zero exit.
fn a_store_error_is_its_own_class(lang: Lang) {
    let out = kvhost(&["run", guest(lang).to_str().unwrap(), "--store", "app:not-granted"]);
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "{stdout}\n{stderr}");
    let expected = format!("{}: cannot open the store: access denied (AccessDenied)", lang.program());
    assert!(stderr.contains(&expected), "{stdout}\n{stderr}");
}

/// The getting-started block of `sdk`'s README, run with bash in a new
/// folder beside a link `kvhost` to this repository and with `kvhost` on
/// PATH: it succeeds and prints, among what the tools say, every line the
/// README says it prints, in order.
fn readme_commands_work_as_written(sdk: &str) {
    let readme = root().join(sdk).join("README.md");
    let script = getting_started(&readme);
    let expected = expected_output(&script);
    assert!(!expected.is_empty(), "{} shows what its commands print", readme.display());

    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(root(), dir.path().join("kvhost")).unwrap();
    let bin_dir = kvhost_bin().parent().unwrap().to_owned();
    let path = std::env::var_os("PATH").unwrap();
    let path = std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(&path))).unwrap();
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(dir.path())
        .env("PATH", path)
        // The commands choose their environment themselves (python3 -m venv).
        .env_remove("VIRTUAL_ENV")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(
        out.status.success(),
        "{}: the getting-started commands failed\nstdout:\n{stdout}\nstderr:\n{stderr}",
        readme.display()
    );
    let mut printed = stdout.lines();
    for line in &expected {
        assert!(
            printed.any(|p| p == line),
            "{} says the commands print {line:?}, in this order: {expected:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
            readme.display()
        );
    }
}

/// The tests of one SDK, in a module named for its language (what
/// `KVHOST_SKIP`'s filters in scripts/test.sh match): its guest, how many
/// checks its tour makes, and the SDK's folder.
macro_rules! sdk_tests {
    ($($lang:ident => $guest:expr, $checks:expr, $sdk:literal;)*) => {$(
        mod $lang {
            use super::*;

            #[test]
            fn sdk_guest_passes_its_tour_on_memory() {
                tour($guest, &[], "default", "memory", $checks);
            }

            #[test]
            fn sdk_guest_passes_its_tour_on_sqlite() {
                tour_on_sqlite($guest, $checks);
            }

            #[test]
            fn sdk_guest_passes_its_tour_on_postgres() {
                tour_on_postgres($guest, $checks);
            }

            #[test]
            fn sdk_keys_page_through_a_store() {
                keys_page_through_a_store($guest);
            }

            #[test]
            fn sdk_reports_a_store_error_as_its_own_class() {
                a_store_error_is_its_own_class($guest);
            }

            #[test]
            fn sdk_readme_commands_work_as_written() {
                $guest.need().check();
                readme_commands_work_as_written($sdk);
            }
        }
    )*};
}

sdk_tests! {
    python => Lang::PythonSdk, 17, "guest-sdk-python";
    javascript => Lang::JavaScriptSdk, 16, "guest-sdk-js";
}
