//! Benchmarks of telemetry-runtime and its peers.
