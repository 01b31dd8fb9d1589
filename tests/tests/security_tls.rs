//! HTTPS: certificate verification is on by default; a private CA is given
//! with `OTEL_EXPORTER_OTLP[_METRICS]_CERTIFICATE`. The CA and the server
//! certificate are generated here at test time (rcgen), and served by a
//! VictoriaMetrics of the test's own started with `-tls`.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use std::path::{Path, PathBuf};
use tests::fault::{runtime_lines, Child};
use tests::temp_dir;
use tests::vm::{Tls, Vm, VmOptions};

struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn new_ca(name: &str) -> Ca {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    Ca {
        pem: cert.pem(),
        issuer: Issuer::new(params, key),
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Runs `add 9 phase=tls`, `flush`, `quit`; returns the flush answer and
/// standard error.
fn run(endpoint: &str, id: &str, extra: &[(&str, &str)]) -> (String, String) {
    Child::add_and_flush(
        env!("CARGO_BIN_EXE_reliability_child"),
        endpoint,
        id,
        extra,
        "add 9 phase=tls",
    )
}

#[test]
fn https_verifies_certificates_and_takes_a_private_ca() {
    let dir = temp_dir("tls");
    let ca = new_ca("telemetry test CA");
    let other = new_ca("some other CA");
    let server_key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    let server = params.signed_by(&server_key, &ca.issuer).unwrap();
    let cert = write(&dir, "server.pem", &server.pem());
    let key = write(&dir, "server.key", &server_key.serialize_pem());
    let ca_file = write(&dir, "ca.pem", &ca.pem);
    let other_file = write(&dir, "other-ca.pem", &other.pem);
    let garbage = write(&dir, "garbage.pem", "not a certificate");
    let vm = Vm::start(VmOptions {
        tls: Some(Tls {
            cert,
            key,
            ca_pem: ca.pem.clone(),
        }),
        ..Default::default()
    });
    let endpoint = vm.otlp_endpoint();
    assert!(endpoint.starts_with("https://127.0.0.1:"));
    let id = |tag: &str| format!("tls-{tag}-{}", std::process::id());
    let q = |tag: &str| {
        format!(
            "reliability_events_total{{service_instance_id=\"{}\",phase=\"tls\"}}",
            id(tag)
        )
    };

    // The private CA, through either variable: delivered.
    for (tag, var) in [
        ("general", "OTEL_EXPORTER_OTLP_CERTIFICATE"),
        ("metrics", "OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE"),
    ] {
        let (flush, err) = run(&endpoint, &id(tag), &[(var, ca_file.to_str().unwrap())]);
        assert!(flush.starts_with("ok"), "{flush}\n{err}");
        assert!(runtime_lines(&err).is_empty(), "{err}");
        vm.wait_for_value(&q(tag), 9.0);
    }

    // No CA given (verification against the built-in roots), a wrong CA, a
    // file that holds no certificate: each fails clearly, nothing stored.
    for (tag, extra) in [
        ("default", vec![]),
        (
            "wrong",
            vec![(
                "OTEL_EXPORTER_OTLP_CERTIFICATE",
                other_file.to_str().unwrap(),
            )],
        ),
        (
            "garbage",
            vec![("OTEL_EXPORTER_OTLP_CERTIFICATE", garbage.to_str().unwrap())],
        ),
        (
            "missing",
            vec![("OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent/ca.pem")],
        ),
    ] {
        let (flush, err) = run(&endpoint, &id(tag), &extra);
        assert!(flush.starts_with("err"), "{tag}: {flush}");
        let lower = flush.to_lowercase();
        assert!(
            lower.contains("certificate") || lower.contains("issuer") || lower.contains("tls"),
            "{tag}: {flush}"
        );
        println!("RELIABILITY: TLS {tag}: {flush}");
        if tag == "garbage" || tag == "missing" {
            assert!(
                err.contains("OTEL_EXPORTER_OTLP[_METRICS]_CERTIFICATE="),
                "{tag}: {err}"
            );
        }
        let r = vm.query(&q(tag)).unwrap();
        assert!(r.is_empty(), "{tag}: {r:?}");
    }
}
