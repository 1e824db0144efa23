//! The test services' script (`scripts/services`), run as a test would: kill, pause, resume or restart one
//! server by its name (`zk1`, `redis2`, ...), by the pid the script recorded.

use std::process::Command;

/// Runs `scripts/services ARGS`; panics (failing the test) if it cannot run or does not succeed.
pub fn services(args: &[&str]) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/services");
    let status = Command::new("bash")
        .arg(script)
        .args(args)
        .status()
        .expect("run scripts/services");
    assert!(status.success(), "scripts/services {args:?} failed");
}
