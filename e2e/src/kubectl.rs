//! Real kubectl against a real `keelson apiserver`: the users' own client, run the way
//! they run it.
//!
//! [`ApiServerProcess`] starts the `keelson` binary (its path comes from the caller,
//! usually `env!("CARGO_BIN_EXE_keelson")`) on a free loopback port with its own data dir
//! and waits for `/readyz`. [`Kubectl`] finds one of the installed kubectl releases
//! (`/usr/lib/google-cloud-sdk/bin/kubectl.1.NN`), writes a kubeconfig for a server URL
//! into a temporary home directory, and runs commands with a deadline, capturing stdout,
//! stderr and the exit code; [`KubectlChild`] is a command left running in the background
//! (`get -w`, `wait`, a `delete` held up by a finalizer) whose output can be awaited line by
//! line.
//!
//! Every kubectl runs with a cleared environment: only `PATH`, `HOME` (the temporary dir,
//! so the discovery cache and any kuberc are per test) and `KUBECONFIG`, plus what a
//! command adds (`EDITOR`).

use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use crate::{HarnessError, free_port};

/// Where the kubectl releases are installed, as `kubectl.1.NN`.
pub const KUBECTL_DIR: &str = "/usr/lib/google-cloud-sdk/bin";

/// How long a kubectl command may run unless told otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the API server may take to answer `/readyz`.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// After a command was killed, how long to wait for its output pipes to close (a process
/// it started, such as the editor, may still hold them).
const DRAIN_GRACE: Duration = Duration::from_millis(500);

/// A short pause between polls; the harness runs on plain threads, never in a runtime.
#[allow(clippy::disallowed_methods)]
fn pause() {
    thread::sleep(Duration::from_millis(20));
}

fn io_error(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> HarnessError {
    let what = what.into();
    move |source| HarnessError::Io { what, source }
}

/// The path of kubectl 1.`minor`, or [`HarnessError::MissingKubectl`].
pub fn kubectl_binary(minor: u32) -> Result<PathBuf, HarnessError> {
    let path = Path::new(KUBECTL_DIR).join(format!("kubectl.1.{minor}"));
    if path.is_file() {
        Ok(path)
    } else {
        Err(HarnessError::MissingKubectl { minor, path })
    }
}

// ---------------------------------------------------------------------------------------
// The API server

/// How to start `keelson apiserver`.
#[derive(Debug, Clone, Default)]
pub struct ApiServerOptions {
    /// `--storage URL`; `None` uses the embedded store in the server's temporary data dir.
    pub storage: Option<String>,
    /// Extra arguments after the ones the harness sets.
    pub extra_args: Vec<String>,
}

/// A running `keelson apiserver` on a free loopback port; killed (and its data dir
/// removed) when dropped.
#[derive(Debug)]
pub struct ApiServerProcess {
    child: Option<Child>,
    binary: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    options: ApiServerOptions,
}

impl ApiServerProcess {
    /// Starts `binary apiserver` on a free loopback port and waits until `/readyz`
    /// answers 200.
    pub fn start(binary: &Path, options: ApiServerOptions) -> Result<Self, HarnessError> {
        if !binary.is_file() {
            return Err(HarnessError::Io {
                what: format!("looking for the keelson binary at {}", binary.display()),
                source: std::io::ErrorKind::NotFound.into(),
            });
        }
        let dir = tempfile::Builder::new()
            .prefix("keelson-apiserver-")
            .tempdir()
            .map_err(io_error("creating the API server's data dir"))?;
        let mut server = Self {
            child: None,
            binary: binary.to_path_buf(),
            dir,
            port: 0,
            options,
        };
        // A port free a moment ago may be taken by a test running in parallel before the
        // server binds it; the server then exits at once, and a new port is worth a try.
        let mut attempts = 0;
        loop {
            server.port = free_port()?;
            match server.spawn() {
                Ok(()) => return Ok(server),
                Err(HarnessError::NotReady { log, .. })
                    if attempts < 3 && log.to_lowercase().contains("address already in use") =>
                {
                    attempts += 1;
                    server.stop();
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// The server's base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's log (stdout and stderr) so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// The last `lines` lines of the server's log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = self.log();
        let tail: Vec<&str> = log.lines().rev().take(lines).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }

    /// Stops the server (SIGKILL), keeping its data dir.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("apiserver.log")
    }

    #[allow(clippy::disallowed_methods)] // the harness is where real processes are started
    fn spawn(&mut self) -> Result<(), HarnessError> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map_err(io_error("opening the API server's log"))?;
        let log_err = log
            .try_clone()
            .map_err(io_error("opening the API server's log"))?;
        let mut cmd = Command::new(&self.binary);
        cmd.arg("apiserver")
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--data-dir")
            .arg(self.dir.path().join("data"));
        if let Some(storage) = &self.options.storage {
            cmd.arg("--storage").arg(storage);
        }
        cmd.args(&self.options.extra_args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        let child = cmd.spawn().map_err(io_error(format!(
            "starting {} apiserver",
            self.binary.display()
        )))?;
        self.child = Some(child);
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> Result<(), HarnessError> {
        let started = Instant::now();
        while started.elapsed() < READY_TIMEOUT {
            let exited = self
                .child
                .as_mut()
                .and_then(|child| child.try_wait().ok().flatten());
            if let Some(status) = exited {
                return Err(self.not_ready(format!("keelson apiserver exited ({status})")));
            }
            if self.readyz() {
                return Ok(());
            }
            pause();
        }
        Err(self.not_ready("keelson apiserver".into()))
    }

    /// Whether `GET /readyz` answers 200.
    fn readyz(&self) -> bool {
        let addr = ([127, 0, 0, 1], self.port).into();
        let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let request = format!(
            "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
            self.port
        );
        if stream.write_all(request.as_bytes()).is_err() {
            return false;
        }
        let mut status_line = [0u8; 12];
        stream.read_exact(&mut status_line).is_ok() && status_line.ends_with(b" 200")
    }

    fn not_ready(&self, what: String) -> HarnessError {
        HarnessError::NotReady {
            what,
            seconds: READY_TIMEOUT.as_secs(),
            log: self.log_tail(20),
        }
    }
}

impl Drop for ApiServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

// ---------------------------------------------------------------------------------------
// kubectl

/// One kubectl release pointed at one server: a kubeconfig (the server URL, no user) in a
/// temporary home directory that also holds kubectl's discovery cache and any files a
/// test writes there ([`Kubectl::dir`]).
#[derive(Debug)]
pub struct Kubectl {
    binary: PathBuf,
    minor: u32,
    home: tempfile::TempDir,
    kubeconfig: PathBuf,
    server: String,
    timeout: Duration,
}

impl Kubectl {
    /// kubectl 1.`minor`, configured to talk to `server` (`http://127.0.0.1:PORT`).
    pub fn new(minor: u32, server: &str) -> Result<Self, HarnessError> {
        let binary = kubectl_binary(minor)?;
        let home = tempfile::Builder::new()
            .prefix(&format!("keelson-kubectl-1.{minor}-"))
            .tempdir()
            .map_err(io_error("creating kubectl's home dir"))?;
        let kubeconfig = home.path().join("kubeconfig");
        std::fs::write(&kubeconfig, kubeconfig_yaml(server))
            .map_err(io_error(format!("writing {}", kubeconfig.display())))?;
        Ok(Self {
            binary,
            minor,
            home,
            kubeconfig,
            server: server.to_owned(),
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// The deadline for each command (default 30 s).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The minor version (`33` for kubectl 1.33).
    pub fn minor(&self) -> u32 {
        self.minor
    }

    /// The kubectl binary.
    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// The server URL in the kubeconfig.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The kubeconfig file.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// A scratch directory for manifests (kubectl's `HOME`; removed on drop).
    pub fn dir(&self) -> &Path {
        self.home.path()
    }

    /// Writes `contents` to `name` in [`Self::dir`] and returns its path.
    pub fn write_file(&self, name: &str, contents: &str) -> Result<PathBuf, HarnessError> {
        let path = self.home.path().join(name);
        std::fs::write(&path, contents).map_err(io_error(format!("writing {}", path.display())))?;
        Ok(path)
    }

    /// A command to configure further ([`KubectlCommand::stdin`], [`KubectlCommand::env`],
    /// [`KubectlCommand::timeout`]) before running it.
    pub fn command<S: AsRef<str>>(&self, args: &[S]) -> KubectlCommand<'_> {
        KubectlCommand {
            kubectl: self,
            args: args.iter().map(|a| a.as_ref().to_owned()).collect(),
            stdin: None,
            env: Vec::new(),
            timeout: self.timeout,
        }
    }

    /// Runs `kubectl ARGS` to completion (or its deadline).
    pub fn run<S: AsRef<str>>(&self, args: &[S]) -> Result<KubectlOutput, HarnessError> {
        self.command(args).run()
    }

    /// Runs `kubectl ARGS` with `stdin` as its standard input.
    pub fn run_with_stdin<S: AsRef<str>>(
        &self,
        args: &[S],
        stdin: &str,
    ) -> Result<KubectlOutput, HarnessError> {
        self.command(args).stdin(stdin).run()
    }

    /// Starts `kubectl ARGS` in the background.
    pub fn spawn<S: AsRef<str>>(&self, args: &[S]) -> Result<KubectlChild, HarnessError> {
        self.command(args).spawn()
    }
}

fn kubeconfig_yaml(server: &str) -> String {
    format!(
        "apiVersion: v1\n\
         kind: Config\n\
         clusters:\n\
         - name: keelson\n  cluster:\n    server: {server}\n\
         contexts:\n\
         - name: keelson\n  context:\n    cluster: keelson\n\
         current-context: keelson\n\
         preferences: {{}}\n\
         users: []\n"
    )
}

/// A kubectl command being configured; see [`Kubectl::command`].
#[derive(Debug)]
pub struct KubectlCommand<'a> {
    kubectl: &'a Kubectl,
    args: Vec<String>,
    stdin: Option<String>,
    env: Vec<(String, String)>,
    timeout: Duration,
}

impl KubectlCommand<'_> {
    /// Feeds `input` to the command's standard input (otherwise it reads nothing).
    #[must_use]
    pub fn stdin(mut self, input: &str) -> Self {
        self.stdin = Some(input.to_owned());
        self
    }

    /// Sets an environment variable (for example `EDITOR` for `kubectl edit`).
    #[must_use]
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// The command's deadline: it is killed when it runs longer.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Runs the command to completion or its deadline.
    pub fn run(self) -> Result<KubectlOutput, HarnessError> {
        self.spawn()?.finish()
    }

    /// Starts the command in the background; its deadline counts from now.
    #[allow(clippy::disallowed_methods)] // the harness is where real processes are started
    pub fn spawn(self) -> Result<KubectlChild, HarnessError> {
        let display = self.display();
        let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
        let mut cmd = Command::new(&self.kubectl.binary);
        cmd.args(&self.args)
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.kubectl.home.path())
            .env("KUBECONFIG", &self.kubectl.kubeconfig)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(self.kubectl.home.path())
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(io_error(format!("starting `{display}`")))?;

        let (tx, lines) = mpsc::channel();
        if let Some(out) = child.stdout.take() {
            forward_lines(out, Stream::Stdout, tx.clone());
        }
        if let Some(err) = child.stderr.take() {
            forward_lines(err, Stream::Stderr, tx);
        }
        if let (Some(input), Some(pipe)) = (self.stdin, child.stdin.take()) {
            feed_stdin(pipe, input);
        }
        Ok(KubectlChild {
            child,
            command: display,
            lines,
            open_streams: 2,
            stdout: Vec::new(),
            stdout_raw: String::new(),
            cursor: 0,
            stderr: String::new(),
            deadline: Instant::now() + self.timeout,
        })
    }

    fn display(&self) -> String {
        let name = self
            .kubectl
            .binary
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "kubectl".into());
        let mut out = String::new();
        for (k, v) in &self.env {
            out.push_str(&format!("{k}={} ", shell_quote(v)));
        }
        out.push_str(&name);
        for arg in &self.args {
            out.push(' ');
            out.push_str(&shell_quote(arg));
        }
        out
    }
}

fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c));
    if plain {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    Stdout,
    Stderr,
}

/// A line of output, or the end of one stream (`None`).
type Line = (Stream, Option<String>);

fn forward_lines(pipe: impl Read + Send + 'static, stream: Stream, tx: mpsc::Sender<Line>) {
    thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buf).into_owned();
                    if tx.send((stream, Some(line))).is_err() {
                        return;
                    }
                }
            }
        }
        let _ = tx.send((stream, None));
    });
}

fn feed_stdin(mut pipe: ChildStdin, input: String) {
    // A thread, so a command that does not read all of its input cannot block the caller.
    thread::spawn(move || {
        let _ = pipe.write_all(input.as_bytes());
    });
}

/// A kubectl command running in the background; killed when dropped.
#[derive(Debug)]
pub struct KubectlChild {
    child: Child,
    command: String,
    lines: Receiver<Line>,
    open_streams: u8,
    /// Standard output so far, line by line, without line ends.
    stdout: Vec<String>,
    /// Standard output exactly as printed.
    stdout_raw: String,
    /// How many lines of `stdout` earlier waits have consumed.
    cursor: usize,
    stderr: String,
    deadline: Instant,
}

impl KubectlChild {
    /// Waits for the next line of standard output that satisfies `matches` and returns it.
    /// Lines are consumed in order: each wait starts after the line the previous wait
    /// returned, so waiting twice for the same pattern needs two such lines. Gives up after
    /// `timeout`, at the command's deadline, or when the command's output ends first.
    pub fn wait_for_line(
        &mut self,
        timeout: Duration,
        matches: impl Fn(&str) -> bool,
    ) -> Result<String, HarnessError> {
        let until = (Instant::now() + timeout).min(self.deadline);
        loop {
            while self.cursor < self.stdout.len() {
                let line = &self.stdout[self.cursor];
                self.cursor += 1;
                if matches(line) {
                    return Ok(line.clone());
                }
            }
            if self.open_streams == 0 {
                break;
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match self.lines.recv_timeout(left) {
                Ok((stream, Some(line))) => self.push(stream, line),
                Ok((_, None)) => self.open_streams -= 1,
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => self.open_streams = 0,
            }
        }
        Err(HarnessError::NoOutput {
            command: self.command.clone(),
            seconds: timeout.as_secs_f64(),
            stdout: self.stdout.join("\n"),
            stderr: self.stderr.clone(),
        })
    }

    /// Standard output received so far (what the waits have read), line by line.
    pub fn stdout_lines(&self) -> &[String] {
        &self.stdout
    }

    /// Whether the command is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for the command to end, killing it at its deadline, and returns its output.
    pub fn finish(mut self) -> Result<KubectlOutput, HarnessError> {
        self.collect_until(self.deadline);
        let (status, killed) = match self.wait_until(self.deadline)? {
            Some(status) => (status, false),
            None => (self.kill_and_wait()?, true),
        };
        self.collect_until(Instant::now() + DRAIN_GRACE);
        Ok(self.output(status, killed))
    }

    /// Stops the command now (SIGKILL) and returns what it printed; `timed_out` is set
    /// when it had to be killed.
    pub fn stop(mut self) -> Result<KubectlOutput, HarnessError> {
        let (status, killed) = match self.child.try_wait().map_err(self.wait_error())? {
            Some(status) => (status, false),
            None => (self.kill_and_wait()?, true),
        };
        self.collect_until(Instant::now() + DRAIN_GRACE);
        Ok(self.output(status, killed))
    }

    fn push(&mut self, stream: Stream, line: String) {
        match stream {
            Stream::Stdout => {
                self.stdout
                    .push(line.trim_end_matches(['\n', '\r']).to_owned());
                self.stdout_raw.push_str(&line);
            }
            Stream::Stderr => self.stderr.push_str(&line),
        }
    }

    /// Receives output until both streams closed or `until`. Once the process has exited,
    /// waits at most [`DRAIN_GRACE`] more: a process it started may still hold the pipes.
    fn collect_until(&mut self, until: Instant) {
        let mut until = until;
        let mut exited = false;
        while self.open_streams > 0 {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            match self
                .lines
                .recv_timeout(left.min(Duration::from_millis(100)))
            {
                Ok((stream, Some(line))) => self.push(stream, line),
                Ok((_, None)) => self.open_streams -= 1,
                Err(RecvTimeoutError::Timeout) => {
                    if !exited && matches!(self.child.try_wait(), Ok(Some(_))) {
                        exited = true;
                        until = until.min(Instant::now() + DRAIN_GRACE);
                    }
                }
                Err(RecvTimeoutError::Disconnected) => self.open_streams = 0,
            }
        }
    }

    fn wait_until(&mut self, until: Instant) -> Result<Option<ExitStatus>, HarnessError> {
        loop {
            if let Some(status) = self.child.try_wait().map_err(self.wait_error())? {
                return Ok(Some(status));
            }
            if Instant::now() >= until {
                return Ok(None);
            }
            pause();
        }
    }

    fn kill_and_wait(&mut self) -> Result<ExitStatus, HarnessError> {
        let _ = self.child.kill();
        self.child.wait().map_err(self.wait_error())
    }

    fn wait_error(&self) -> impl FnOnce(std::io::Error) -> HarnessError {
        io_error(format!("waiting for `{}`", self.command))
    }

    fn output(&mut self, status: ExitStatus, timed_out: bool) -> KubectlOutput {
        KubectlOutput {
            command: self.command.clone(),
            code: status.code(),
            stdout: std::mem::take(&mut self.stdout_raw),
            stderr: std::mem::take(&mut self.stderr),
            timed_out,
        }
    }
}

impl Drop for KubectlChild {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// What a finished kubectl command printed and how it ended.
#[derive(Debug, Clone)]
pub struct KubectlOutput {
    /// The command line, shell-quoted, for messages.
    pub command: String,
    /// The exit code; `None` when a signal ended it.
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Whether the harness killed it: its deadline passed, or [`KubectlChild::stop`]
    /// found it still running.
    pub timed_out: bool,
}

impl KubectlOutput {
    /// Whether it exited 0 on its own.
    pub fn success(&self) -> bool {
        self.code == Some(0) && !self.timed_out
    }
}

impl fmt::Display for KubectlOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` ", self.command)?;
        match (self.timed_out, self.code) {
            (true, _) => write!(f, "was killed by the harness (deadline or stop)")?,
            (false, Some(code)) => write!(f, "exited {code}")?,
            (false, None) => write!(f, "was killed by a signal")?,
        }
        write!(
            f,
            "\n--- stdout:\n{}--- stderr:\n{}---",
            with_newline(&self.stdout),
            with_newline(&self.stderr)
        )
    }
}

fn with_newline(text: &str) -> String {
    if text.is_empty() || text.ends_with('\n') {
        text.to_owned()
    } else {
        format!("{text}\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeconfig_names_the_server_and_no_user() {
        let yaml = kubeconfig_yaml("http://127.0.0.1:1234");
        assert!(
            yaml.contains("    server: http://127.0.0.1:1234\n"),
            "{yaml}"
        );
        assert!(yaml.contains("current-context: keelson\n"), "{yaml}");
        assert!(yaml.contains("users: []\n"), "{yaml}");
    }

    #[test]
    fn commands_are_shown_shell_quoted() {
        assert_eq!(shell_quote("get"), "get");
        assert_eq!(shell_quote("-o=jsonpath={.a}"), "'-o=jsonpath={.a}'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn a_missing_release_is_named_with_its_path() {
        let err = kubectl_binary(9).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("kubectl 1.9") && message.contains("kubectl.1.9"),
            "{message}"
        );
    }
}
