//! Test harness for Keelson: starts and stops the real parts that integration and
//! end-to-end tests need — today etcd (Debian's `etcd-server`), later containerd and real
//! kubectl — each on free loopback ports with its own temporary directory, and stops them
//! when dropped.
//!
//! The project's setup step (`deploy/setup.sh`) installs the packages; this crate only
//! finds and runs the binaries, and says clearly when one is missing.

mod etcd;
mod kubectl;
mod ports;
pub mod procfs;

pub use etcd::{EtcdOptions, EtcdProcess};
pub use kubectl::{
    ApiServerOptions, ApiServerProcess, KUBECTL_DIR, Kubectl, KubectlChild, KubectlCommand,
    KubectlOutput, kubectl_binary,
};
pub use ports::free_port;

/// What can go wrong starting a real part.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// The binary is not installed.
    #[error("{binary} not found on PATH or in /usr/bin; run deploy/setup.sh to install {package}")]
    Missing {
        /// The binary looked for.
        binary: &'static str,
        /// The Debian package that provides it.
        package: &'static str,
    },
    /// Starting or talking to the process failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The process started but never became ready.
    #[error("{what} did not become ready within {seconds} s; its log:\n{log}")]
    NotReady {
        /// What was started.
        what: String,
        /// How long was waited.
        seconds: u64,
        /// The tail of its log.
        log: String,
    },
    /// A kubectl release the tests run is not installed.
    #[error(
        "kubectl 1.{minor} not found at {path}; the Google Cloud SDK `kubectl` package installs \
         kubectl.1.27 … kubectl.1.33 in that directory"
    )]
    MissingKubectl {
        /// The minor version looked for.
        minor: u32,
        /// Where it was looked for.
        path: std::path::PathBuf,
    },
    /// A command running in the background did not print the awaited line in time.
    #[error(
        "`{command}` printed no awaited line within {seconds:.1} s (or its output ended first)\n--- stdout:\n{stdout}\n--- stderr:\n{stderr}"
    )]
    NoOutput {
        /// The command line.
        command: String,
        /// How long was waited.
        seconds: f64,
        /// What it printed so far.
        stdout: String,
        /// What it printed to standard error so far.
        stderr: String,
    },
}
