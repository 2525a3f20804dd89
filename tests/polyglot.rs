//! Guests in Python, JavaScript and C, each built by its own toolchain, run
//! end to end on a memory store, a SQLite file, PostgreSQL and Redis, each
//! pair a test of its own.

use kvhost::guest::{ComponentCache, GuestLimits, GuestRun, GuestRunner, Stdio};
use kvhost_tests::backend::{Backend, Kind};
use kvhost_tests::guests::{Lang, guest};
use kvhost_tests::{root, rt};

/// Run `lang`'s self-check on `kind` and assert every check passed.
fn passes_on(lang: Lang, kind: Kind) {
    let wasm = guest(lang);
    let b = Backend::new(kind);
    // The big components compile once per cache, not once per test.
    let cache = ComponentCache::open(root().join("target/guests/cache")).unwrap();
    let runner = GuestRunner::new().unwrap().with_cache(cache);
    let component = runner.load(&wasm).unwrap();
    let prepared = runner.prepare(&component).unwrap();
    let run = GuestRun {
        name: lang.program().into(),
        args: vec!["demo".into()],
        env: Vec::new(),
        kv: b.kv(),
        limits: GuestLimits::default(),
        stdio: Stdio::Capture,
    };
    let out = rt()
        .block_on(runner.run_prepared(&prepared, run))
        .unwrap_or_else(|e| panic!("{} on {kind:?}: {e:#}", lang.name()));
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.exit_code, 0, "{} on {kind:?}:\n{stdout}\n{stderr}", lang.name());
    let backend = b.store.info().backend;
    assert!(stdout.contains(&format!("{}: store test:a on {backend} backend", lang.program())), "{stdout}");
    assert!(stdout.contains(&format!("{}: all 10 checks passed", lang.program())), "{kind:?}:\n{stdout}");
    // The guest's writes went to this store, and its final clear too.
    assert!(b.store.list("", None, 10).unwrap().is_empty(), "{kind:?}");
}

/// One module per language, one test per backend (named for what it needs).
macro_rules! guest_passes {
    ($($lang:ident => $value:expr),* $(,)?) => {$(
        mod $lang {
            use super::*;

            #[test]
            fn guest_passes_on_memory() {
                passes_on($value, Kind::Memory);
            }

            #[test]
            fn guest_passes_on_sqlite() {
                passes_on($value, Kind::SqliteFile);
            }

            #[test]
            fn guest_passes_on_postgres() {
                passes_on($value, Kind::Postgres);
            }

            #[test]
            fn guest_passes_on_redis() {
                passes_on($value, Kind::Redis);
            }
        }
    )*};
}

guest_passes! {
    python => Lang::Python,
    javascript => Lang::JavaScript,
    c => Lang::C,
}
