//! The SKAB CSV loader on any text: a malformed file is an error naming what is wrong, never a panic.
#![no_main]

use aeroguard_eval::skab::SkabFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(file) = SkabFile::parse("fuzz/valve1/0.csv", text) {
        let _ = file.name();
        let _ = file.train(file.x.nrows().min(50));
        assert_eq!(file.anomaly.len(), file.x.nrows());
    }
});
