//! `--storage URL`: which backend, where, and its settings.
//!
//! - `sqlite://PATH[?sync=full|normal]` — the embedded store in the file PATH (relative
//!   paths are relative to the working directory).
//! - `etcd://HOST:PORT[,HOST:PORT…][?timeout=5s&retries=4]` — etcd v3 over plain HTTP.
//!
//! Both take `compaction=DURATION` (default `5m`, `0` turns it off): how often the store is
//! compacted automatically.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::compactor::{Compactor, CompactorConfig};
use super::etcd::{EtcdConfig, EtcdStorage};
use super::sqlite::{Durability, SqliteConfig, SqliteStorage};
use super::{Storage, StorageError};

/// A parsed storage URL.
#[derive(Debug, Clone)]
pub struct StorageUrl {
    /// Which backend, with its settings.
    pub backend: Backend,
    /// Automatic compaction.
    pub compaction: CompactorConfig,
}

/// A backend and its settings.
#[derive(Debug, Clone)]
pub enum Backend {
    /// The embedded store.
    Sqlite(SqliteConfig),
    /// An etcd cluster.
    Etcd(EtcdConfig),
}

/// The file name of the embedded store inside `--data-dir`.
pub const DEFAULT_DB_FILE: &str = "state.db";

impl StorageUrl {
    /// The default: the embedded store in `DATA_DIR/state.db`.
    pub fn default_for(data_dir: &Path) -> Self {
        let backend = Backend::Sqlite(SqliteConfig::new(data_dir.join(DEFAULT_DB_FILE)));
        Self {
            backend,
            compaction: CompactorConfig::default(),
        }
    }

    /// Parses a URL; errors name the URL and what is wrong.
    pub fn parse(url: &str) -> Result<Self, StorageError> {
        let invalid = |reason: String| StorageError::InvalidUrl {
            url: url.to_owned(),
            reason,
        };
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| invalid("expected SCHEME://…".into()))?;
        let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut params = parse_query(query).map_err(invalid)?;
        let mut compaction = CompactorConfig::default();
        if let Some(i) = params.iter().position(|(name, _)| *name == "compaction") {
            compaction.interval = parse_duration(params.remove(i).1).map_err(invalid)?;
        }
        let backend = Self::parse_backend(url, scheme, location, params)?;
        Ok(Self {
            backend,
            compaction,
        })
    }

    fn parse_backend(
        url: &str,
        scheme: &str,
        location: &str,
        params: Vec<(&str, &str)>,
    ) -> Result<Backend, StorageError> {
        let invalid = |reason: String| StorageError::InvalidUrl {
            url: url.to_owned(),
            reason,
        };
        match scheme {
            "sqlite" => {
                if location.is_empty() {
                    return Err(invalid("sqlite:// needs a file path".into()));
                }
                let mut config = SqliteConfig::new(PathBuf::from(location));
                for (name, value) in params {
                    match (name, value) {
                        ("sync", "full") => config.durability = Durability::Full,
                        ("sync", "normal") => config.durability = Durability::Normal,
                        ("sync", other) => {
                            return Err(invalid(format!(
                                "sync must be full or normal, not {other:?}"
                            )));
                        }
                        (other, _) => return Err(invalid(format!("unknown parameter {other:?}"))),
                    }
                }
                Ok(Backend::Sqlite(config))
            }
            "etcd" => {
                let endpoints: Vec<String> = location
                    .split(',')
                    .filter(|e| !e.is_empty())
                    .map(str::to_owned)
                    .collect();
                if endpoints.is_empty() {
                    return Err(invalid("etcd:// needs at least one host:port".into()));
                }
                for endpoint in &endpoints {
                    let port = endpoint.rsplit_once(':').map(|(_, p)| p.parse::<u16>());
                    if !matches!(port, Some(Ok(_))) {
                        return Err(invalid(format!("endpoint {endpoint:?} is not host:port")));
                    }
                }
                let mut config = EtcdConfig::new(endpoints);
                for (name, value) in params {
                    match name {
                        "timeout" => {
                            config.attempt_timeout = parse_duration(value).map_err(invalid)?
                        }
                        "retries" => {
                            config.retries = value.parse().map_err(|_| {
                                invalid(format!("retries {value:?} is not a count"))
                            })?;
                        }
                        other => return Err(invalid(format!("unknown parameter {other:?}"))),
                    }
                }
                Ok(Backend::Etcd(config))
            }
            other => Err(invalid(format!(
                "unknown scheme {other:?}; use sqlite:// or etcd://"
            ))),
        }
    }
}

fn parse_query(query: &str) -> Result<Vec<(&str, &str)>, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            pair.split_once('=')
                .ok_or_else(|| format!("parameter {pair:?} has no value"))
        })
        .collect()
}

/// Durations like `500ms`, `5s`, `2m`.
fn parse_duration(value: &str) -> Result<Duration, String> {
    let split = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{value:?} is not a duration"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" | "" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("{value:?}: unknown unit {unit:?} (use ms, s or m)")),
    }
}

/// Opens the backend a URL names and starts its automatic compaction.
pub async fn open(url: &StorageUrl) -> Result<Arc<dyn Storage>, StorageError> {
    let storage: Arc<dyn Storage> = match &url.backend {
        Backend::Sqlite(config) => {
            let config = config.clone();
            // Opening checks the file and may read it: keep that off the async workers.
            let storage = tokio::task::spawn_blocking(move || SqliteStorage::open(config))
                .await
                .map_err(|e| StorageError::Internal(format!("open task failed: {e}")))??;
            Arc::new(storage)
        }
        Backend::Etcd(config) => Arc::new(EtcdStorage::connect(config.clone()).await?),
    };
    Compactor::spawn(&storage, url.compaction);
    Ok(storage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sqlite_urls() {
        let url = StorageUrl::parse("sqlite:///var/lib/k/state.db?sync=normal").unwrap();
        assert_eq!(url.compaction, CompactorConfig::default());
        let Backend::Sqlite(c) = url.backend else {
            panic!("not sqlite");
        };
        assert_eq!(c.path, PathBuf::from("/var/lib/k/state.db"));
        assert_eq!(c.durability, Durability::Normal);
        assert!(StorageUrl::parse("sqlite://").is_err());
        assert!(StorageUrl::parse("sqlite://x.db?sync=maybe").is_err());
    }

    #[test]
    fn parses_etcd_urls() {
        let url = "etcd://127.0.0.1:2379,127.0.0.1:2380?timeout=500ms&compaction=0&retries=2";
        let url = StorageUrl::parse(url).unwrap();
        assert!(url.compaction.interval.is_zero());
        let Backend::Etcd(c) = url.backend else {
            panic!("not etcd");
        };
        assert_eq!(c.endpoints, ["127.0.0.1:2379", "127.0.0.1:2380"]);
        assert_eq!(c.attempt_timeout, Duration::from_millis(500));
        assert_eq!(c.retries, 2);
        for bad in [
            "etcd://",
            "etcd://host",
            "etcd://h:1?x=1",
            "etcd://h:1?timeout=5y",
            "mysql://x",
        ] {
            let err = StorageUrl::parse(bad).unwrap_err().to_string();
            assert!(
                err.contains(bad.split('?').next().unwrap()),
                "{err} names the URL"
            );
        }
    }
}
