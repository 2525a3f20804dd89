//! Table and column names: accepted exactly when they match the SPEC pattern.
#![no_main]

libfuzzer_sys::fuzz_target!(|name: &str| kvhost_tests::fuzz::identifier(name));
