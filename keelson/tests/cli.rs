//! The multi-call binary's command line: what runs, what is refused, and how.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::process::{Command, Output};

#[allow(clippy::disallowed_methods)] // running the real binary is the point
fn keelson(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keelson"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn components_not_built_yet_exit_64_saying_so() {
    let out = keelson(&["proxy", "--some-flag", "x"]);
    assert_eq!(out.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("keelson proxy: not built yet"), "{stderr}");
}

/// Runs `keelson ARGS` and checks it exits 64 with `expected` in its stderr.
fn assert_usage_error(args: &[&str], expected: &str) {
    let out = keelson(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{args:?}: {stderr}");
    assert!(stderr.contains(expected), "{args:?}: {stderr}");
}

#[test]
fn kubelet_usage_errors_exit_64_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, "apiVersion: v1\nkind: Config\n").unwrap();
    let kc = kubeconfig.to_str().unwrap();
    let base = ["kubelet", "--kubeconfig", kc, "--node-name", "n1"];
    let with = |extra: &[&'static str]| -> Vec<&str> {
        base.iter().copied().chain(extra.iter().copied()).collect()
    };
    let cases: [(Vec<&str>, &str); 9] = [
        (
            with(&["--runtime", "cri"]),
            "the containerd CRI runtime arrives with a later issue",
        ),
        (with(&[]), "--runtime"),
        (
            vec![
                "kubelet",
                "--kubeconfig",
                "/nonexistent/kc",
                "--node-name",
                "n1",
                "--runtime",
                "simulated",
            ],
            "/nonexistent/kc",
        ),
        (
            with(&[
                "--runtime",
                "simulated",
                "--register-with-taints",
                "k=v:NoScheduleSometimes",
            ]),
            "unsupported taint effect \"NoScheduleSometimes\"",
        ),
        (
            with(&["--runtime", "simulated", "--register-with-taints", "k=v"]),
            "write key=value:Effect",
        ),
        (
            with(&["--runtime", "simulated", "--labels", "ok=1,bad key=2"]),
            "not a valid label key",
        ),
        (
            with(&[
                "--runtime",
                "simulated",
                "--labels",
                "node-role.kubernetes.io/worker=",
            ]),
            "may not set \"node-role.kubernetes.io/worker\"",
        ),
        (
            with(&["--runtime", "simulated", "--memory", "lots"]),
            "--memory \"lots\"",
        ),
        (
            vec![
                "kubelet",
                "--kubeconfig",
                kc,
                "--node-name",
                "Node_1",
                "--runtime",
                "simulated",
            ],
            "--node-name \"Node_1\"",
        ),
    ];
    for (args, expected) in &cases {
        assert_usage_error(args, expected);
    }
}

#[test]
fn up_usage_errors_exit_64_naming_the_problem() {
    let cases: [(&[&str], &str); 5] = [
        (&["up", "--node-cpu", "four"], "--node-cpu \"four\""),
        (
            &["up", "--node-memory", "0"],
            "--node-memory \"0\": must be greater than zero",
        ),
        (
            &["up", "--listen", "0.0.0.0:6443"],
            "refusing to serve plain HTTP on 0.0.0.0:6443",
        ),
        (&["up", "--storage", "bogus://x"], "--storage"),
        (&["up", "--nodes", "many"], "--nodes"),
    ];
    for (args, expected) in cases {
        assert_usage_error(args, expected);
    }
}

#[test]
fn scheduler_usage_errors_exit_64_naming_the_problem() {
    let out = keelson(&["scheduler", "--some-flag", "x"]);
    assert_eq!(out.status.code(), Some(64));
    let out = keelson(&["scheduler", "--kubeconfig", "/nonexistent/kubeconfig"]);
    assert_eq!(out.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nonexistent/kubeconfig"), "{stderr}");

    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, "apiVersion: v1\nkind: Config\n").unwrap();
    let config = dir.path().join("sched.yaml");
    std::fs::write(
        &config,
        "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nparallelism: 0\n",
    )
    .unwrap();
    let out = keelson(&[
        "scheduler",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("sched.yaml") && stderr.contains("parallelism"),
        "{stderr}"
    );
}

#[test]
fn controllers_usage_errors_exit_64_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, "apiVersion: v1\nkind: Config\n").unwrap();
    let kubeconfig = kubeconfig.to_str().unwrap();
    let cases: [(&[&str], &str); 3] = [
        (
            &["--kubeconfig", "/nonexistent/kubeconfig"],
            "/nonexistent/kubeconfig",
        ),
        (
            &["--kubeconfig", kubeconfig, "--controllers", "*,-nosuch"],
            "\"nosuch\" is not a known controller",
        ),
        (
            &[
                "--kubeconfig",
                kubeconfig,
                "--node-monitor-grace-period",
                "forty",
            ],
            "\"forty\" is not a duration",
        ),
    ];
    for (args, expected) in cases {
        let mut all = vec!["controllers"];
        all.extend_from_slice(args);
        let out = keelson(&all);
        assert_eq!(out.status.code(), Some(64), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn bad_arguments_are_usage_errors_and_help_succeeds() {
    let out = keelson(&["no-such-command"]);
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unrecognized subcommand"));
    let out = keelson(&["--log-format", "yaml", "up"]);
    assert_eq!(out.status.code(), Some(64));
    let out = keelson(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("apiserver"));
}

#[test]
fn json_logs_are_one_object_per_line() {
    #[allow(clippy::disallowed_methods)]
    let out = Command::new(env!("CARGO_BIN_EXE_keelson"))
        .args(["--log-format", "json", "proxy"])
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let json_line = stderr
        .lines()
        .find(|l| l.starts_with('{'))
        .expect("a JSON log line");
    let value: serde_json::Value = serde_json::from_str(json_line).unwrap();
    assert_eq!(value["level"], "DEBUG");
    assert_eq!(value["fields"]["command"], "proxy");
}

#[test]
fn apiserver_refuses_plain_http_off_loopback() {
    let out = keelson(&["apiserver", "--listen", "0.0.0.0:6443"]);
    assert_eq!(out.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("refusing to serve plain HTTP on 0.0.0.0:6443"),
        "{stderr}"
    );
    let out = keelson(&["apiserver", "--storage", "bogus://x"]);
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--storage"));
}
