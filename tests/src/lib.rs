//! End-to-end tests; the shared harness is in `src/backend.rs`.
