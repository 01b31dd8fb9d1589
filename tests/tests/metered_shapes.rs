//! `#[metered]` on every supported shape of function, checked by what it
//! records (read in-process with `telemetry_runtime::snapshot()`).

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Once};
use std::task::{Context, Waker};
use telemetry_runtime::metered;

fn setup() {
    static ONCE: Once = Once::new();
    // Nothing is exported from this binary: values are read in-process.
    ONCE.call_once(|| std::env::set_var("HYPERACTOR_OTEL_BACKEND", "none"));
}

fn calls(function: &str, result: &str) -> f64 {
    telemetry_runtime::snapshot()
        .value(
            "function_calls_total",
            &[("function", function), ("result", result)],
        )
        .unwrap_or(0.0)
}

fn in_flight(function: &str) -> f64 {
    telemetry_runtime::snapshot()
        .value("function_calls_in_flight", &[("function", function)])
        .unwrap_or(0.0)
}

/// The duration histogram of `function`'s calls with `result`: (count, sum).
fn durations(function: &str, result: &str) -> (u64, f64) {
    telemetry_runtime::snapshot()
        .histogram(
            "function_call_duration_seconds",
            &[("function", function), ("result", result)],
        )
        .unwrap_or_default()
}

fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

#[metered]
fn sync_ok(x: u32) -> u32 {
    x + 1
}

#[metered]
fn sync_result(ok: bool) -> Result<u8, String> {
    if ok {
        Ok(1)
    } else {
        Err("no".into())
    }
}

#[metered]
fn sync_panics() {
    panic!("boom");
}

#[test]
fn sync_functions_count_ok_error_and_panic() {
    setup();
    assert_eq!(sync_ok(1), 2);
    assert_eq!(sync_result(true), Ok(1));
    assert!(sync_result(false).is_err());
    assert!(sync_result(false).is_err());
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    assert!(std::panic::catch_unwind(sync_panics).is_err());
    std::panic::set_hook(prev);
    assert_eq!(calls("sync_ok", "ok"), 1.0);
    assert_eq!(calls("sync_result", "ok"), 1.0);
    assert_eq!(calls("sync_result", "error"), 2.0);
    assert_eq!(calls("sync_panics", "panic"), 1.0);
    assert_eq!(in_flight("sync_panics"), 0.0);
    let (n, sum) = durations("sync_panics", "panic");
    assert_eq!(n, 1);
    assert!(sum > 0.0 && sum < 10.0, "{sum}");
}

#[metered]
fn io_alias(fail: bool) -> std::io::Result<()> {
    if fail {
        return Err(std::io::Error::other("x"));
    }
    Ok(())
}

#[metered]
fn early_return_and_question_mark(s: &str) -> Result<u32, std::num::ParseIntError> {
    if s.is_empty() {
        return Ok(0);
    }
    let n: u32 = s.parse()?;
    Ok(n * 2)
}

#[metered]
fn returns_impl_trait(n: u32) -> impl Iterator<Item = u32> {
    (0..n).map(|x| x * 2)
}

#[metered]
fn returns_result_impl_trait(
    s: &str,
) -> Result<impl Iterator<Item = u32>, std::num::ParseIntError> {
    let n: u32 = s.parse()?;
    Ok((0..n).map(|x| x + 1))
}

#[test]
fn results_behind_aliases_early_returns_and_impl_trait() {
    setup();
    io_alias(true).unwrap_err();
    io_alias(false).unwrap();
    assert_eq!(calls("io_alias", "error"), 1.0);
    assert_eq!(calls("io_alias", "ok"), 1.0);
    assert_eq!(early_return_and_question_mark(""), Ok(0));
    assert_eq!(early_return_and_question_mark("21"), Ok(42));
    assert!(early_return_and_question_mark("x").is_err());
    assert_eq!(calls("early_return_and_question_mark", "ok"), 2.0);
    assert_eq!(calls("early_return_and_question_mark", "error"), 1.0);
    assert_eq!(returns_impl_trait(3).collect::<Vec<_>>(), [0, 2, 4]);
    assert_eq!(calls("returns_impl_trait", "ok"), 1.0);
    assert_eq!(returns_result_impl_trait("2").unwrap().sum::<u32>(), 3);
    assert!(returns_result_impl_trait("z").is_err());
    assert_eq!(calls("returns_result_impl_trait", "ok"), 1.0);
    assert_eq!(calls("returns_result_impl_trait", "error"), 1.0);
}

struct Service {
    hits: u32,
}

impl Service {
    #[metered]
    fn by_ref(&self) -> u32 {
        self.hits
    }

    #[metered]
    fn by_mut(&mut self) {
        self.hits += 1;
    }

    #[metered]
    fn by_value(self) -> u32 {
        self.hits
    }

    #[metered]
    fn by_arc(self: Arc<Self>) -> u32 {
        self.hits
    }

    #[metered]
    fn associated() -> Service {
        Service { hits: 0 }
    }
}

#[test]
fn methods_with_every_receiver() {
    setup();
    let mut s = Service::associated();
    s.by_mut();
    assert_eq!(s.by_ref(), 1);
    assert_eq!(Arc::new(Service { hits: 5 }).by_arc(), 5);
    assert_eq!(s.by_value(), 1);
    for f in ["associated", "by_mut", "by_ref", "by_arc", "by_value"] {
        assert_eq!(calls(f, "ok"), 1.0, "{f}");
    }
}

#[metered]
fn generic<T: std::fmt::Debug>(t: T) -> String {
    format!("{t:?}")
}

#[test]
fn generic_instantiations_share_one_call_site() {
    setup();
    generic(1u8);
    generic("a");
    generic(2.5f64);
    assert_eq!(calls("generic", "ok"), 3.0);
    let sites = telemetry_runtime::catalog()
        .get("function_calls_total")
        .filter(|m| m.const_attributes.contains(&("function", "generic")))
        .count();
    assert_eq!(sites, 1);
}

#[metered]
#[track_caller]
fn where_called() -> u32 {
    std::panic::Location::caller().line()
}

#[metered]
#[track_caller]
fn tracked_question_mark(s: &str) -> Option<char> {
    let c = s.chars().next()?;
    if c == 'x' {
        return None;
    }
    Some(c)
}

#[test]
fn track_caller_keeps_the_callers_location() {
    setup();
    let line = line!() + 1;
    let reported = where_called();
    assert_eq!(reported, line);
    assert_eq!(tracked_question_mark("ab"), Some('a'));
    assert_eq!(tracked_question_mark(""), None);
    assert_eq!(tracked_question_mark("x"), None);
    assert_eq!(calls("tracked_question_mark", "ok"), 3.0);
    assert_eq!(calls("where_called", "ok"), 1.0);
}

#[metered]
unsafe fn unsafe_read(p: *const u32) -> u32 {
    *p
}

#[metered]
extern "C" fn c_abi(x: i32) -> i32 {
    x * 3
}

#[test]
fn unsafe_and_extern_functions() {
    setup();
    let v = 7u32;
    // SAFETY: `v` is a live u32.
    assert_eq!(unsafe { unsafe_read(&v) }, 7);
    assert_eq!(c_abi(2), 6);
    assert_eq!(calls("unsafe_read", "ok"), 1.0);
    assert_eq!(calls("c_abi", "ok"), 1.0);
}

struct Repo;

#[metered(labels(layer = "storage"))]
impl Repo {
    fn get(&self, k: u32) -> Option<u32> {
        Some(k)
    }

    #[metered(name = "repo_put")]
    fn put(&self, _k: u32) -> Result<(), String> {
        Err("read-only".into())
    }

    #[metered(skip)]
    fn helper(&self) -> u32 {
        0
    }

    const LIMIT: u32 = 3;
}

#[test]
fn impl_blocks_meter_every_method_but_skipped_ones() {
    setup();
    let r = Repo;
    r.get(1);
    r.put(Repo::LIMIT).unwrap_err();
    r.helper();
    assert_eq!(calls("Repo::get", "ok"), 1.0);
    assert_eq!(calls("repo_put", "error"), 1.0);
    let s = telemetry_runtime::snapshot();
    assert_eq!(
        s.value(
            "function_calls_total",
            &[("function", "repo_put"), ("layer", "storage")]
        ),
        Some(1.0)
    );
    assert_eq!(
        s.value("function_calls_total", &[("function", "Repo::helper")]),
        None
    );
}

#[metered]
async fn async_work(fail: bool) -> Result<u32, String> {
    tokio::task::yield_now().await;
    if fail {
        Err("failed".into())
    } else {
        Ok(3)
    }
}

#[test]
fn async_functions_time_the_whole_future() {
    setup();
    let fut = async_work(false);
    // Creating the future runs nothing.
    assert_eq!(in_flight("async_work"), 0.0);
    assert_eq!(block_on(fut), Ok(3));
    assert_eq!(block_on(async_work(true)), Err("failed".into()));
    assert_eq!(calls("async_work", "ok"), 1.0);
    assert_eq!(calls("async_work", "error"), 1.0);
    assert_eq!(in_flight("async_work"), 0.0);
}

#[metered]
async fn never_finishes() {
    std::future::pending::<()>().await
}

#[test]
fn cancelled_futures_have_their_own_result_and_do_not_leak_in_flight() {
    setup();
    {
        let mut fut = pin!(never_finishes());
        let mut cx = Context::from_waker(Waker::noop());
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        assert_eq!(in_flight("never_finishes"), 1.0);
    }
    assert_eq!(in_flight("never_finishes"), 0.0);
    assert_eq!(calls("never_finishes", "cancelled"), 1.0);
}

#[async_trait::async_trait]
trait Fetch {
    async fn fetch(&self, n: u32) -> Result<u32, String>;
}

struct Fetcher;

#[async_trait::async_trait]
#[metered]
impl Fetch for Fetcher {
    async fn fetch(&self, n: u32) -> Result<u32, String> {
        tokio::task::yield_now().await;
        Ok(n)
    }
}

struct Fetcher2;

#[metered]
#[async_trait::async_trait]
impl Fetch for Fetcher2 {
    async fn fetch(&self, n: u32) -> Result<u32, String> {
        tokio::task::yield_now().await;
        Err(format!("{n}"))
    }
}

trait Native {
    async fn native(&self) -> u32;
}

#[metered]
impl Native for Fetcher {
    async fn native(&self) -> u32 {
        tokio::task::yield_now().await;
        9
    }
}

#[test]
fn async_trait_and_native_async_trait_methods_time_the_future() {
    setup();
    let boxed = Fetcher.fetch(1);
    // The boxed future exists but has not run: nothing counted yet.
    assert_eq!(calls("Fetcher::fetch", "ok"), 0.0);
    assert_eq!(block_on(boxed), Ok(1));
    assert_eq!(calls("Fetcher::fetch", "ok"), 1.0);
    assert_eq!(block_on(Fetcher2.fetch(2)), Err("2".into()));
    assert_eq!(calls("Fetcher2::fetch", "error"), 1.0);
    assert_eq!(block_on(Fetcher.native()), 9);
    assert_eq!(calls("Fetcher::native", "ok"), 1.0);
}

#[metered]
fn returns_future(n: u32) -> impl Future<Output = Result<u32, String>> + Send {
    async move {
        tokio::task::yield_now().await;
        if n == 0 {
            Err("zero".into())
        } else {
            Ok(n)
        }
    }
}

#[test]
fn impl_future_functions_are_timed_until_the_future_completes() {
    setup();
    let fut = returns_future(4);
    assert_eq!(in_flight("returns_future"), 1.0);
    assert_eq!(calls("returns_future", "ok"), 0.0);
    assert_eq!(block_on(fut), Ok(4));
    assert_eq!(block_on(returns_future(0)), Err("zero".into()));
    assert_eq!(calls("returns_future", "ok"), 1.0);
    assert_eq!(calls("returns_future", "error"), 1.0);
    assert_eq!(in_flight("returns_future"), 0.0);
}

#[metered(without(in_flight, duration))]
fn lean() {}

#[metered(buckets = [0.5, 1.0], histogram = "slow_call_duration_seconds")]
fn custom_buckets() {}

#[test]
fn options_leave_out_instruments_and_change_buckets() {
    setup();
    lean();
    custom_buckets();
    let cat = telemetry_runtime::catalog();
    let lean_site = |name: &str| {
        cat.get(name)
            .any(|m| m.const_attributes.contains(&("function", "lean")))
    };
    assert!(lean_site("function_calls_total"));
    assert!(!lean_site("function_calls_in_flight"));
    assert!(!lean_site("function_call_duration_seconds"));
    assert_eq!(calls("lean", "ok"), 1.0);
    let h = cat.get("slow_call_duration_seconds").next().unwrap();
    assert_eq!(h.buckets, &[0.5, 1.0]);
    assert_eq!(h.unit, "s");
    assert_eq!(calls("custom_buckets", "ok"), 1.0);
}

#[metered]
fn declared_never_called() {}

#[test]
fn call_sites_are_exported_as_zero_before_the_first_call() {
    setup();
    let s = telemetry_runtime::snapshot();
    for r in ["ok", "error", "panic"] {
        assert_eq!(
            s.value(
                "function_calls_total",
                &[("function", "declared_never_called"), ("result", r)]
            ),
            Some(0.0)
        );
    }
    assert_eq!(
        s.value(
            "function_calls_in_flight",
            &[("function", "declared_never_called")]
        ),
        Some(0.0)
    );
    let _ = declared_never_called as fn();
}

#[metered]
async fn hops_threads() {
    tokio::task::yield_now().await;
}

#[metered]
fn stays_put() {}

#[test]
fn calls_that_finish_on_another_thread_lose_nothing() {
    setup();
    // A multi-threaded runtime moves futures between its workers while the
    // workers also make calls of their own: every write must land.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(3)
        .build()
        .unwrap();
    rt.block_on(async {
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                tokio::spawn(async {
                    for _ in 0..200 {
                        hops_threads().await;
                        stays_put();
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert_eq!(calls("hops_threads", "ok"), 12_800.0);
    assert_eq!(calls("stays_put", "ok"), 12_800.0);
    assert_eq!(in_flight("hops_threads"), 0.0);
    assert_eq!(durations("hops_threads", "ok").0, 12_800);
}
