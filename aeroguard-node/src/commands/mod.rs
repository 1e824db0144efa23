//! The `aeroguard-node` commands.

pub mod authority;
pub mod cluster;
pub mod drain;
pub mod epoch;
pub mod roles;

use aeroguard_node::CommandEvent;

/// Prints `event` as one JSON line, flushed; exits quietly when nobody reads the output any more.
pub fn say(event: CommandEvent) {
    use std::io::Write;
    let line = event.to_line();
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
        // Whoever read this process's output is gone; nothing to tell.
        std::process::exit(0);
    }
}
