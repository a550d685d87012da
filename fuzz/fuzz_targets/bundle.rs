//! cargo-fuzz target: see `localrec_fuzz::bundle`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| localrec_fuzz::bundle(data));
