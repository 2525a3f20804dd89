//! Registry files: any bytes load or fail with errors naming the file, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kvhost_tests::fuzz::registry(data));
