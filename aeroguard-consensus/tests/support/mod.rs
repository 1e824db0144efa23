//! What the live-service tests share: the credentials of `scripts/services`.
#![allow(dead_code)]

pub mod history;
pub mod redis;
pub mod zk;

/// A credential of the running services: the environment, else `$AEROGUARD_SERVICES_DIR/credentials`.
pub fn services_credential(name: &str) -> String {
    services_credential_opt(name).unwrap_or_else(|| panic!("the services have no {name}"))
}

/// A setting of the running services that may be absent (`AEROGUARD_REDIS_CA` when Redis runs plain).
pub fn services_credential_opt(name: &str) -> Option<String> {
    if let Ok(v) = std::env::var(name) {
        return Some(v);
    }
    let dir = std::env::var("AEROGUARD_SERVICES_DIR").unwrap_or_else(|_| "/tmp/aeroguard-services".into());
    let file = format!("{dir}/credentials");
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{name} unset and {file} unreadable ({e}): run `scripts/services start`"));
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .map(str::to_string)
}

/// Node `node`'s own login among the services' `AEROGUARD_MEMBERS` (`node:password`), if it has one.
pub fn member_credential(node: &str) -> Option<String> {
    services_credential_opt("AEROGUARD_MEMBERS")?
        .split_whitespace()
        .find(|m| m.split_once(':').is_some_and(|(n, _)| n == node))
        .map(str::to_string)
}
