//! The fuzz corpus (fuzz/corpus), replayed on stable Rust in every test run:
//! each input that ever reached new code in `cargo fuzz` still holds the
//! properties in `kvhost_tests::fuzz`.

use kvhost_tests::{fuzz, root};

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = root().join("fuzz/corpus").join(target);
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let path = e.unwrap().path();
            (path.display().to_string(), std::fs::read(&path).unwrap())
        })
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "{} is empty", dir.display());
    inputs
}

#[test]
fn registry_corpus_loads_or_fails_with_errors_naming_the_file() {
    for (path, data) in corpus("registry") {
        eprintln!("{path}");
        fuzz::registry(&data);
    }
}

#[test]
fn identifier_corpus_is_accepted_exactly_when_it_matches_the_pattern() {
    let mut accepted = 0;
    for (_, data) in corpus("identifier") {
        if let Ok(name) = std::str::from_utf8(&data) {
            fuzz::identifier(name);
            accepted += usize::from(kvhost::sql::valid_identifier(name));
        }
    }
    assert!(accepted > 0, "the corpus should hold some valid names too");
}
