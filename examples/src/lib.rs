//! Runnable AeroGuard programs; see the `examples/` folder of this package. This library holds the small
//! helpers they share.

/// Logging for the programs: `tracing` events to stderr, filtered by `RUST_LOG` (default: warnings, and
/// this package's info). The libraries only emit events; a program decides whether and where they print.
pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn,aeroguard_examples=info"));
    // A second call (tests starting several programs in one process) keeps the first subscriber.
    let _ignored = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// A progress bar on stderr for a long run of `len` steps; hidden (and free) when stderr is not a terminal,
/// so logs and CI output stay clean.
pub fn progress(len: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {elapsed} {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(what.to_string());
    bar
}

/// Prints a line above `bar` when it is drawn, or plainly when it is hidden.
pub fn say(bar: &indicatif::ProgressBar, line: &str) {
    if bar.is_hidden() {
        println!("{line}");
    } else {
        bar.println(line);
    }
}

mod error;
pub mod plot;

pub use error::{Error, Result};
