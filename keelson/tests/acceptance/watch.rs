//! Watches the Deployment's pods (kube-rs watch, every state the API server publishes, in
//! order) and records the fewest available pods seen: a pod counts as available when its
//! Ready condition is True and it is not being deleted (the Deployment has no
//! `minReadySeconds`, so Ready is available, as upstream counts it).

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow};
use futures::StreamExt as _;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::watcher;
use tokio::sync::oneshot;

/// What the watch saw.
#[derive(Debug)]
pub(crate) struct Observed {
    /// How many consistent states of the pod set it saw (one per event after the list).
    pub(crate) observations: usize,
    /// The fewest available pods in any of them.
    pub(crate) min_available: usize,
    /// The state with the fewest, pod by pod, for the failure message.
    pub(crate) at_min: String,
    /// The most pods not being deleted in any of them.
    pub(crate) max_live: usize,
    /// Whether some pod running `image` was seen available.
    pub(crate) saw_image_available: bool,
}

/// A running watch; [`Self::finish`] stops it and returns what it saw.
pub(crate) struct AvailabilityWatch {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<Result<Observed>>>,
}

impl AvailabilityWatch {
    /// Starts watching pods with `selector`; returns once the initial list is in.
    /// `image` is the image the rollout moves to.
    pub(crate) fn start(server: &str, selector: &str, image: &str) -> Result<Self> {
        let (stop, stopped) = oneshot::channel();
        let (listed, is_listed) = mpsc::channel();
        let (server, selector, image) = (server.to_owned(), selector.to_owned(), image.to_owned());
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(watch(server, selector, image, listed, stopped))
        });
        let mut this = Self {
            stop: Some(stop),
            thread: Some(thread),
        };
        if is_listed.recv_timeout(Duration::from_secs(30)).is_err() {
            let err = this.finish().err();
            return Err(anyhow!("the pod watch did not list within 30 s: {err:?}"));
        }
        Ok(this)
    }

    /// Stops the watch and returns what it saw.
    pub(crate) fn finish(&mut self) -> Result<Observed> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let thread = self
            .thread
            .take()
            .context("the watch was finished already")?;
        thread
            .join()
            .map_err(|_| anyhow!("the watch thread panicked"))?
    }
}

impl Drop for AvailabilityWatch {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// One pod as the bound cares: available or not, and its image.
#[derive(Debug)]
struct Seen {
    live: bool,
    available: bool,
    image: String,
}

fn seen(pod: &Pod) -> Seen {
    let ready = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    let live = pod.metadata.deletion_timestamp.is_none();
    Seen {
        live,
        available: ready && live,
        image: pod
            .spec
            .as_ref()
            .and_then(|s| s.containers.first())
            .and_then(|c| c.image.clone())
            .unwrap_or_default(),
    }
}

async fn watch(
    server: String,
    selector: String,
    image: String,
    listed: mpsc::Sender<()>,
    mut stopped: oneshot::Receiver<()>,
) -> Result<Observed> {
    let client = kube::Client::try_from(kube::Config::new(server.parse()?))?;
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let config = watcher::Config::default().labels(&selector);
    let mut events = std::pin::pin!(watcher(pods, config));
    let mut state: BTreeMap<String, Seen> = BTreeMap::new();
    let mut listing: BTreeMap<String, Seen> = BTreeMap::new();
    let mut observed = Observed {
        observations: 0,
        min_available: usize::MAX,
        at_min: String::new(),
        max_live: 0,
        saw_image_available: false,
    };
    loop {
        let event = tokio::select! {
            _ = &mut stopped => return Ok(observed),
            event = events.next() => event.context("the pod watch ended")?,
        };
        let changed = match event {
            // A (re)list: the state in between is unknown, so nothing is observed.
            Ok(watcher::Event::Init) => {
                listing.clear();
                false
            }
            Ok(watcher::Event::InitApply(pod)) => {
                listing.insert(pod.metadata.name.clone().unwrap_or_default(), seen(&pod));
                false
            }
            Ok(watcher::Event::InitDone) => {
                state = std::mem::take(&mut listing);
                let _ = listed.send(());
                false
            }
            Ok(watcher::Event::Apply(pod)) => {
                state.insert(pod.metadata.name.clone().unwrap_or_default(), seen(&pod));
                true
            }
            Ok(watcher::Event::Delete(pod)) => {
                state.remove(&pod.metadata.name.clone().unwrap_or_default());
                true
            }
            // The watcher retries by itself.
            Err(_) => false,
        };
        if !changed {
            continue;
        }
        let available = state.values().filter(|s| s.available).count();
        observed.observations += 1;
        observed.max_live = observed
            .max_live
            .max(state.values().filter(|s| s.live).count());
        observed.saw_image_available |= state.values().any(|s| s.available && s.image == image);
        if available < observed.min_available {
            observed.min_available = available;
            observed.at_min = format!("{state:?}");
        }
    }
}
