//! Supervising `up`'s components: wait for a shutdown signal or for any component to end,
//! then stop them one after another in a fixed order, each draining before the next is
//! told; the first failure is the result.

use std::future::Future;

use anyhow::Context as _;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// A started component: how to tell it to stop, and its task.
#[derive(Debug)]
pub(super) struct Component {
    name: &'static str,
    stop: watch::Sender<bool>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Component {
    /// Spawns `run(stop)`; it must return once `stop` turns true (after draining).
    pub(super) fn spawn<F>(name: &'static str, run: impl FnOnce(watch::Receiver<bool>) -> F) -> Self
    where
        F: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(run(stop_rx));
        Self { name, stop, task }
    }
}

fn flatten(
    name: &str,
    joined: Result<anyhow::Result<()>, tokio::task::JoinError>,
) -> anyhow::Result<()> {
    joined.with_context(|| format!("the {name} task failed"))?
}

/// Runs until `shutdown` completes or a component ends by itself (which is an error, even
/// when it returned Ok), then stops the components in the order given, each after the
/// previous one finished. Returns the first error; later ones are logged.
pub(super) async fn supervise(
    components: Vec<Component>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let mut components = components;
    let mut errors = Vec::new();
    let mut exited = None;
    if !components.is_empty() {
        let names: Vec<_> = components.iter().map(|c| c.name).collect();
        let exits = futures::future::select_all(components.iter_mut().map(|c| &mut c.task));
        tokio::select! {
            () = shutdown => {}
            (joined, index, _) = exits => {
                let name = names[index];
                tracing::error!(component = name, "stopped before it was told to; stopping the rest");
                errors.push(match flatten(name, joined) {
                    Ok(()) => anyhow::anyhow!("the {name} ended unexpectedly"),
                    Err(err) => err,
                });
                exited = Some(index);
            }
        }
    }
    for (index, component) in components.into_iter().enumerate() {
        component.stop.send_replace(true);
        if exited == Some(index) {
            continue;
        }
        if let Err(err) = flatten(component.name, component.task.await) {
            errors.push(err);
        }
    }
    let mut errors = errors.into_iter();
    let first = errors.next();
    for later in errors {
        tracing::warn!("also while stopping: {later:#}");
    }
    first.map_or(Ok(()), Err)
}

/// Runs a group of members (kubelets) that were spawned into `members` watching
/// `stop_members`, until `stop`; then tells them all and waits for every one. The first
/// member that fails or ends by itself makes the others stop too; its error is the result.
pub(super) async fn run_group(
    mut members: JoinSet<anyhow::Result<()>>,
    stop_members: watch::Sender<bool>,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let mut first_error = None;
    loop {
        let stopping = *stop_members.borrow();
        tokio::select! {
            _ = stop.wait_for(|s| *s), if !stopping => { stop_members.send_replace(true); }
            Some(joined) = members.join_next(), if !members.is_empty() => {
                let result = match joined {
                    Ok(Ok(())) if !*stop_members.borrow() => {
                        Err(anyhow::anyhow!("a member ended unexpectedly"))
                    }
                    Ok(result) => result,
                    Err(err) => Err(anyhow::Error::from(err).context("a member's task failed")),
                };
                if let Err(err) = result {
                    tracing::error!("{err:#}; stopping the others");
                    first_error.get_or_insert(err);
                    stop_members.send_replace(true);
                }
            }
            else => break,
        }
    }
    first_error.map_or(Ok(()), Err)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use tokio::sync::mpsc;

    use super::*;

    /// A component that, once told to stop, takes `drain` and then reports its name.
    fn fake(
        name: &'static str,
        drain: Duration,
        log: &mpsc::UnboundedSender<&'static str>,
    ) -> Component {
        let log = log.clone();
        Component::spawn(name, move |mut stop| async move {
            let _ = stop.wait_for(|s| *s).await;
            tokio::time::sleep(drain).await;
            log.send(name).unwrap();
            Ok(())
        })
    }

    fn drained(mut rx: mpsc::UnboundedReceiver<&'static str>) -> Vec<&'static str> {
        let mut out = Vec::new();
        while let Ok(name) = rx.try_recv() {
            out.push(name);
        }
        out
    }

    #[tokio::test(start_paused = true)]
    async fn a_signal_stops_components_in_order_each_after_the_previous_drained() {
        let (tx, rx) = mpsc::unbounded_channel();
        // The first drains longest: had they been told at once, it would finish last.
        let components = vec![
            fake("kubelets", Duration::from_secs(3), &tx),
            fake("controllers", Duration::from_secs(2), &tx),
            fake("scheduler", Duration::from_secs(1), &tx),
        ];
        supervise(components, tokio::time::sleep(Duration::from_secs(5)))
            .await
            .unwrap();
        assert_eq!(drained(rx), ["kubelets", "controllers", "scheduler"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_component_stops_the_others_and_is_the_error() {
        let (tx, rx) = mpsc::unbounded_channel();
        let failing = Component::spawn("controllers", |_stop| async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Err(anyhow::anyhow!("lost the store"))
        });
        let components = vec![
            fake("kubelets", Duration::from_secs(1), &tx),
            failing,
            fake("scheduler", Duration::ZERO, &tx),
        ];
        let err = supervise(components, std::future::pending())
            .await
            .unwrap_err();
        assert_eq!(format!("{err:#}"), "lost the store");
        assert_eq!(drained(rx), ["kubelets", "scheduler"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_component_ending_by_itself_is_an_error() {
        let (tx, rx) = mpsc::unbounded_channel();
        let quitter = Component::spawn("scheduler", |_stop| async { Ok(()) });
        let components = vec![fake("kubelets", Duration::ZERO, &tx), quitter];
        let err = supervise(components, std::future::pending())
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "the scheduler ended unexpectedly");
        assert_eq!(drained(rx), ["kubelets"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_group_stops_on_stop_or_on_its_first_failure() {
        let spawn_group = |fail_after: Option<u64>| {
            let (stop_members, members_rx) = watch::channel(false);
            let mut members = JoinSet::new();
            for i in 0..3u64 {
                let mut rx = members_rx.clone();
                members.spawn(async move {
                    if fail_after.is_some_and(|_| i == 1) {
                        tokio::time::sleep(Duration::from_secs(fail_after.unwrap_or(0))).await;
                        anyhow::bail!("member {i} broke");
                    }
                    let _ = rx.wait_for(|s| *s).await;
                    Ok(())
                });
            }
            (members, stop_members)
        };

        let (members, stop_members) = spawn_group(None);
        let (stop, stop_rx) = watch::channel(false);
        let group = tokio::spawn(run_group(members, stop_members, stop_rx));
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert!(!group.is_finished());
        stop.send_replace(true);
        group.await.unwrap().unwrap();

        let (members, stop_members) = spawn_group(Some(2));
        let (_stop, stop_rx) = watch::channel(false);
        let err = run_group(members, stop_members, stop_rx).await.unwrap_err();
        assert_eq!(err.to_string(), "member 1 broke");

        let (stop, stop_rx) = watch::channel(true);
        run_group(JoinSet::new(), watch::channel(false).0, stop_rx)
            .await
            .unwrap();
        drop(stop);
    }
}
