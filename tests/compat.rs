//! Compatibility: a guest built against `kvhost:store@0.1.0` as first
//! released (a frozen copy of the interface, `tests/compat/`) runs on
//! today's host, so a change to `wit/` that breaks existing guests fails CI.

use kvhost_tests::{build_rust_crate, kvhost, text};

#[test]
fn a_guest_built_for_the_first_release_runs_on_todays_host() {
    let guest = build_rust_crate("tests/compat/guest", "compat-0-1-0", &[], "target/guests-compat");
    let out = kvhost(&["run", guest.to_str().unwrap()]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("compat: all 13 checks passed"), "{stdout}");
}
