//! What the live-service tests share: the credentials of `scripts/services`.
#![allow(dead_code)]

pub mod redis;
pub mod zk;

/// A credential of the running services: the environment, else `$AEROGUARD_SERVICES_DIR/credentials`.
pub fn services_credential(name: &str) -> String {
    if let Ok(v) = std::env::var(name) {
        return v;
    }
    let dir = std::env::var("AEROGUARD_SERVICES_DIR").unwrap_or_else(|_| "/tmp/aeroguard-services".into());
    let file = format!("{dir}/credentials");
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{name} unset and {file} unreadable ({e}): run `scripts/services start`"));
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("{file} has no {name}"))
        .to_string()
}
