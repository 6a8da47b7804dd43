//! Test harness for Keelson: starts and stops the real parts that integration and
//! end-to-end tests need — today etcd (Debian's `etcd-server`), later containerd and real
//! kubectl — each on free loopback ports with its own temporary directory, and stops them
//! when dropped.
//!
//! The project's setup step (`deploy/setup.sh`) installs the packages; this crate only
//! finds and runs the binaries, and says clearly when one is missing.

mod etcd;
mod ports;

pub use etcd::{EtcdOptions, EtcdProcess};
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
}
