//! The properties the fuzz targets in `fuzz/` check, shared with the test
//! that replays their corpus on stable Rust (`tests/fuzz_corpus.rs`).

use kvhost::registry::{Registry, parse_duration, parse_size};
use kvhost::sql::{Dialect, TableNames, valid_identifier};

/// Any text given as a registry file loads or fails with errors that each
/// name the file; it never panics. Durations and sizes parse or fail the same way.
pub fn registry(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Err(err) = Registry::from_yaml("fuzz.yaml", text) {
        assert!(!err.errors().is_empty(), "an error with no problems in it");
        for e in err.errors() {
            assert!(e.to_string().starts_with("fuzz.yaml"), "error does not name the file: {e}");
        }
    }
    let _ = parse_duration(text);
    let _ = parse_size(text);
}

/// A table or column name is accepted exactly when it matches
/// `^[A-Za-z_][A-Za-z0-9_]{0,62}$`, and an accepted one is quoted by adding
/// one quote character on each side, for every dialect.
pub fn identifier(name: &str) {
    let mut chars = name.chars();
    let expected = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 63;
    assert_eq!(valid_identifier(name), expected, "{name:?}");
    assert_eq!(TableNames::new(name).validate().is_ok(), expected, "{name:?}");
    if expected {
        for d in [Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite] {
            let quoted = d.quote(name);
            assert_eq!(&quoted[1..quoted.len() - 1], name, "{d:?} quoting of {name:?}");
        }
    }
}
