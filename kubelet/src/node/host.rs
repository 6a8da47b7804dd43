//! What a node reports about its machine: the host's kernel and OS image (read once per
//! process, shared by every simulated node), Go's names for the OS and architecture, and
//! machine/system/boot ids derived from the node name (stable across restarts).

use tokio::sync::OnceCell;

/// The operating system every Keelson node reports (`kubernetes.io/os`).
pub(crate) const OS: &str = "linux";

/// The host's kernel and distribution, as cAdvisor reports them to upstream's kubelet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostInfo {
    /// `uname -r` (`/proc/sys/kernel/osrelease`).
    pub(crate) kernel_version: String,
    /// `PRETTY_NAME` of `/etc/os-release`, or `Linux`.
    pub(crate) os_image: String,
}

static HOST: OnceCell<HostInfo> = OnceCell::const_new();

/// The host facts, read on first use.
pub(crate) async fn host_info() -> &'static HostInfo {
    HOST.get_or_init(|| async {
        let kernel = tokio::fs::read_to_string("/proc/sys/kernel/osrelease").await;
        let os_release = tokio::fs::read_to_string("/etc/os-release").await;
        HostInfo {
            kernel_version: kernel.map(|k| k.trim().to_owned()).unwrap_or_default(),
            os_image: os_release
                .ok()
                .and_then(|text| pretty_name(&text))
                .unwrap_or_else(|| "Linux".to_owned()),
        }
    })
    .await
}

/// `PRETTY_NAME` of an os-release file, unquoted.
pub(crate) fn pretty_name(os_release: &str) -> Option<String> {
    os_release.lines().find_map(|line| {
        let value = line.trim().strip_prefix("PRETTY_NAME=")?;
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(value);
        (!value.is_empty()).then(|| value.to_owned())
    })
}

/// Go's `GOARCH` for a Rust target architecture (`kubernetes.io/arch`).
pub(crate) fn go_arch(rust_arch: &str) -> &str {
    match rust_arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "loongarch64" => "loong64",
        other => other,
    }
}

/// This machine's architecture, Go's name.
pub(crate) fn arch() -> &'static str {
    go_arch(std::env::consts::ARCH)
}

/// The ids of a node's (simulated) machine: derived from its name so a restarted kubelet
/// reports the same ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MachineIds {
    /// 32 hex digits, as `/etc/machine-id`.
    pub(crate) machine_id: String,
    /// A UUID, as the DMI product UUID.
    pub(crate) system_uuid: String,
    /// A UUID, as `/proc/sys/kernel/random/boot_id`.
    pub(crate) boot_id: String,
}

impl MachineIds {
    /// The ids of node `name`.
    pub(crate) fn of(name: &str) -> Self {
        Self {
            machine_id: format!("{:032x}", hash128("machine-id", name)),
            system_uuid: uuid(hash128("system-uuid", name)),
            boot_id: uuid(hash128("boot-id", name)),
        }
    }
}

/// FNV-1a, 64 bits (a fixed algorithm: the ids must not change between builds).
pub(crate) fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &byte in *part {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        hash ^= 0xff;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

fn hash128(purpose: &str, name: &str) -> u128 {
    let high = fnv1a(&[purpose.as_bytes(), b"/1", name.as_bytes()]);
    let low = fnv1a(&[purpose.as_bytes(), b"/2", name.as_bytes()]);
    (u128::from(high) << 64) | u128::from(low)
}

/// A version-4-shaped UUID from 128 bits.
fn uuid(bits: u128) -> String {
    let bits = (bits & !(0xf << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pretty_name() {
        let cases = [
            (
                "NAME=Debian\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
                Some("Debian GNU/Linux 12 (bookworm)"),
            ),
            (
                "PRETTY_NAME='Alpine Linux v3.20'",
                Some("Alpine Linux v3.20"),
            ),
            ("PRETTY_NAME=Plain", Some("Plain")),
            ("PRETTY_NAME=\"\"\n", None),
            ("NAME=x\n", None),
        ];
        for (text, expected) in cases {
            assert_eq!(pretty_name(text).as_deref(), expected, "{text:?}");
        }
    }

    #[test]
    fn maps_rust_arch_to_go() {
        for (rust, go) in [
            ("x86_64", "amd64"),
            ("aarch64", "arm64"),
            ("s390x", "s390x"),
            ("riscv64", "riscv64"),
        ] {
            assert_eq!(go_arch(rust), go);
        }
    }

    #[test]
    fn ids_are_stable_per_name_and_distinct() {
        let a = MachineIds::of("node-1");
        assert_eq!(a, MachineIds::of("node-1"));
        let b = MachineIds::of("node-2");
        assert_ne!(a.machine_id, b.machine_id);
        assert_ne!(a.system_uuid, b.system_uuid);
        assert_ne!(a.system_uuid, a.boot_id);
        assert_eq!(a.machine_id.len(), 32);
        assert!(a.machine_id.bytes().all(|c| c.is_ascii_hexdigit()));
        let parts: Vec<usize> = a.system_uuid.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12]);
        assert_eq!(&a.boot_id[14..15], "4", "version nibble");
    }
}
