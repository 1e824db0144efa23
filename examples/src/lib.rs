//! Runnable AeroGuard programs; see the `examples/` folder of this package. This library holds what they share.
