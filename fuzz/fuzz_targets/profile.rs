//! cargo-fuzz target: see `localrec_fuzz::profile`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| localrec_fuzz::profile(data));
