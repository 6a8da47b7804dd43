//! Real kubectl 1.33 driving Deployments through `keelson apiserver` and
//! `keelson controllers` (as separate processes): `rollout status`, `set image`,
//! `rollout history`, `rollout undo`, `scale`, `rollout pause/resume`, `rollout restart`,
//! `describe` with the controllers' events, and a cascading delete.
//!
//! No kubelet runs here: a stand-in marks every new pod Running and Ready through
//! `/status`, as a kubelet would once its containers started.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};
use futures::StreamExt as _;
use k8s_openapi::api::core::v1::Pod;
use keelson_apiserver::pointer::At;
use keelson_e2e::{ApiServerOptions, ApiServerProcess, Kubectl, KubectlOutput};
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::watcher;
use serde_json::{Value, json};

const DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  strategy:
    rollingUpdate: {maxSurge: 1, maxUnavailable: 1}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: c
        image: busybox:1
";

/// `keelson controllers` as a child process, killed on drop.
struct Controllers(Child);

impl Drop for Controllers {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[allow(clippy::disallowed_methods)] // starting the real binary is the point
fn start_controllers(kubeconfig: &Path, log: &Path) -> Controllers {
    let log = std::fs::File::create(log).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_keelson"))
        .args(["controllers", "--kubeconfig"])
        .arg(kubeconfig)
        .args(["--controllers", "replicaset,deployment,garbagecollector"])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    Controllers(child)
}

/// Marks every new pod Running and Ready, until the process ends.
fn kubelet_stand_in(server: String) {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let client =
                kube::Client::try_from(kube::Config::new(server.parse().unwrap())).unwrap();
            let pods: Api<Pod> = Api::namespaced(client, "default");
            let mut events = std::pin::pin!(watcher(pods.clone(), watcher::Config::default()));
            while let Some(event) = events.next().await {
                let pod = match event {
                    Ok(watcher::Event::Apply(pod) | watcher::Event::InitApply(pod)) => pod,
                    _ => continue,
                };
                let ready = pod
                    .status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready"));
                if ready || pod.metadata.deletion_timestamp.is_some() {
                    continue;
                }
                let now = jiff::Timestamp::now().to_string();
                let status = json!({ "status": {
                    "phase": "Running", "podIP": "10.244.0.9", "startTime": now,
                    "conditions": [
                        { "type": "ContainersReady", "status": "True", "lastTransitionTime": now },
                        { "type": "Ready", "status": "True", "lastTransitionTime": now },
                    ],
                }});
                let name = pod.metadata.name.unwrap_or_default();
                let _ = pods
                    .patch_status(&name, &PatchParams::default(), &Patch::Merge(status))
                    .await;
            }
        });
    });
}

fn run(k: &Kubectl, words: &str) -> Result<KubectlOutput> {
    let args: Vec<&str> = words.split_whitespace().collect();
    let out = k.run(&args)?;
    ensure!(out.success(), "kubectl {words}:\n{out}");
    Ok(out)
}

fn get(k: &Kubectl, words: &str) -> Result<Value> {
    let out = run(k, &format!("get {words} -o json"))?;
    serde_json::from_str(&out.stdout).with_context(|| format!("not JSON: {out}"))
}

fn rollout_status(k: &Kubectl) -> Result<()> {
    let out = run(k, "rollout status deployment/web --timeout=90s")?;
    ensure!(
        out.stdout.contains("successfully rolled out"),
        "rollout status:\n{out}"
    );
    Ok(())
}

fn image(k: &Kubectl) -> Result<String> {
    let d = get(k, "deployment web")?;
    Ok(d.at("/spec/template/spec/containers/0/image")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned())
}

/// Pods of the Deployment that are not being deleted, with their images.
fn live_pod_images(k: &Kubectl) -> Result<Vec<String>> {
    let pods = get(k, "pods -l app=web")?;
    Ok(pods["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p.at("/metadata/deletionTimestamp").is_none())
        .map(|p| {
            p.at("/spec/containers/0/image")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        })
        .collect())
}

/// The tests run on plain threads, never in a runtime.
#[allow(clippy::disallowed_methods)]
fn pause(d: Duration) {
    std::thread::sleep(d);
}

fn eventually(what: &str, mut check: impl FnMut() -> Result<bool>) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if check()? {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("timed out waiting for {what}");
        }
        pause(Duration::from_millis(200));
    }
}

fn scenario(k: &Kubectl) -> Result<()> {
    k.run_with_stdin(&["apply", "-f", "-"], DEPLOYMENT)?;
    rollout_status(k)?;
    ensure!(
        live_pod_images(k)?.len() == 3,
        "three pods after the first rollout"
    );

    run(k, "set image deployment/web c=busybox:2")?;
    rollout_status(k)?;
    eventually("old pods replaced by busybox:2", || {
        Ok(live_pod_images(k)? == ["busybox:2"; 3])
    })?;
    let history = run(k, "rollout history deployment/web")?;
    ensure!(
        history.stdout.contains("\n1 ") && history.stdout.contains("\n2 "),
        "history lists revisions 1 and 2:\n{history}"
    );

    run(k, "rollout undo deployment/web")?;
    rollout_status(k)?;
    ensure!(image(k)? == "busybox:1", "undo restores the first template");
    let history = run(k, "rollout history deployment/web")?;
    ensure!(
        history.stdout.contains("\n2 ")
            && history.stdout.contains("\n3 ")
            && !history.stdout.contains("\n1 "),
        "after undo, revision 1 became 3:\n{history}"
    );

    run(k, "scale deployment/web --replicas=5")?;
    rollout_status(k)?;
    eventually("five pods", || Ok(live_pod_images(k)?.len() == 5))?;

    run(k, "rollout pause deployment/web")?;
    run(k, "set image deployment/web c=busybox:3")?;
    pause(Duration::from_secs(2));
    ensure!(
        !live_pod_images(k)?.iter().any(|i| i == "busybox:3"),
        "a paused Deployment does not roll out"
    );
    run(k, "rollout resume deployment/web")?;
    rollout_status(k)?;
    eventually("pods on busybox:3", || {
        Ok(live_pod_images(k)? == ["busybox:3"; 5])
    })?;

    run(k, "rollout restart deployment/web")?;
    rollout_status(k)?;
    let d = get(k, "deployment web")?;
    ensure!(
        d.at("/spec/template/metadata/annotations/kubectl.kubernetes.io~1restartedAt")
            .is_some(),
        "restart stamps the template"
    );

    let describe = run(k, "describe deployment web")?;
    ensure!(
        describe.stdout.contains("ScalingReplicaSet")
            && describe.stdout.contains("NewReplicaSetAvailable"),
        "describe tells the story:\n{describe}"
    );

    run(k, "delete deployment web")?;
    eventually("ReplicaSets and pods deleted with the Deployment", || {
        let rs = get(k, "replicasets -l app=web")?;
        let pods = get(k, "pods -l app=web")?;
        Ok(rs["items"].as_array().is_some_and(Vec::is_empty)
            && pods["items"].as_array().is_some_and(Vec::is_empty))
    })
}

#[test]
fn kubectl_1_33_rolls_deployments_out_back_and_away() {
    let server = ApiServerProcess::start(
        Path::new(env!("CARGO_BIN_EXE_keelson")),
        ApiServerOptions::default(),
    )
    .unwrap_or_else(|err| panic!("{err}"));
    let k = Kubectl::new(33, &server.url()).unwrap_or_else(|err| panic!("{err}"));
    let log = k.dir().join("controllers.log");
    let _controllers = start_controllers(k.kubeconfig(), &log);
    kubelet_stand_in(server.url());
    if let Err(err) = scenario(&k) {
        panic!(
            "{err:#}\n── controllers log (tail)\n{}",
            std::fs::read_to_string(&log)
                .unwrap_or_default()
                .lines()
                .rev()
                .take(30)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
