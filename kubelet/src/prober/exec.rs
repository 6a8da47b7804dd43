//! The `exec` handler: the command runs in the container through the runtime's
//! `ExecSync`; exit code 0 passes. Its combined output (at most 10 KiB) is the failure
//! message; a timeout is a failure (upstream since 1.20, `ExecProbeTimeout`).

use std::time::Duration;

use super::run::Answer;
use crate::runtime::{ExecResult, Runtime};

/// Upstream keeps at most this much of an exec probe's output.
const MAX_OUTPUT: usize = 10 * 1024;

pub(super) async fn probe(
    runtime: &dyn Runtime,
    container_id: &str,
    command: &[String],
    timeout: Duration,
) -> Answer {
    let run = runtime.exec_sync(container_id, command, timeout);
    match tokio::time::timeout(timeout, run).await {
        Err(_) => Answer::Failure(timed_out(command)),
        Ok(Err(error)) => Answer::Error(error.to_string()),
        Ok(Ok(result)) if result.exit_code == 0 => Answer::Success,
        Ok(Ok(result)) => Answer::Failure(output(&result)),
    }
}

/// Upstream's message for an exec probe that timed out: `command "sh -c x" timed out`.
fn timed_out(command: &[String]) -> String {
    format!("command {:?} timed out", command.join(" "))
}

/// Standard output then standard error, cut at 10 KiB.
fn output(result: &ExecResult) -> String {
    let mut bytes: Vec<u8> = result.stdout.iter().take(MAX_OUTPUT).copied().collect();
    let room = MAX_OUTPUT - bytes.len();
    bytes.extend(result.stderr.iter().take(room));
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_stdout_then_stderr_capped() {
        let cases = [
            (b"out".to_vec(), b"err".to_vec(), "outerr".to_owned()),
            (Vec::new(), b"only err".to_vec(), "only err".to_owned()),
            (
                vec![b'a'; MAX_OUTPUT + 5],
                b"lost".to_vec(),
                "a".repeat(MAX_OUTPUT),
            ),
            (
                vec![b'a'; MAX_OUTPUT - 2],
                b"xyz".to_vec(),
                format!("{}xy", "a".repeat(MAX_OUTPUT - 2)),
            ),
        ];
        for (stdout, stderr, want) in cases {
            let result = ExecResult {
                stdout,
                stderr,
                exit_code: 1,
            };
            assert_eq!(output(&result), want);
        }
    }

    #[test]
    fn timeout_message_quotes_the_command() {
        let command = ["sh".to_owned(), "-c".to_owned(), "sleep 5".to_owned()];
        assert_eq!(timed_out(&command), r#"command "sh -c sleep 5" timed out"#);
    }
}
