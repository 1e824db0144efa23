//! Criterion benchmarks for AeroGuard; see `benches/` and `README.md` in this package.
