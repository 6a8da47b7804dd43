//! Simulated images: references normalized as containerd does (`nginx` is
//! `docker.io/library/nginx:latest`), ids and digests derived from the reference, so the
//! same image has the same id on every node and in every run. Pure.

use std::sync::Arc;

use crate::runtime::ImageInfo;

/// One image the runtime holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Image {
    /// `sha256:<64 hex>`.
    pub(crate) id: Arc<str>,
    /// The normalized reference it was pulled by.
    pub(crate) reference: String,
    pub(crate) size: u64,
}

impl Image {
    /// The image `reference` names (any spelling of the same reference gives the same one).
    pub(crate) fn of(reference: &str) -> Image {
        let reference = normalize(reference);
        let id = format!("sha256:{}", hex64(&format!("config:{reference}")));
        let size = 2_000_000 + mix(fnv1a(0, reference.as_bytes())) % 200_000_000;
        Image {
            id: id.into(),
            reference,
            size,
        }
    }

    /// As the CRI lists it.
    pub(crate) fn info(&self) -> ImageInfo {
        let (repo, pinned) = split(&self.reference);
        let (digest, repo_tags) = match pinned {
            Some(digest) => (digest.to_owned(), Vec::new()),
            None => {
                let digest = hex64(&format!("manifest:{}", self.reference));
                (format!("sha256:{digest}"), vec![self.reference.clone()])
            }
        };
        ImageInfo {
            id: self.id.to_string(),
            repo_tags,
            repo_digests: vec![format!("{repo}@{digest}")],
            size: self.size,
        }
    }
}

/// Repository and digest (when pinned by one) of a normalized reference.
fn split(reference: &str) -> (&str, Option<&str>) {
    if let Some((repo, digest)) = reference.split_once('@') {
        return (repo, Some(digest));
    }
    let slash = reference.rfind('/').map_or(0, |at| at + 1);
    match reference[slash..].rfind(':') {
        Some(colon) => (&reference[..slash + colon], None),
        None => (reference, None),
    }
}

/// `nginx` → `docker.io/library/nginx:latest`, `quay.io/x/y` → `quay.io/x/y:latest`; a
/// digest reference keeps its digest and gets no tag.
pub(crate) fn normalize(reference: &str) -> String {
    let reference = reference.trim();
    let (name, digest) = match reference.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (reference, None),
    };
    let has_domain = name.split_once('/').is_some_and(|(first, _)| {
        first.contains('.') || first.contains(':') || first == "localhost"
    });
    let mut out = if has_domain {
        name.to_owned()
    } else if name.contains('/') {
        format!("docker.io/{name}")
    } else {
        format!("docker.io/library/{name}")
    };
    let last = out.rsplit('/').next().unwrap_or_default();
    match digest {
        Some(digest) => {
            out.push('@');
            out.push_str(digest);
        }
        None if !last.contains(':') => out.push_str(":latest"),
        None => {}
    }
    out
}

/// 64 hex digits derived from `seed` (a simulated digest, not a real SHA-256).
pub(crate) fn hex64(seed: &str) -> String {
    (0..4u64)
        .map(|lane| format!("{:016x}", mix(fnv1a(lane, seed.as_bytes()))))
        .collect()
}

/// FNV-1a, with `lane` folded into the offset basis.
pub(crate) fn fnv1a(lane: u64, bytes: &[u8]) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = 0xcbf2_9ce4_8422_2325 ^ lane.wrapping_mul(PRIME);
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(PRIME);
    }
    hash
}

/// SplitMix64's finalizer: a bijection that spreads the bits.
pub(crate) fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_like_containerd() {
        let cases = [
            ("nginx", "docker.io/library/nginx:latest"),
            ("nginx:1.27", "docker.io/library/nginx:1.27"),
            ("library/nginx", "docker.io/library/nginx:latest"),
            ("bitnami/redis:7", "docker.io/bitnami/redis:7"),
            ("quay.io/coreos/etcd", "quay.io/coreos/etcd:latest"),
            ("registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10"),
            ("localhost:5000/app", "localhost:5000/app:latest"),
            ("localhost/app:v1", "localhost/app:v1"),
            (
                "busybox@sha256:abcd",
                "docker.io/library/busybox@sha256:abcd",
            ),
        ];
        for (given, want) in cases {
            assert_eq!(normalize(given), want, "{given}");
        }
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        let nginx = Image::of("nginx");
        assert_eq!(nginx, Image::of("docker.io/library/nginx:latest"));
        assert_ne!(nginx.id, Image::of("nginx:1.27").id);
        assert_eq!(nginx.id.len(), "sha256:".len() + 64);
        assert!(nginx.id.starts_with("sha256:"));
        assert!(nginx.id[7..].chars().all(|c| c.is_ascii_hexdigit()));
        assert!((2_000_000..202_000_000).contains(&nginx.size));
    }

    #[test]
    fn lists_tags_and_digests() {
        let info = Image::of("nginx:1.27").info();
        assert_eq!(info.repo_tags, ["docker.io/library/nginx:1.27"]);
        assert_eq!(info.repo_digests.len(), 1);
        assert!(info.repo_digests[0].starts_with("docker.io/library/nginx@sha256:"));
        let pinned = Image::of("localhost:5000/app@sha256:0123").info();
        assert!(pinned.repo_tags.is_empty());
        assert_eq!(pinned.repo_digests, ["localhost:5000/app@sha256:0123"]);
    }
}
