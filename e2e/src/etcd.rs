//! A real etcd on loopback, from Debian's `etcd-server`.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{HarnessError, free_port};

/// How to start etcd.
#[derive(Debug, Clone, Default)]
pub struct EtcdOptions {
    /// Skip fsync (`--unsafe-no-fsync`): fine for correctness tests, wrong for benchmarks.
    pub unsafe_no_fsync: bool,
}

/// A running etcd; killed (and its data dir removed) when dropped.
#[derive(Debug)]
pub struct EtcdProcess {
    child: Option<Child>,
    data: tempfile::TempDir,
    client_port: u16,
    peer_port: u16,
    options: EtcdOptions,
}

fn etcd_binary() -> Result<PathBuf, HarnessError> {
    for dir in std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .chain(["/usr/bin"])
    {
        let candidate = Path::new(dir).join("etcd");
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    Err(HarnessError::Missing {
        binary: "etcd",
        package: "etcd-server",
    })
}

impl EtcdProcess {
    /// Starts etcd on two free loopback ports and waits until it answers.
    pub fn start(options: EtcdOptions) -> Result<Self, HarnessError> {
        let data = tempfile::Builder::new()
            .prefix("keelson-etcd-")
            .tempdir()
            .map_err(|source| HarnessError::Io {
                what: "creating etcd's data dir".into(),
                source,
            })?;
        let mut etcd = Self {
            child: None,
            data,
            client_port: 0,
            peer_port: 0,
            options,
        };
        // A port free a moment ago may be taken by a test running in parallel before etcd
        // binds it; etcd then exits at once, and new ports are worth another try.
        let mut attempts = 0;
        loop {
            etcd.client_port = free_port()?;
            etcd.peer_port = free_port()?;
            match etcd.spawn() {
                Ok(()) => return Ok(etcd),
                Err(HarnessError::NotReady { log, .. })
                    if attempts < 3 && log.contains("address already in use") =>
                {
                    attempts += 1;
                    etcd.stop();
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// The `host:port` clients connect to.
    pub fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.client_port)
    }

    /// The storage URL for Keelson (`etcd://127.0.0.1:PORT`).
    pub fn storage_url(&self) -> String {
        format!("etcd://{}", self.endpoint())
    }

    /// Stops etcd (SIGKILL) without removing its data.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts etcd again on the same ports and data dir (after [`Self::stop`]).
    pub fn restart(&mut self) -> Result<(), HarnessError> {
        self.stop();
        self.spawn()
    }

    fn log_path(&self) -> PathBuf {
        self.data.path().join("etcd.log")
    }

    #[allow(clippy::disallowed_methods)] // the harness is where real processes are started
    fn spawn(&mut self) -> Result<(), HarnessError> {
        let binary = etcd_binary()?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map_err(|source| HarnessError::Io {
                what: "opening etcd's log".into(),
                source,
            })?;
        let log_err = log.try_clone().map_err(|source| HarnessError::Io {
            what: "opening etcd's log".into(),
            source,
        })?;
        let client = format!("http://127.0.0.1:{}", self.client_port);
        let peer = format!("http://127.0.0.1:{}", self.peer_port);
        let mut cmd = Command::new(binary);
        cmd.arg("--name=keelson-test")
            .arg(format!(
                "--data-dir={}",
                self.data.path().join("data").display()
            ))
            .arg(format!("--listen-client-urls={client}"))
            .arg(format!("--advertise-client-urls={client}"))
            .arg(format!("--listen-peer-urls={peer}"))
            .arg(format!("--initial-advertise-peer-urls={peer}"))
            .arg(format!("--initial-cluster=keelson-test={peer}"))
            .arg("--log-level=warn")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        if self.options.unsafe_no_fsync {
            cmd.arg("--unsafe-no-fsync");
        }
        let child = cmd.spawn().map_err(|source| HarnessError::Io {
            what: "starting etcd".into(),
            source,
        })?;
        self.child = Some(child);
        self.wait_ready(Duration::from_secs(30))
    }

    fn wait_ready(&mut self, limit: Duration) -> Result<(), HarnessError> {
        let started = Instant::now();
        let addr = ([127, 0, 0, 1], self.client_port).into();
        while started.elapsed() < limit {
            let exited = self
                .child
                .as_mut()
                .and_then(|child| child.try_wait().ok().flatten());
            if let Some(status) = exited {
                return Err(self.not_ready(format!("etcd exited ({status})"), limit));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            // A harness thread, not an async worker: a short blocking wait is right here.
            #[allow(clippy::disallowed_methods)]
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(self.not_ready("etcd".into(), limit))
    }

    fn not_ready(&self, what: String, limit: Duration) -> HarnessError {
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(20).collect();
        let log = tail.into_iter().rev().collect::<Vec<_>>().join("\n");
        HarnessError::NotReady {
            what,
            seconds: limit.as_secs(),
            log,
        }
    }
}

impl Drop for EtcdProcess {
    fn drop(&mut self) {
        self.stop();
    }
}
