//! Where recorded values live: per-instrument tables of series, each series
//! a block of cache-line padded atomic cells striped per thread.

pub(crate) mod attrs;
pub(crate) mod buckets;
pub(crate) mod cells;
pub(crate) mod exemplars;
pub(crate) mod exp_table;
pub(crate) mod exponential;
pub(crate) mod normalise;
pub(crate) mod table;

pub use table::DEFAULT_CARDINALITY_LIMIT;

use crate::meta::Metadata;
use linkme::distributed_slice;

/// A value a record did not keep as given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Loss {
    /// NaN, not recorded.
    Nan,
    /// A new attribute set past the cardinality limit, recorded into the
    /// overflow series.
    Overflow,
}

/// Who counts losses: the runtime's health metrics (in the layer above)
/// put their counter here at link time, so storage and the instruments
/// report a loss without naming that layer.
#[distributed_slice]
pub(crate) static TELEMETRY_RUNTIME_LOSS_HOOKS: [fn(Loss, &Metadata)];

/// Reports a loss of `meta` to the hooks. Called on cold branches only.
#[cold]
pub(crate) fn lost(loss: Loss, meta: &Metadata) {
    for hook in TELEMETRY_RUNTIME_LOSS_HOOKS {
        hook(loss, meta);
    }
}
