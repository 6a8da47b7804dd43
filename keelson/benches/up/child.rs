//! The `keelson up` child process: spawned on a temp data dir, its kubeconfig and API
//! awaited, its memory and CPU read from /proc, stopped with SIGTERM.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

/// Open files wanted for the bench and the child (inherited): each watch is one HTTP/1
/// connection, two descriptors in the child (both ends are in it).
const WANT_NOFILE: u64 = 1 << 20;

/// Raises this process's open-files limit, inherited by the child: both limits to
/// [`WANT_NOFILE`] when privileged, else the soft limit to the hard one. Returns the soft
/// limit now in force.
pub(crate) fn raise_nofile_limit() -> u64 {
    use rlimit::Resource;
    let nr_open = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(WANT_NOFILE);
    let want = WANT_NOFILE.min(nr_open);
    let (soft, hard) = Resource::NOFILE.get().unwrap_or((0, 0));
    if soft >= want {
        return soft;
    }
    if hard < want && Resource::NOFILE.set(want, want).is_ok() {
        return want;
    }
    rlimit::increase_nofile_limit(u64::MAX).unwrap_or(soft)
}

/// Memory of a process, from /proc/<pid>/status.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Memory {
    /// Resident set size now, KiB.
    pub(crate) rss_kib: u64,
    /// Peak resident set size, KiB.
    pub(crate) hwm_kib: u64,
}

impl std::fmt::Display for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mib = |kib: u64| kib as f64 / 1024.0;
        write!(
            f,
            "RSS {:.1} MiB (peak {:.1} MiB)",
            mib(self.rss_kib),
            mib(self.hwm_kib)
        )
    }
}

/// A running `keelson up`.
pub(crate) struct Up {
    child: Child,
    pid: u32,
    /// When it was spawned.
    pub(crate) spawned: Instant,
    dir: tempfile::TempDir,
}

impl Up {
    /// Spawns `keelson up --nodes <nodes> --listen 127.0.0.1:0 <extra>` on a fresh data
    /// dir; its stderr goes to `up.log` there.
    pub(crate) fn spawn(nodes: u32, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("a temp data dir");
        let log = std::fs::File::create(dir.path().join("up.log")).expect("up.log");
        let spawned = Instant::now();
        let child = Command::new(env!("CARGO_BIN_EXE_keelson"))
            .arg("up")
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(["--listen", "127.0.0.1:0", "--nodes", &nodes.to_string()])
            .args(extra)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or("warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("spawning keelson up");
        let pid = child.id().expect("the child's pid");
        Self {
            child,
            pid,
            spawned,
            dir,
        }
    }

    /// The kubeconfig `up` writes.
    pub(crate) fn kubeconfig_path(&self) -> PathBuf {
        self.dir.path().join("data").join("kubeconfig")
    }

    /// Waits (polling each millisecond) until the kubeconfig exists; time since spawn.
    pub(crate) async fn kubeconfig(&mut self, limit: Duration) -> Duration {
        let path = self.kubeconfig_path();
        while !path.exists() {
            self.check_alive();
            assert!(
                self.spawned.elapsed() < limit,
                "no kubeconfig after {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        self.spawned.elapsed()
    }

    /// A client from the kubeconfig, once the API answers; and the time since spawn.
    pub(crate) async fn client(&mut self, limit: Duration) -> (kube::Client, Duration) {
        let client = keelson_client::from_kubeconfig(&self.kubeconfig_path())
            .await
            .expect("a client from the kubeconfig");
        while let Err(e) = client.apiserver_version().await {
            self.check_alive();
            assert!(self.spawned.elapsed() < limit, "API not answering: {e}");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        (client, self.spawned.elapsed())
    }

    fn check_alive(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("keelson up exited with {status}; see\n{}", self.log_tail());
        }
    }

    /// The last lines of the child's stderr.
    pub(crate) fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("up.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// The child's memory now.
    pub(crate) fn memory(&self) -> Memory {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid));
        let field = |name: &str| {
            status.as_deref().ok().and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix(name))
                    .and_then(|v| v.split_whitespace().next()?.parse().ok())
            })
        };
        Memory {
            rss_kib: field("VmRSS:").unwrap_or(0),
            hwm_kib: field("VmHWM:").unwrap_or(0),
        }
    }

    /// User + system CPU seconds the child used so far.
    pub(crate) fn cpu_seconds(&self) -> f64 {
        keelson_e2e::procfs::cpu_seconds(&self.pid.to_string())
    }

    /// Open file descriptors of the child.
    pub(crate) fn open_files(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid)).map_or(0, Iterator::count)
    }

    /// SIGTERM, then waits up to `limit` for it to exit (killed after); time taken.
    pub(crate) async fn stop(mut self, limit: Duration) -> Duration {
        let t = Instant::now();
        let sent = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .await;
        if sent.is_ok_and(|s| s.success())
            && tokio::time::timeout(limit, self.child.wait()).await.is_ok()
        {
            return t.elapsed();
        }
        eprintln!("keelson up did not stop within {limit:?}; killed");
        let _ = self.child.kill().await;
        t.elapsed()
    }
}
