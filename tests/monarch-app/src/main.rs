//! A program written the way Monarch code is. It depends on `monarch-lib`
//! only (as Monarch crates depend on `hyperactor`), declares a metric of
//! its own through the re-exported macro, one more under a name the
//! library declares too (their values add up), runs the library's
//! workload, and returns from `main`: the exit flush sends the values.

monarch_lib::declare_static_counter!(APP_REQUESTS, "app.requests");
monarch_lib::declare_static_counter!(MORE_POSTS, "mailbox.posts");

fn main() {
    monarch_lib::workload::run();
    APP_REQUESTS.add(2, monarch_lib::kv_pairs!("route" => "/ping"));
    MORE_POSTS.add(
        4,
        monarch_lib::kv_pairs!("actor_id" => 0.to_string(), "http.request.method" => "POST"),
    );
    assert_eq!(
        monarch_lib::kv_pairs!("a" => "x", "n" => 1),
        &[
            monarch_lib::key_value!("a", "x"),
            monarch_lib::key_value!("n", 1)
        ]
    );
}
