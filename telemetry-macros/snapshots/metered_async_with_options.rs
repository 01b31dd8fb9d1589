async fn checkout(&self, qty: u32) -> Result<u32, String> {
    static __TELEMETRY_SITE: ::telemetry_runtime::__private::CallSite = ::telemetry_runtime::__private::CallSite::new(
        &__TELEMETRY_SITE,
        ::telemetry_runtime::__private::Metadata {
            name: "function_call_duration_seconds",
            kind: ::telemetry_runtime::__private::InstrumentKind::Histogram,
            unit: "s",
            description: "Duration of metered function calls, by result.",
            buckets: ::telemetry_runtime::DEFAULT_DURATION_BUCKETS,
            location: ::telemetry_runtime::__private::Location {
                file: ::core::file!(),
                line: ::core::line!(),
                column: ::core::column!(),
                module_path: ::core::module_path!(),
            },
            cardinality_limit: 8usize,
            const_attributes: &[
                ("function", "checkout"),
                ("module", ::core::module_path!()),
                ("tier", "gold"),
            ],
            zero_series: ::telemetry_runtime::__private::RESULT_ZERO_SERIES,
            label_keys: &["result"],
            label_values: &[::telemetry_runtime::__private::RESULT_VALUES],
            objectives: &[],
        },
        ::telemetry_runtime::__private::Metadata {
            name: "function_calls_total",
            kind: ::telemetry_runtime::__private::InstrumentKind::Counter,
            unit: "",
            description: "Calls of metered functions, by result (ok, error, panic, cancelled).",
            buckets: &[],
            location: ::telemetry_runtime::__private::Location {
                file: ::core::file!(),
                line: ::core::line!(),
                column: ::core::column!(),
                module_path: ::core::module_path!(),
            },
            cardinality_limit: 8usize,
            const_attributes: &[
                ("function", "checkout"),
                ("module", ::core::module_path!()),
                ("tier", "gold"),
            ],
            zero_series: ::telemetry_runtime::__private::RESULT_ZERO_SERIES,
            label_keys: &["result"],
            label_values: &[::telemetry_runtime::__private::RESULT_VALUES],
            objectives: &[],
        },
        ::telemetry_runtime::__private::Metadata {
            name: "function_calls_in_flight",
            kind: ::telemetry_runtime::__private::InstrumentKind::UpDownCounter,
            unit: "",
            description: "Calls of metered functions in progress.",
            buckets: &[],
            location: ::telemetry_runtime::__private::Location {
                file: ::core::file!(),
                line: ::core::line!(),
                column: ::core::column!(),
                module_path: ::core::module_path!(),
            },
            cardinality_limit: 8usize,
            const_attributes: &[
                ("function", "checkout"),
                ("module", ::core::module_path!()),
                ("tier", "gold"),
            ],
            zero_series: &[&[]],
            label_keys: &[],
            label_values: &[],
            objectives: &[],
        },
        ::telemetry_runtime::__private::Metadata {
            name: "function_calls_entered_total",
            kind: ::telemetry_runtime::__private::InstrumentKind::Counter,
            unit: "",
            description: "Entries into a metered function (internal).",
            buckets: &[],
            location: ::telemetry_runtime::__private::Location {
                file: ::core::file!(),
                line: ::core::line!(),
                column: ::core::column!(),
                module_path: ::core::module_path!(),
            },
            cardinality_limit: 8usize,
            const_attributes: &[
                ("function", "checkout"),
                ("module", ::core::module_path!()),
                ("tier", "gold"),
            ],
            zero_series: &[&[]],
            label_keys: &[],
            label_values: &[],
            objectives: &[],
        },
    );
    const _: () = {
        #[::telemetry_runtime::__private::linkme::distributed_slice(
            ::telemetry_runtime::__private::TELEMETRY_RUNTIME_INSTRUMENTS
        )]
        #[linkme(crate = ::telemetry_runtime::__private::linkme)]
        static __TELEMETRY_RUNTIME_ENTRY: &'static ::telemetry_runtime::__private::Instrument = __TELEMETRY_SITE
            .duration_instrument();
    };
    const _: () = {
        #[::telemetry_runtime::__private::linkme::distributed_slice(
            ::telemetry_runtime::__private::TELEMETRY_RUNTIME_INSTRUMENTS
        )]
        #[linkme(crate = ::telemetry_runtime::__private::linkme)]
        static __TELEMETRY_RUNTIME_ENTRY: &'static ::telemetry_runtime::__private::Instrument = __TELEMETRY_SITE
            .calls_instrument();
    };
    let __telemetry_guard = ::telemetry_runtime::__private::CallSite::enter(
        &__TELEMETRY_SITE,
    );
    let __telemetry_result: Result<u32, String> = async move {
        #[allow(unreachable_code, clippy::diverging_sub_expression)]
        if false {
            let __telemetry_fake_return: Result<u32, String> = loop {};
            return __telemetry_fake_return;
        }
        Ok(qty)
    }
        .await;
    __telemetry_guard
        .finish({
            #[allow(unused_imports)]
            use ::telemetry_runtime::__private::{ProbeOther as _, ProbeResult as _};
            (&::telemetry_runtime::__private::Probe(&__telemetry_result))
                .__telemetry_is_error()
        });
    __telemetry_result
}
