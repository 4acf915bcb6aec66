#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| stowage_fuzz::release_json(data));
