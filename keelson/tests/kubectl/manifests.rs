//! The manifests: one object of every served kind (what the first `apply` creates and
//! later steps read and change), and the changes the second `apply` makes.

use anyhow::{Result, ensure};

/// One object of every served kind, in the order `apply` creates them.
pub(crate) const ALL_KINDS: &str = r#"apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  namespace: shop
data:
  mode: blue
---
apiVersion: v1
kind: Secret
metadata:
  name: web-secret
  namespace: shop
type: Opaque
stringData:
  password: hunter2
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: web
  namespace: shop
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector:
    app: web
  ports:
  - name: http
    port: 80
    targetPort: 8080
---
apiVersion: v1
kind: Pod
metadata:
  name: web-0
  namespace: shop
  labels:
    app: web
    tier: frontend
spec:
  containers:
  - name: web
    image: nginx:1.25
    env:
    - name: MODE
      value: blue
    - name: DEBUG
      value: "1"
    ports:
    - containerPort: 8080
  - name: sidecar
    image: busybox:1.36
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels:
    app: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:1.25
        env:
        - name: MODE
          value: blue
        - name: DEBUG
          value: "1"
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-rs
  namespace: shop
spec:
  replicas: 1
  selector:
    matchLabels:
      app: rs
  template:
    metadata:
      labels:
        app: rs
    spec:
      containers:
      - name: c
        image: busybox:1.36
---
apiVersion: v1
kind: Endpoints
metadata:
  name: web
  namespace: shop
subsets:
- addresses:
  - ip: 10.0.0.5
  ports:
  - name: http
    port: 8080
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abc
  namespace: shop
  labels:
    kubernetes.io/service-name: web
addressType: IPv4
endpoints:
- addresses:
  - 10.0.0.5
ports:
- name: http
  port: 8080
  protocol: TCP
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata:
  name: leader
  namespace: shop
spec:
  holderIdentity: node-a
  leaseDurationSeconds: 15
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: fast
provisioner: example.com/fast
reclaimPolicy: Delete
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata:
  name: high
value: 1000
description: important
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: pv-1
spec:
  capacity:
    storage: 1Gi
  accessModes:
  - ReadWriteOnce
  storageClassName: fast
  hostPath:
    path: /tmp/pv-1
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
  namespace: shop
spec:
  accessModes:
  - ReadWriteOnce
  storageClassName: fast
  resources:
    requests:
      storage: 1Gi
---
apiVersion: events.k8s.io/v1
kind: Event
metadata:
  name: web-0.started
  namespace: shop
regarding:
  apiVersion: v1
  kind: Pod
  name: web-0
  namespace: shop
reason: Started
note: Started container web
type: Normal
action: Start
reportingController: keelson-test
reportingInstance: test-1
eventTime: "2024-01-01T00:00:00.000000Z"
"#;

/// What `apply` prints for each object of [`ALL_KINDS`].
pub(crate) const ALL_KINDS_APPLIED: &[&str] = &[
    "namespace/shop",
    "configmap/web-config",
    "secret/web-secret",
    "serviceaccount/web",
    "service/web",
    "pod/web-0",
    "deployment.apps/web",
    "replicaset.apps/web-rs",
    "endpoints/web",
    "endpointslice.discovery.k8s.io/web-abc",
    "lease.coordination.k8s.io/leader",
    "storageclass.storage.k8s.io/fast",
    "priorityclass.scheduling.k8s.io/high",
    "persistentvolume/pv-1",
    "persistentvolumeclaim/data",
    "event.events.k8s.io/web-0.started",
];

/// Objects kubectl reports `configured` on every apply, as upstream: the Secret's
/// `stringData` is write-only, so the three-way diff always finds it missing from the live
/// object and sends it again (kubernetes/kubernetes#87736); the Endpoints' ports get
/// `protocol: TCP` by defaulting and `subsets` is an atomic list, so the live list always
/// differs from the manifest's and is sent whole; likewise the EndpointSlice's endpoints
/// (an atomic list) gain `conditions: {}` when stored.
pub(crate) const ALWAYS_CONFIGURED: &[&str] = &[
    "secret/web-secret",
    "endpoints/web",
    "endpointslice.discovery.k8s.io/web-abc",
];

/// The objects the changed manifest changes.
pub(crate) const CHANGED: &[&str] = &["configmap/web-config", "pod/web-0", "deployment.apps/web"];

/// [`ALL_KINDS`] with changes for the second apply: a ConfigMap value; the Pod's `tier`
/// label and its image (a change upstream allows on a pod); the Deployment's image, one env
/// var removed and another changed.
pub(crate) fn changed_manifest() -> Result<String> {
    let mut text = ALL_KINDS.to_owned();
    for (from, to) in [
        ("\n  mode: blue\n", "\n  mode: green\n"),
        ("\n    tier: frontend\n", "\n    tier: backend\n"),
        ("\n    image: nginx:1.25\n", "\n    image: nginx:1.25.5\n"),
        (
            "\n        image: nginx:1.25\n        env:\n        - name: MODE\n          value: blue\n        - name: DEBUG\n          value: \"1\"\n",
            "\n        image: nginx:1.26\n        env:\n        - name: MODE\n          value: green\n",
        ),
    ] {
        ensure!(
            text.matches(from).count() == 1,
            "test bug: {from:?} is not in the manifest exactly once"
        );
        text = text.replace(from, to);
    }
    Ok(text)
}
