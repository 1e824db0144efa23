//! Logging for the programs: `tracing` events to stderr, filtered by `RUST_LOG`. The libraries only emit
//! events; a program decides whether and where they print.

/// Installs a subscriber printing to stderr, filtered by `RUST_LOG`, else by `default` (for example
/// `"warn,aeroguard_sentinel=info"`). A second call keeps the first subscriber, so tests may start several
/// programs in one process.
///
/// ```
/// aeroguard_sentinel::logging::init("warn");
/// aeroguard_sentinel::logging::init("info"); // kept the first
/// ```
pub fn init(default: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ignored = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
