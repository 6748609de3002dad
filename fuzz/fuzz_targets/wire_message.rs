#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dnsledger_fuzz::wire_message(data));
