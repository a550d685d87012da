//! cargo-fuzz target: see `localrec_fuzz::catalogue_jsonl`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| localrec_fuzz::catalogue_jsonl(data));
