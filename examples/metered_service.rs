//! A small metered service: sync and async paths, an error path and a
//! panic caught with `catch_unwind`.
//! `cargo run -p examples --example metered_service`, with
//! `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` pointing at a backend.

use std::time::Duration;
use telemetry_runtime::metered;

/// An in-memory shop.
pub struct Shop {
    stock: u32,
}

#[metered(labels(service = "shop"))]
impl Shop {
    /// Sync path: always succeeds.
    pub fn browse(&self, page: u32) -> Vec<u32> {
        std::thread::sleep(Duration::from_micros(200));
        (page..page + 3).collect()
    }

    /// Async path: fails when nothing is in stock.
    pub async fn checkout(&mut self, qty: u32) -> Result<u32, String> {
        tokio::task::yield_now().await;
        if qty == 0 || qty > self.stock {
            return Err(format!("cannot sell {qty}"));
        }
        self.stock -= qty;
        Ok(self.stock)
    }

    /// Panics on purpose.
    pub fn audit(&self) {
        panic!("audit failed");
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut shop = Shop { stock: 100 };
    for i in 0..10 {
        shop.browse(i);
    }
    for qty in [1, 2, 0, 3] {
        let _ = rt.block_on(shop.checkout(qty));
    }
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| shop.audit()));
    std::panic::set_hook(quiet);
    assert!(caught.is_err());
    match telemetry_runtime::flush() {
        Ok(()) => println!("metered_service: exported"),
        Err(e) => eprintln!("metered_service: export failed: {e}"),
    }
}
