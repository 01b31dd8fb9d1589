//! Examples live in this package's `examples` target list.
