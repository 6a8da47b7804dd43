//! The image pull policy upstream derives from an image reference: `Always` when the tag
//! is `latest` (given, or implied by a reference with neither tag nor digest), otherwise
//! `IfNotPresent` — also for a digest without a tag and for a reference that does not
//! parse, whose tag is then "". The parse follows the distribution reference grammar
//! (`ParseNormalizedNamed`), with the digest algorithms Kubernetes links in.

/// The default `imagePullPolicy` for `image`.
pub(super) fn pull_policy(image: &str) -> &'static str {
    if tag(image).as_deref() == Some("latest") {
        "Always"
    } else {
        "IfNotPresent"
    }
}

/// The tag `ParseImageName` reports: the given one, `latest` when neither a tag nor a
/// digest is given, "" with only a digest, `None` when the reference does not parse.
fn tag(image: &str) -> Option<String> {
    if image.len() == 64
        && image
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return None; // an image ID, refused as a repository name
    }
    let (domain, remainder) = split_domain(image);
    let remote = remainder
        .split_once(':')
        .map_or(remainder.as_str(), |(r, _)| r);
    if remote.to_lowercase() != remote {
        return None;
    }
    let (rest, digest) = match remainder.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (remainder.as_str(), None),
    };
    let (path, tag) = match rest.split_once(':') {
        Some((path, tag)) => (path, Some(tag)),
        None => (rest, None),
    };
    let name_ok = (domain_and_port(&domain) || path_component(&domain))
        && path.split('/').all(path_component)
        && domain.len() + 1 + path.len() <= 255;
    if !name_ok || !tag.is_none_or(tag_ok) || !digest.is_none_or(digest_ok) {
        return None;
    }
    Some(match (tag, digest) {
        (Some(t), _) => t.to_owned(),
        (None, None) => "latest".to_owned(),
        (None, Some(_)) => String::new(),
    })
}

/// Splits off the registry the way `splitDockerDomain` does; familiar names get
/// `docker.io` and `library/`.
fn split_domain(name: &str) -> (String, String) {
    const DEFAULT: &str = "docker.io";
    let (domain, remote) = match name.split_once('/') {
        None => return (DEFAULT.to_owned(), format!("library/{name}")),
        Some(("localhost", rest)) => ("localhost", rest.to_owned()),
        Some(("index.docker.io", rest)) => (DEFAULT, rest.to_owned()),
        Some((first, rest)) if first.contains(['.', ':']) || first.to_lowercase() != first => {
            (first, rest.to_owned())
        }
        Some(_) => (DEFAULT, name.to_owned()),
    };
    if domain == DEFAULT && !remote.contains('/') {
        return (DEFAULT.to_owned(), format!("library/{remote}"));
    }
    (domain.to_owned(), remote)
}

/// `host[:port]`, host a DNS name or a bracketed IPv6 address.
fn domain_and_port(s: &str) -> bool {
    let (host, port) = if let Some(inner) = s.strip_prefix('[') {
        let Some((addr, after)) = inner.split_once(']') else {
            return false;
        };
        let ipv6 = !addr.is_empty() && addr.bytes().all(|b| b == b':' || b.is_ascii_hexdigit());
        if !ipv6 {
            return false;
        }
        match after {
            "" => return true,
            _ => match after.strip_prefix(':') {
                Some(port) => ("", Some(port)),
                None => return false,
            },
        }
    } else {
        match s.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (s, None),
        }
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let host_ok = s.starts_with('[') || host.split('.').all(domain_component);
    port_ok && host_ok
}

/// `[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?`
fn domain_component(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
}

/// `[a-z0-9]+` runs joined by `.`, `_`, `__` or one or more `-`.
fn path_component(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let mut i = 0;
    loop {
        let start = i;
        while i < b.len() && alnum(b[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == b.len() {
            return true;
        }
        match b[i] {
            b'.' => i += 1,
            b'_' => i += if b.get(i + 1) == Some(&b'_') { 2 } else { 1 },
            b'-' => {
                while b.get(i) == Some(&b'-') {
                    i += 1;
                }
            }
            _ => return false,
        }
    }
}

/// `[\w][\w.-]{0,127}`
fn tag_ok(t: &str) -> bool {
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && word(b[0])
        && b.iter().all(|c| word(*c) || *c == b'.' || *c == b'-')
}

/// A digest of an algorithm Kubernetes links in, with its exact lowercase hex length.
fn digest_ok(d: &str) -> bool {
    let Some((algorithm, hex)) = d.split_once(':') else {
        return false;
    };
    let len = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return false,
    };
    hex.len() == len && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn pull_policy_follows_the_tag() {
        let cases: &[(&str, &str)] = &[
            ("nginx", "Always"),
            ("nginx:latest", "Always"),
            ("nginx:1.27", "IfNotPresent"),
            ("library/nginx", "Always"),
            ("docker.io/library/nginx:1.0", "IfNotPresent"),
            ("registry.k8s.io/pause:3.10", "IfNotPresent"),
            ("registry.k8s.io/pause", "Always"),
            ("localhost:5000/app", "Always"),
            ("localhost:5000/app:v1", "IfNotPresent"),
            ("localhost/app:latest", "Always"),
            ("[::1]:5000/app:v2", "IfNotPresent"),
            ("[::1]/app", "Always"),
            ("example.com/team/app-one__two.three:Latest", "IfNotPresent"),
            // Tags are case-sensitive; "latest" only.
            ("nginx:LATEST", "IfNotPresent"),
            // A digest counts as a tag; with both, the tag decides.
            (&format!("nginx@{SHA}"), "IfNotPresent"),
            (&format!("nginx:latest@{SHA}"), "Always"),
            (&format!("nginx:1.0@{SHA}"), "IfNotPresent"),
            // Unparseable references have no tag.
            ("", "IfNotPresent"),
            ("Nginx", "IfNotPresent"),
            ("nginx:", "IfNotPresent"),
            ("nginx@sha256:abc", "IfNotPresent"),
            ("nginx@md5:0123456789abcdef0123456789abcdef", "IfNotPresent"),
            (" nginx", "IfNotPresent"),
            ("a/b:c:d", "IfNotPresent"),
            ("nginx-:1", "IfNotPresent"),
            ("-nginx", "IfNotPresent"),
            ("ngi..nx", "IfNotPresent"),
            (&"0123456789abcdef".repeat(4), "IfNotPresent"),
            (&format!("{}:latest", "a".repeat(300)), "IfNotPresent"),
            // An uppercase first element is taken for a registry.
            ("Example/app", "Always"),
            ("foo_bar.com/app", "Always"),
            ("ex_ample.com:5000/app", "IfNotPresent"),
        ];
        for (image, want) in cases {
            assert_eq!(pull_policy(image), *want, "{image:?}");
        }
    }

    #[test]
    fn tags() {
        assert_eq!(tag("nginx").as_deref(), Some("latest"));
        assert_eq!(tag(&format!("nginx@{SHA}")).as_deref(), Some(""));
        assert_eq!(tag("a:1.0_b-c").as_deref(), Some("1.0_b-c"));
        assert_eq!(tag(&format!("a:{}", "t".repeat(129))), None);
    }
}
