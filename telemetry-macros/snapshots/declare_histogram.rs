pub static LAT: ::telemetry_runtime::Histogram = ::telemetry_runtime::Histogram::__new(::telemetry_runtime::__private::Metadata {
    name: "rpc_latency_seconds",
    kind: ::telemetry_runtime::__private::InstrumentKind::Histogram,
    unit: "s",
    description: "",
    buckets: &[0.1f64, 1f64],
    location: ::telemetry_runtime::__private::Location {
        file: ::core::file!(),
        line: ::core::line!(),
        column: ::core::column!(),
        module_path: ::core::module_path!(),
    },
    cardinality_limit: ::telemetry_runtime::DEFAULT_CARDINALITY_LIMIT,
    const_attributes: &[],
    zero_series: &[&[]],
    label_keys: &[],
    label_values: &[],
    objectives: &[],
});
const _: () = {
    #[::telemetry_runtime::__private::linkme::distributed_slice(
        ::telemetry_runtime::__private::TELEMETRY_RUNTIME_INSTRUMENTS
    )]
    #[linkme(crate = ::telemetry_runtime::__private::linkme)]
    static __TELEMETRY_RUNTIME_ENTRY: &'static ::telemetry_runtime::__private::Instrument = LAT
        .__instrument();
};
