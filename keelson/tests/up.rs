//! `keelson up` as users run it: the built binary, a data dir, and real kubectl 1.33
//! through the kubeconfig `up` writes. SIGTERM drains and exits 0; a second `up` on the
//! same dir resumes with every object intact; a damaged store is an error naming it.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use keelson_e2e::{Kubectl, KubectlOutput};

/// How long `up` may take to write its kubeconfig.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `up` may take to exit after SIGTERM (its components drain within
/// `--shutdown-grace-seconds` each).
const EXIT_TIMEOUT: Duration = Duration::from_secs(40);
/// How long the nodes may take to turn Ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Polls run on plain threads, never in a runtime.
#[allow(clippy::disallowed_methods)]
fn pause() {
    std::thread::sleep(Duration::from_millis(100));
}

/// A running `keelson up` (or `keelson kubelet`), killed on drop (a failed test leaves nothing behind).
struct Up {
    child: Child,
    log: PathBuf,
    kubeconfig: PathBuf,
}

impl Up {
    /// Starts `keelson up --nodes 2` on `data_dir`; its stderr goes to `log`.
    fn start(data_dir: &Path, log: &Path) -> Self {
        let kubeconfig = data_dir.join("kubeconfig");
        // A kubeconfig left by an earlier run names an old port.
        let _ = std::fs::remove_file(&kubeconfig);
        let mut args = vec!["up", "--nodes", "2", "--listen", "127.0.0.1:0"];
        args.extend(["--shutdown-grace-seconds", "5", "--data-dir"]);
        args.push(data_dir.to_str().unwrap());
        Self::spawn(&args, log, kubeconfig)
    }

    /// Starts `keelson ARGS`; its stderr goes to `log`.
    #[allow(clippy::disallowed_methods)] // running the real binary is the point
    fn spawn(args: &[&str], log: &Path, kubeconfig: PathBuf) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_keelson"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap();
        Self {
            child,
            log: log.to_owned(),
            kubeconfig,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits for the kubeconfig and returns kubectl 1.33 pointed at the server it names.
    fn kubectl(&mut self) -> Kubectl {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(config) = kube::config::Kubeconfig::read_from(&self.kubeconfig) {
                let server = config.clusters[0].cluster.as_ref().unwrap().server.clone();
                return Kubectl::new(33, &server.unwrap()).unwrap();
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "keelson up exited ({status}) before writing its kubeconfig:\n{}",
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "no kubeconfig yet:\n{}",
                self.log()
            );
            pause();
        }
    }

    /// Sends SIGTERM and waits for the exit.
    #[allow(clippy::disallowed_methods)]
    fn terminate(&mut self) -> ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        self.wait(EXIT_TIMEOUT)
    }

    fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "keelson up still running:\n{}",
                self.log()
            );
            pause();
        }
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs kubectl with the kubeconfig `up` wrote.
fn kubectl(k: &Kubectl, up: &Up, args: &[&str]) -> KubectlOutput {
    let mut all = vec!["--kubeconfig", up.kubeconfig.to_str().unwrap()];
    all.extend_from_slice(args);
    k.run(&all).unwrap()
}

fn ok(out: KubectlOutput) -> String {
    assert!(
        out.success(),
        "{}: {}{}",
        out.command,
        out.stdout,
        out.stderr
    );
    out.stdout
}

/// Waits until `kubectl get nodes` shows both nodes with Ready=True.
fn wait_nodes_ready(k: &Kubectl, up: &Up) {
    let deadline = Instant::now() + READY_TIMEOUT;
    let template =
        "{range .items[*]}{.metadata.name}={.status.conditions[?(@.type==\"Ready\")].status} {end}";
    loop {
        let out = kubectl(
            k,
            up,
            &["get", "nodes", "-o", &format!("jsonpath={template}")],
        );
        let ready = out.stdout.contains("keelson-node-1=True ")
            && out.stdout.contains("keelson-node-2=True ");
        if ready {
            let table = ok(kubectl(k, up, &["get", "nodes"]));
            assert_eq!(table.matches(" Ready ").count(), 2, "{table}");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "nodes not Ready: {} {}\n{}",
            out.stdout,
            out.stderr,
            up.log()
        );
        pause();
    }
}

/// Waits until both nodes' Leases were renewed after `since`.
fn wait_leases_renewed_since(k: &Kubectl, up: &Up, since: jiff::Timestamp) {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let renewed = ["keelson-node-1", "keelson-node-2"].iter().all(|node| {
            let out = kubectl(
                k,
                up,
                &[
                    "get",
                    "lease",
                    "-n",
                    "kube-node-lease",
                    node,
                    "-o",
                    "jsonpath={.spec.renewTime}",
                ],
            );
            out.stdout
                .parse::<jiff::Timestamp>()
                .is_ok_and(|renew| renew > since)
        });
        if renewed {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "leases not renewed since {since}:\n{}",
            up.log()
        );
        pause();
    }
}

#[test]
fn up_serves_kubectl_drains_on_sigterm_and_resumes_with_its_objects() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("cluster"); // created by `up`
    let logs = tempfile::tempdir().unwrap();

    let mut up = Up::start(&dir, &logs.path().join("first.log"));
    let k = up.kubectl();
    ok(kubectl(
        &k,
        &up,
        &["create", "configmap", "kept", "--from-literal=a=1"],
    ));
    let line = up
        .log()
        .lines()
        .find(|l| l.starts_with("keelson up: cluster running at"))
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no announcement:\n{}", up.log()));
    let abs = std::fs::canonicalize(&dir).unwrap().join("kubeconfig");
    assert!(
        line.ends_with(&format!(
            "with 2 nodes; export KUBECONFIG={}",
            abs.display()
        )),
        "{line}"
    );
    assert!(line.contains(k.server()), "{line}");
    let status = up.terminate();
    assert_eq!(status.code(), Some(0), "{}", up.log());

    let mut up = Up::start(&dir, &logs.path().join("second.log"));
    let k = up.kubectl();
    let value = ok(kubectl(
        &k,
        &up,
        &["get", "configmap", "kept", "-o", "jsonpath={.data.a}"],
    ));
    assert_eq!(value, "1");
    let status = up.terminate();
    assert_eq!(status.code(), Some(0), "{}", up.log());
}

/// Needs the node agent (registration, Lease, Ready status): passes once it is merged.
#[test]
fn up_nodes_turn_ready_and_are_ready_again_after_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let mut up = Up::start(data.path(), &logs.path().join("first.log"));
    let k = up.kubectl();
    wait_nodes_ready(&k, &up);
    assert_eq!(up.terminate().code(), Some(0), "{}", up.log());

    let restarted = jiff::Timestamp::now();
    let mut up = Up::start(data.path(), &logs.path().join("second.log"));
    let k = up.kubectl();
    // The Ready condition survived in the store: the nodes' Leases show the kubelets back.
    wait_leases_renewed_since(&k, &up, restarted);
    wait_nodes_ready(&k, &up);
    let names = ok(kubectl(&k, &up, &["get", "nodes", "-o", "name"]));
    assert_eq!(names, "node/keelson-node-1\nnode/keelson-node-2\n");
    assert_eq!(up.terminate().code(), Some(0), "{}", up.log());
}

#[test]
fn up_on_a_damaged_store_exits_naming_the_file() {
    let data = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let db = data.path().join("state.db");
    std::fs::write(&db, vec![0x5a_u8; 8192]).unwrap();
    let mut up = Up::start(data.path(), &logs.path().join("up.log"));
    let status = up.wait(START_TIMEOUT);
    assert_eq!(status.code(), Some(1), "{}", up.log());
    let log = up.log();
    assert!(log.contains(db.to_str().unwrap()), "{log}");
    assert!(!log.contains("cluster running"), "{log}");
}

/// Needs the node agent (registration with labels and taints): passes once it is merged.
#[test]
fn a_standalone_kubelet_joins_with_its_labels_and_taints_and_drains_on_sigterm() {
    let data = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let mut up = Up::start(data.path(), &logs.path().join("up.log"));
    let k = up.kubectl();
    let kubeconfig = up.kubeconfig.to_str().unwrap().to_owned();
    let args = [
        "kubelet",
        "--kubeconfig",
        &kubeconfig,
        "--node-name",
        "edge-1",
        "--runtime",
        "simulated",
        "--node-ip",
        "127.2.0.1",
        "--labels",
        "tier=edge",
        "--register-with-taints",
        "dedicated=edge:NoSchedule",
    ];
    let mut kubelet = Up::spawn(
        &args,
        &logs.path().join("kubelet.log"),
        up.kubeconfig.clone(),
    );
    let template = "jsonpath={.metadata.labels.tier} {.spec.taints[0].key}={.spec.taints[0].value}:{.spec.taints[0].effect} {.status.addresses[?(@.type==\"InternalIP\")].address}";
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let out = kubectl(&k, &up, &["get", "node", "edge-1", "-o", template]);
        if out.success() && out.stdout == "edge dedicated=edge:NoSchedule 127.2.0.1" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "node edge-1: {} {}\n{}",
            out.stdout,
            out.stderr,
            kubelet.log()
        );
        pause();
    }
    assert_eq!(kubelet.terminate().code(), Some(0), "{}", kubelet.log());
    assert_eq!(up.terminate().code(), Some(0), "{}", up.log());
}
