//! The volume objects the scheduler knows (claims, volumes, storage classes), fed by the
//! watchers, and the volumes assumed for pods whose binding is in flight, so that a
//! second pod does not pick a volume already promised to another claim.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;

/// A claim's `namespace/name`.
pub fn claim_key(claim: &PersistentVolumeClaim) -> String {
    format!(
        "{}/{}",
        claim.metadata.namespace.as_deref().unwrap_or("default"),
        claim.metadata.name.as_deref().unwrap_or_default()
    )
}

/// A volume promised to a claim by a pod being bound.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Assumed {
    claim: String,
    pod: String,
}

/// Claims, volumes and classes by name, plus the assumed volumes.
#[derive(Debug, Clone, Default)]
pub struct VolumeState {
    claims: HashMap<String, Arc<PersistentVolumeClaim>>,
    /// By name, in name order (candidate order is then stable).
    volumes: BTreeMap<String, Arc<PersistentVolume>>,
    classes: HashMap<String, Arc<StorageClass>>,
    /// Volume name → the claim and pod it is promised to.
    assumed: HashMap<String, Assumed>,
}

fn name_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    meta.name.clone().unwrap_or_default()
}

impl VolumeState {
    /// The claim `namespace/name`.
    pub fn claim(&self, namespace: &str, name: &str) -> Option<&Arc<PersistentVolumeClaim>> {
        self.claims.get(&format!("{namespace}/{name}"))
    }

    /// The volume called `name`.
    pub fn volume(&self, name: &str) -> Option<&Arc<PersistentVolume>> {
        self.volumes.get(name)
    }

    /// Every volume, by name.
    pub fn volumes(&self) -> impl Iterator<Item = &Arc<PersistentVolume>> {
        self.volumes.values()
    }

    /// The storage class called `name`.
    pub fn class(&self, name: &str) -> Option<&Arc<StorageClass>> {
        self.classes.get(name)
    }

    /// The claim (`namespace/name`) a volume is promised to by a binding in flight.
    pub fn assumed_claim(&self, volume: &str) -> Option<&str> {
        self.assumed.get(volume).map(|a| a.claim.as_str())
    }

    /// Adds or replaces a claim; whether it is new.
    pub fn set_claim(&mut self, claim: Arc<PersistentVolumeClaim>) -> bool {
        self.claims.insert(claim_key(&claim), claim).is_none()
    }

    /// Forgets a claim.
    pub fn delete_claim(&mut self, claim: &PersistentVolumeClaim) {
        self.claims.remove(&claim_key(claim));
    }

    /// Replaces every claim (after a relist).
    pub fn replace_claims(&mut self, all: Vec<Arc<PersistentVolumeClaim>>) {
        self.claims = all.into_iter().map(|c| (claim_key(&c), c)).collect();
    }

    /// Adds or replaces a volume; whether it is new. A volume that now names a claim
    /// is no longer only assumed.
    pub fn set_volume(&mut self, volume: Arc<PersistentVolume>) -> bool {
        let name = name_of(&volume.metadata);
        let claimed = volume.spec.as_ref().is_some_and(|s| s.claim_ref.is_some());
        if claimed {
            self.assumed.remove(&name);
        }
        self.volumes.insert(name, volume).is_none()
    }

    /// Forgets a volume.
    pub fn delete_volume(&mut self, volume: &PersistentVolume) {
        let name = name_of(&volume.metadata);
        self.volumes.remove(&name);
        self.assumed.remove(&name);
    }

    /// Replaces every volume (after a relist).
    pub fn replace_volumes(&mut self, all: Vec<Arc<PersistentVolume>>) {
        self.volumes.clear();
        for v in all {
            self.set_volume(v);
        }
    }

    /// Adds or replaces a storage class; whether it is new.
    pub fn set_class(&mut self, class: Arc<StorageClass>) -> bool {
        self.classes
            .insert(name_of(&class.metadata), class)
            .is_none()
    }

    /// Forgets a storage class.
    pub fn delete_class(&mut self, class: &StorageClass) {
        self.classes.remove(&name_of(&class.metadata));
    }

    /// Replaces every storage class (after a relist).
    pub fn replace_classes(&mut self, all: Vec<Arc<StorageClass>>) {
        self.classes = all.into_iter().map(|c| (name_of(&c.metadata), c)).collect();
    }

    /// Promises `volume` to the claim `claim` (`namespace/name`) for the pod `pod`.
    pub fn assume(&mut self, volume: &str, claim: String, pod: &str) {
        let pod = pod.to_owned();
        self.assumed
            .insert(volume.to_owned(), Assumed { claim, pod });
    }

    /// Drops every promise made for `pod` (its binding failed); whether there was one.
    pub fn forget_pod(&mut self, pod: &str) -> bool {
        let before = self.assumed.len();
        self.assumed.retain(|_, a| a.pod != pod);
        before != self.assumed.len()
    }
}
