use std::net::TcpListener;

use crate::HarnessError;

/// A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it).
pub fn free_port() -> Result<u16, HarnessError> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|source| HarnessError::Io {
        what: "binding a probe port".into(),
        source,
    })?;
    let port = listener
        .local_addr()
        .map_err(|source| HarnessError::Io {
            what: "reading the probe port".into(),
            source,
        })?
        .port();
    Ok(port)
}
