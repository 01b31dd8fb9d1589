//! OpenTelemetry instruments that record into our storage: what our
//! statics dereference to, so that `&opentelemetry::metrics::Counter<u64>`
//! and friends can be handed one of them.
//!
//! Each sink holds the instrument's table (leaked, so `'static`) and does
//! what the inherent method does. A record through it costs one virtual
//! call more than the inherent method.

use super::record_histogram;
use crate::storage::table::Table;
use opentelemetry::metrics::SyncInstrument;
use opentelemetry::KeyValue;
use std::sync::atomic::Ordering::Relaxed;

/// A counter's storage as an OpenTelemetry `SyncInstrument<u64>`.
pub(crate) struct CounterSink(pub(crate) &'static Table);

impl SyncInstrument<u64> for CounterSink {
    fn measure(&self, value: u64, attributes: &[KeyValue]) {
        let series = self.0.series(attributes);
        series.cells.add(0, value);
        crate::storage::exemplars::sum(series, value);
    }
}

/// An up-down counter's storage as a `SyncInstrument<i64>`.
pub(crate) struct UpDownCounterSink(pub(crate) &'static Table);

impl SyncInstrument<i64> for UpDownCounterSink {
    fn measure(&self, value: i64, attributes: &[KeyValue]) {
        let series = self.0.series(attributes);
        series.cells.add(0, value as u64);
        crate::storage::exemplars::sum(series, value as u64);
    }
}

/// A gauge's storage as a `SyncInstrument<f64>`.
pub(crate) struct GaugeSink(pub(crate) &'static Table);

impl SyncInstrument<f64> for GaugeSink {
    fn measure(&self, value: f64, attributes: &[KeyValue]) {
        self.0
            .series(attributes)
            .cells
            .at(0, 0)
            .store(value.to_bits(), Relaxed);
    }
}

/// A histogram's storage as a `SyncInstrument<f64>`.
pub(crate) struct HistogramSink(pub(crate) &'static Table);

impl SyncInstrument<f64> for HistogramSink {
    fn measure(&self, value: f64, attributes: &[KeyValue]) {
        record_histogram(self.0.series(attributes), self.0, value);
    }
}
