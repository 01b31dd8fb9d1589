//! Credentials in `OTEL_EXPORTER_OTLP[_METRICS]_HEADERS`: against a
//! VictoriaMetrics that requires basic auth (`-httpAuth.*`), data arrives
//! with them and a clear 401 message comes without them; the header values
//! never appear in any line the runtime prints, nor in the error `flush()`
//! returns, even when the backend echoes them back.

use tests::fault::{runtime_lines, Child, FaultServer, Reply};
use tests::free_port;
use tests::vm::{basic_auth_header, Vm, VmOptions};

fn child(env: &[(&str, &str)]) -> Child {
    Child::spawn(env!("CARGO_BIN_EXE_reliability_child"), env)
}

/// Runs `add 4 phase=auth`, `flush`, `quit`; returns the flush answer and
/// everything the child printed.
fn run(endpoint: &str, id: &str, extra: &[(&str, &str)]) -> (String, String) {
    Child::add_and_flush(
        env!("CARGO_BIN_EXE_reliability_child"),
        endpoint,
        id,
        extra,
        "add 4 phase=auth",
    )
}

fn assert_no_secret(texts: &[&str], secrets: &[&str]) {
    for t in texts {
        for s in secrets {
            assert!(!t.contains(s), "secret {s:?} printed in:\n{t}");
        }
    }
}

#[test]
fn credentials_reach_an_authenticating_backend_and_are_never_printed() {
    let password = format!("pw-{}-{}", std::process::id(), free_port());
    let vm = Vm::start(VmOptions {
        basic_auth: Some(("otel".into(), password.clone())),
        ..Default::default()
    });
    let endpoint = vm.otlp_endpoint();
    let good = basic_auth_header("otel", &password);
    let token = good.trim_start_matches("Basic ").to_owned();
    let wrong = basic_auth_header("otel", "not-the-password");
    let wrong_token = wrong.trim_start_matches("Basic ").to_owned();
    let secrets = [
        password.as_str(),
        token.as_str(),
        "not-the-password",
        wrong_token.as_str(),
    ];
    let id = |tag: &str| format!("auth-{tag}-{}", std::process::id());
    let l = "service_instance_id";

    // With the credentials (general and signal-specific variable): stored.
    let header = format!("Authorization={}", good.replace(' ', "%20"));
    for (tag, var) in [
        ("general", "OTEL_EXPORTER_OTLP_HEADERS"),
        ("metrics", "OTEL_EXPORTER_OTLP_METRICS_HEADERS"),
    ] {
        let (flush, err) = run(&endpoint, &id(tag), &[(var, &header)]);
        assert!(flush.starts_with("ok"), "{flush}\n{err}");
        assert!(runtime_lines(&err).is_empty(), "{err}");
        vm.wait_for_value(
            &format!(
                "reliability_events_total{{{l}=\"{}\",phase=\"auth\"}}",
                id(tag)
            ),
            4.0,
        );
    }

    // Without them, and with a wrong password: a clear 401, logged once,
    // with no credential in any line.
    let wrong_header = format!("Authorization={}", wrong.replace(' ', "%20"));
    for (tag, extra) in [
        ("none", vec![]),
        (
            "wrong",
            vec![("OTEL_EXPORTER_OTLP_HEADERS", wrong_header.as_str())],
        ),
    ] {
        let (flush, err) = run(&endpoint, &id(tag), &extra);
        assert!(
            flush.starts_with("err") && flush.contains("HTTP 401"),
            "{flush}"
        );
        assert!(flush.contains("OTEL_EXPORTER_OTLP_HEADERS"), "{flush}");
        // The flush failed and the exit flush failed the same way: one line.
        let lines = runtime_lines(&err);
        assert_eq!(lines.len(), 1, "{err}");
        assert!(lines[0].contains("HTTP 401"), "{err}");
        assert_no_secret(&[&flush, &err], &secrets);
        println!("RELIABILITY: 401 ({tag}): {}", lines[0]);
    }
    // A malformed header item is reported without its value.
    let (_, err) = run(
        &endpoint,
        &id("malformed"),
        &[(
            "OTEL_EXPORTER_OTLP_HEADERS",
            &format!("Author ization={token},{header}"),
        )],
    );
    assert!(err.contains("OTEL_EXPORTER_OTLP_HEADERS: item 1"), "{err}");
    assert_no_secret(&[&err], &secrets);
}

/// A backend that echoes the credential in its error text (or in a
/// partial-success message): the runtime scrubs it from every message.
#[test]
fn credentials_echoed_by_the_backend_are_scrubbed() {
    let token = format!("tok-{}-{}-secret", std::process::id(), free_port());
    let server = FaultServer::start(|n, req| {
        let auth = req.header("authorization").unwrap_or_default().to_owned();
        if n == 0 {
            Reply::text(401, &format!("bad credentials: {auth}\nretry"))
        } else {
            Reply::partial(1, &format!("rejected for {auth}"))
        }
    });
    let endpoint = server.endpoint();
    let header = format!("Authorization=Bearer%20{token},X-Api-Key={token}-2");
    let mut c = child(&[
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", &endpoint),
        ("OTEL_METRIC_EXPORT_INTERVAL", "3600000"),
        ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", &header),
    ]);
    c.ok("add 1");
    let first = c.cmd("flush");
    let second = c.cmd("flush");
    let (status, err) = c.finish("quit");
    assert!(status.success(), "{err}");
    // The headers were sent.
    let req = &server.requests()[0];
    assert_eq!(
        req.header("authorization"),
        Some(format!("Bearer {token}").as_str())
    );
    assert_eq!(req.header("x-api-key"), Some(format!("{token}-2").as_str()));
    assert!(
        first.contains("HTTP 401: bad credentials: <redacted> retry"),
        "{first}"
    );
    assert!(second.starts_with("ok"), "{second}");
    assert!(
        err.contains("rejected 1 data points: rejected for <redacted>"),
        "{err}"
    );
    assert_no_secret(&[&first, &second, &err], &[&token]);
    // Every line the runtime printed is one line with its prefix.
    for line in err.lines() {
        assert!(line.starts_with("telemetry-runtime: "), "{err}");
    }
}
