//! Starting one container (upstream's `startContainer`): the image per its pull policy,
//! then create and start, with the events `kubectl describe` shows.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Container;

use super::status::Waiting;
use super::sync::now_ns;
use super::worker::Worker;
use crate::runtime::{ContainerConfig, ContainerMetadata};

/// Why a container did not start, and when to try again (None: at the next sync).
pub(super) type NotStarted = (Waiting, Option<Duration>);

fn waiting(reason: &str, message: String) -> Waiting {
    Waiting {
        reason: reason.to_owned(),
        message: Some(message),
    }
}

/// `base` jittered up to +50 % (upstream's `wait.Jitter(backOffPeriod, 0.5)`), spread by
/// pod and container so pods failing together do not retry together.
fn sync_error_backoff(base: Duration, uid: &str, container: &str) -> Duration {
    use std::hash::{DefaultHasher, Hash as _, Hasher as _};
    let mut hasher = DefaultHasher::new();
    (uid, container).hash(&mut hasher);
    let permille = u32::try_from(hasher.finish() % 500).unwrap_or(0);
    base + base * permille / 1000
}

/// A duration as Go prints a short one (`523ms`, `1.204s`).
fn go_duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{:.3}s", d.as_secs_f64())
    }
}

impl Worker {
    /// Makes the container's image present as its pull policy says.
    async fn ensure_image(&mut self, c: &Container) -> Result<(), NotStarted> {
        let image = c.image.clone().unwrap_or_default();
        let name = &c.name;
        let runtime = &self.shared.runtime;
        let policy = c.image_pull_policy.as_deref().unwrap_or("IfNotPresent");
        let present = matches!(runtime.image_status(&image).await, Ok(Some(_)));
        if policy == "Never" && !present {
            let message =
                format!("Container image \"{image}\" is not present with pull policy of Never");
            self.record_container_event(name, "Warning", "ErrImageNeverPull", message.clone());
            return Err((waiting("ErrImageNeverPull", message), None));
        }
        if policy != "Always" && present {
            self.record_container_event(
                name,
                "Normal",
                "Pulled",
                format!("Container image \"{image}\" already present on machine"),
            );
            return Ok(());
        }
        let key = format!("{}/{name}", self.uid);
        let now = now_ns();
        let remaining = self.shared.pulls.lock().remaining_since_update(&key, now);
        if let Some(remaining) = remaining {
            let message = format!("Back-off pulling image \"{image}\"");
            if self.reported.insert(format!(
                "{name}/pull/{}",
                self.shared.pulls.lock().updated(&key)
            )) {
                self.record_container_event(name, "Normal", "BackOff", message.clone());
            }
            return Err((waiting("ImagePullBackOff", message), Some(remaining)));
        }
        self.record_container_event(
            name,
            "Normal",
            "Pulling",
            format!("Pulling image \"{image}\""),
        );
        let started = Instant::now();
        let Some((_, sandbox)) = &self.sandbox else {
            return Err((waiting("ContainerCreating", String::new()), None));
        };
        match self.shared.runtime.pull_image(&image, sandbox).await {
            Ok(_) => {
                let took = go_duration(started.elapsed());
                let size = match self.shared.runtime.image_status(&image).await {
                    Ok(Some(info)) => info.size,
                    _ => 0,
                };
                self.record_container_event(
                    name,
                    "Normal",
                    "Pulled",
                    format!("Successfully pulled image \"{image}\" in {took} ({took} including waiting). Image size: {size} bytes."),
                );
                Ok(())
            }
            Err(error) => {
                self.shared.pulls.lock().next(&key, now);
                let message = error.to_string();
                self.record_container_event(
                    name,
                    "Warning",
                    "Failed",
                    format!("Failed to pull image \"{image}\": {message}"),
                );
                self.record_container_event(
                    name,
                    "Warning",
                    "Failed",
                    "Error: ErrImagePull".to_owned(),
                );
                let retry = self.shared.pulls.lock().remaining_since_update(&key, now);
                Err((waiting("ErrImagePull", message), retry))
            }
        }
    }

    /// Pulls, creates and starts one container run (`attempt` = its restart count).
    pub(super) async fn start_container(
        &mut self,
        c: &Container,
        attempt: u32,
        init: bool,
    ) -> Result<(), NotStarted> {
        self.ensure_image(c).await?;
        let envs = self.environment(c).await.map_err(|message| {
            self.record_container_event(&c.name, "Warning", "Failed", format!("Error: {message}"));
            let retry =
                sync_error_backoff(self.shared.config.sync_error_backoff, &self.uid, &c.name);
            (waiting("CreateContainerConfigError", message), Some(retry))
        })?;
        let Some((sandbox, sandbox_config)) = self.sandbox.clone() else {
            return Err((waiting("ContainerCreating", String::new()), None));
        };
        let labels = BTreeMap::from([
            ("io.kubernetes.pod.name".to_owned(), self.name().to_owned()),
            (
                "io.kubernetes.pod.namespace".to_owned(),
                self.namespace().to_owned(),
            ),
            ("io.kubernetes.pod.uid".to_owned(), self.uid.clone()),
            ("io.kubernetes.container.name".to_owned(), c.name.clone()),
        ]);
        let annotations = BTreeMap::from([
            (
                "io.kubernetes.container.restartCount".to_owned(),
                attempt.to_string(),
            ),
            (
                "io.kubernetes.container.terminationMessagePath".to_owned(),
                c.termination_message_path.clone().unwrap_or_default(),
            ),
        ]);
        let config = ContainerConfig {
            metadata: ContainerMetadata {
                name: c.name.clone(),
                attempt,
            },
            image: c.image.clone().unwrap_or_default(),
            command: c.command.clone().unwrap_or_default(),
            args: c.args.clone().unwrap_or_default(),
            working_dir: c.working_dir.clone().unwrap_or_default(),
            envs,
            labels,
            annotations,
            init,
        };
        let runtime = self.shared.runtime.clone();
        let id = match runtime
            .create_container(&sandbox.id, &config, &sandbox_config)
            .await
        {
            Ok(id) => id,
            Err(error) => {
                let message = error.to_string();
                self.record_container_event(
                    &c.name,
                    "Warning",
                    "Failed",
                    format!("Error: {message}"),
                );
                return Err((waiting("CreateContainerError", message), None));
            }
        };
        self.record_container_event(
            &c.name,
            "Normal",
            "Created",
            format!("Created container: {}", c.name),
        );
        if let Err(error) = runtime.start_container(&id).await {
            let message = error.to_string();
            self.record_container_event(&c.name, "Warning", "Failed", format!("Error: {message}"));
            return Err((waiting("RunContainerError", message), None));
        }
        self.record_container_event(
            &c.name,
            "Normal",
            "Started",
            format!("Started container {}", c.name),
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_error_backoff_is_jittered_up_to_half_again_and_spread_by_pod() {
        let base = Duration::from_secs(10);
        let waits: Vec<Duration> = (0..50)
            .map(|i| sync_error_backoff(base, &format!("uid-{i}"), "app"))
            .collect();
        assert!(
            waits.iter().all(|w| *w >= base && *w < base + base / 2),
            "{waits:?}"
        );
        let distinct: std::collections::HashSet<_> = waits.iter().collect();
        assert!(distinct.len() > 25, "{distinct:?}");
        // The same pod and container always wait the same.
        assert_eq!(
            sync_error_backoff(base, "uid-1", "app"),
            sync_error_backoff(base, "uid-1", "app")
        );
    }
}
