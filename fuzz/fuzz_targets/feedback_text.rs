//! cargo-fuzz target: see `localrec_fuzz::feedback_text`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| localrec_fuzz::feedback_text(data));
