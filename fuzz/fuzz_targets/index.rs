//! cargo-fuzz target: see `localrec_fuzz::index`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| localrec_fuzz::index(data));
