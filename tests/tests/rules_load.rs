//! The generated rules load into a real Prometheus (Debian's 3.5, fetched
//! by `scripts/prometheus-install.sh`; `PROMETHEUS_BIN` when set) under
//! every translation strategy, with explicit and native histograms:
//! quoted UTF-8 names included. Prometheus refuses to start on a rule file
//! it cannot parse, and lists every group it loaded at `/api/v1/rules`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use telemetry_runtime::{declare_static_counter, metered, QueryOptions, TranslationStrategy};

declare_static_counter!(POSTS, "rules.mailbox.posts");

#[metered(objective(latency = 0.25, error_ratio = 0.01))]
fn plain() -> Result<(), String> {
    Ok(())
}

#[metered(
    histogram = "rules.rpc.duration",
    buckets = [0.01, 0.1, 1.0],
    objective(latency = 0.1)
)]
fn dotted() {}

#[test]
fn generated_rules_load_into_prometheus_under_every_strategy() {
    std::env::set_var("HYPERACTOR_OTEL_BACKEND", "none");
    let _ = (plain(), dotted());
    POSTS.add(1, &[]);
    let catalog = telemetry_runtime::catalog();
    let dir = tests::temp_dir("rules-load");
    let mut files = Vec::new();
    let mut groups = 0;
    for strategy in TranslationStrategy::ALL {
        for native_histograms in [false, true] {
            let opts = QueryOptions {
                strategy,
                native_histograms,
                ..QueryOptions::default()
            };
            let rules = catalog.prometheus_rules(&opts);
            if strategy.escapes() {
                assert!(rules.contains("rules_rpc_duration"), "{rules}");
            } else {
                assert!(rules.contains("\\\"rules.rpc.duration"), "{rules}");
            }
            groups += rules.matches("  - name: ").count();
            let file = dir.join(format!("{strategy}-{native_histograms}.yml"));
            std::fs::write(&file, &rules).unwrap();
            files.push(file);
        }
    }
    let config = dir.join("prometheus.yml");
    let list: Vec<String> = files
        .iter()
        .map(|f| format!("  - {}", f.display()))
        .collect();
    std::fs::write(&config, format!("rule_files:\n{}\n", list.join("\n"))).unwrap();
    let port = tests::free_port();
    let mut child = Command::new(tests::installed("prometheus-install.sh"))
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start prometheus");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into();
    let deadline = Instant::now() + tests::DEADLINE;
    let loaded = loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                use std::io::Read;
                let _ = e.read_to_string(&mut err);
            }
            panic!("prometheus exited ({status}) on the generated rules:\n{err}");
        }
        let listed = agent
            .get(format!("http://127.0.0.1:{port}/api/v1/rules"))
            .call()
            .ok()
            .and_then(|mut r| r.body_mut().read_to_string().ok())
            .and_then(|b| serde_json::from_str::<serde_json::Value>(&b).ok())
            .and_then(|v| v["data"]["groups"].as_array().map(|g| g.len()));
        if listed == Some(groups) {
            break true;
        }
        if Instant::now() > deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        loaded,
        "prometheus did not list the {groups} generated groups"
    );
}
