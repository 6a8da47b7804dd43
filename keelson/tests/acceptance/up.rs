//! `keelson up --nodes 3` as a child process on a data dir, killed on drop (a failed test
//! leaves nothing behind), and kubectl 1.33 pointed at the port it picked.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use keelson_e2e::Kubectl;

/// How many simulated nodes the cluster runs.
pub(crate) const NODES: usize = 3;
/// `--node-monitor-grace-period`: short, yet longer than the longest gap the node
/// lifecycle controller can see between two renewals of a healthy node's Lease (renewed
/// every 10 s + 10 % jitter, observed every 5 s: up to 15 s), as upstream requires. A
/// grace below that (e.g. 4 s) makes healthy nodes flap to Unknown between renewals, and
/// their pods are marked not Ready, in Keelson as upstream. 25 s leaves room for a
/// loaded machine.
const GRACE: &str = "25s";
/// How long `up` may take to write its kubeconfig.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `up` may take to exit after SIGTERM (each component drains within
/// `--shutdown-grace-seconds`).
const EXIT_TIMEOUT: Duration = Duration::from_secs(40);

/// Polls run on plain threads, never in a runtime.
#[allow(clippy::disallowed_methods)]
pub(crate) fn pause(d: Duration) {
    std::thread::sleep(d);
}

/// A running `keelson up`.
pub(crate) struct Up {
    child: Child,
    log: PathBuf,
    kubeconfig: PathBuf,
}

impl Up {
    /// Starts `keelson up --nodes 3 --listen 127.0.0.1:0` on `data_dir` with a short node
    /// monitor grace period; its stderr goes to `log`.
    #[allow(clippy::disallowed_methods)] // running the real binary is the point
    pub(crate) fn start(data_dir: &Path, log: &Path) -> Result<Self> {
        let kubeconfig = data_dir.join("kubeconfig");
        // A kubeconfig left by an earlier run names the old port.
        let _ = std::fs::remove_file(&kubeconfig);
        let nodes = NODES.to_string();
        let child = Command::new(env!("CARGO_BIN_EXE_keelson"))
            .args(["up", "--nodes", &nodes, "--listen", "127.0.0.1:0"])
            .args(["--node-monitor-grace-period", GRACE])
            .args(["--shutdown-grace-seconds", "5", "--data-dir"])
            .arg(data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).context("creating the log")?)
            .spawn()
            .context("starting keelson up")?;
        Ok(Self {
            child,
            log: log.to_owned(),
            kubeconfig,
        })
    }

    /// Everything `up` wrote to stderr so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last `lines` lines of the log.
    pub(crate) fn log_tail(&self, lines: usize) -> String {
        let log = self.log();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Waits for the kubeconfig `up` writes and returns kubectl 1.33 pointed at the server
    /// it names.
    pub(crate) fn kubectl(&mut self) -> Result<Kubectl> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(config) = kube::config::Kubeconfig::read_from(&self.kubeconfig) {
                let server = config
                    .clusters
                    .first()
                    .and_then(|c| c.cluster.as_ref())
                    .and_then(|c| c.server.clone())
                    .context("the kubeconfig names no server")?;
                return Ok(Kubectl::new(33, &server)?);
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("keelson up exited ({status}) before writing its kubeconfig");
            }
            if Instant::now() > deadline {
                bail!("keelson up wrote no kubeconfig within {START_TIMEOUT:?}");
            }
            pause(Duration::from_millis(100));
        }
    }

    /// Sends SIGTERM and waits (bounded) for the exit.
    #[allow(clippy::disallowed_methods)]
    pub(crate) fn terminate(&mut self) -> Result<ExitStatus> {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status()?;
        if !status.success() {
            bail!("kill -TERM {pid} failed: {status}");
        }
        let deadline = Instant::now() + EXIT_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                bail!("keelson up still running {EXIT_TIMEOUT:?} after SIGTERM");
            }
            pause(Duration::from_millis(100));
        }
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
