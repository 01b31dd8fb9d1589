//! Where recorded values live: per-instrument tables of series, each series
//! a block of cache-line padded atomic cells striped per thread.

pub(crate) mod attrs;
pub(crate) mod buckets;
pub(crate) mod cells;
pub(crate) mod exp_table;
pub(crate) mod exponential;
pub(crate) mod table;

pub use table::DEFAULT_CARDINALITY_LIMIT;
