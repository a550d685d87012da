//! cargo-fuzz target: see `localrec_fuzz::events_jsonl`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| localrec_fuzz::events_jsonl(data));
