//! A small metered service, exported to the real backend: exact counts per
//! `result`, plausible durations, in-flight back at zero.

use std::time::Duration;
use telemetry_runtime::metered;
use tests::{backend, setup};

struct Shop {
    stock: u32,
}

#[metered(labels(service = "e2e_shop"))]
impl Shop {
    fn browse(&self, page: u32) -> Vec<u32> {
        std::thread::sleep(Duration::from_millis(2));
        (page..page + 3).collect()
    }

    async fn checkout(&mut self, qty: u32) -> Result<u32, String> {
        tokio::task::yield_now().await;
        if qty == 0 || qty > self.stock {
            return Err(format!("cannot sell {qty}"));
        }
        self.stock -= qty;
        Ok(self.stock)
    }

    fn audit(&self) {
        panic!("audit failed");
    }
}

#[test]
fn metered_service_arrives_exactly() {
    let id = setup();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut shop = Shop { stock: 100 };
    for i in 0..10 {
        shop.browse(i);
    }
    for qty in [1, 2, 0, 3, 500] {
        let _ = rt.block_on(shop.checkout(qty));
    }
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| shop.audit()));
    std::panic::set_hook(quiet);
    assert!(caught.is_err());
    telemetry_runtime::flush().expect("flush");

    let b = backend();
    let l = b.instance_label();
    let sel = |f: &str, extra: &str| {
        format!("{{{l}=\"{id}\",service=\"e2e_shop\",function=\"{f}\"{extra}}}")
    };
    let calls = |f: &str, r: &str, n: f64| {
        b.wait_for_value(
            &format!(
                "function_calls_total{}",
                sel(f, &format!(",result=\"{r}\""))
            ),
            n,
        )
    };
    calls("Shop::browse", "ok", 10.0);
    calls("Shop::browse", "error", 0.0);
    calls("Shop::checkout", "ok", 3.0);
    calls("Shop::checkout", "error", 2.0);
    calls("Shop::audit", "panic", 1.0);
    calls("Shop::audit", "ok", 0.0);
    let labels = b.wait_for_value(
        &format!(
            "function_call_duration_seconds_count{}",
            sel("Shop::browse", ",result=\"ok\"")
        ),
        10.0,
    );
    assert_eq!(
        labels.get("module").map(String::as_str),
        Some("metered_e2e")
    );
    // Ten sleeps of 2 ms: at least 20 ms, and far below a second.
    let sum = b.wait_until(
        &format!(
            "function_call_duration_seconds_sum{}",
            sel("Shop::browse", ",result=\"ok\"")
        ),
        |r| r.len() == 1,
    )[0]
    .1;
    assert!((0.02..1.0).contains(&sum), "browse duration sum {sum}");
    for f in ["Shop::browse", "Shop::checkout", "Shop::audit"] {
        b.wait_for_value(&format!("function_calls_in_flight{}", sel(f, "")), 0.0);
    }
    // Buckets cover 1 µs to 60 s.
    b.wait_for_value(
        &format!(
            "function_call_duration_seconds_bucket{}",
            sel("Shop::browse", ",result=\"ok\",le=\"60\"")
        ),
        10.0,
    );
}
