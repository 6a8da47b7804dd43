//! IP addresses, CIDRs and ports as upstream v1.33 checks them (`util/validation` ip.go
//! and port helpers, `ValidateNonSpecialIP`): Services, Endpoints, EndpointSlices and
//! Nodes share these.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde_json::Value;

use super::super::errors::{Errors, Path};

/// `IsValidIP`'s message.
pub(in crate::validation) const INVALID_IP: &str =
    "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";
/// `IsValidCIDR`'s message.
pub(in crate::validation) const INVALID_CIDR: &str =
    "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)";
/// `IsValidPortNum`'s message.
pub(in crate::validation) const PORT_RANGE: &str = "must be between 1 and 65535, inclusive";

/// Go's pre-1.17 `ParseIP` (`netutils.ParseIPSloppy`): IPv4 octets may carry leading
/// zeros and are read as decimal.
pub(in crate::validation) fn parse_ip_sloppy(s: &str) -> Option<IpAddr> {
    if let Some(v4) = parse_ipv4_sloppy(s) {
        return Some(IpAddr::V4(v4));
    }
    if !s.contains(':') {
        return None;
    }
    if let Ok(v6) = s.parse::<Ipv6Addr>() {
        return Some(IpAddr::V6(v6));
    }
    // An embedded IPv4 tail with leading zeros: normalise it and retry.
    let (head, tail) = s.rsplit_once(':')?;
    let v4 = parse_ipv4_sloppy(tail)?;
    format!("{head}:{v4}")
        .parse::<Ipv6Addr>()
        .ok()
        .map(IpAddr::V6)
}

fn parse_ipv4_sloppy(s: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    let mut octets = [0u8; 4];
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty() || p.len() > 10 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: u32 = p.parse().ok()?;
        octets[i] = u8::try_from(n).ok()?;
    }
    Some(Ipv4Addr::from(octets))
}

/// The IPv4 address an address stands for (IPv4-mapped IPv6 counts, as Go's `To4`).
pub(in crate::validation) fn as_v4(ip: IpAddr) -> Option<Ipv4Addr> {
    match ip {
        IpAddr::V4(v4) => Some(v4),
        IpAddr::V6(v6) => v6.to_ipv4_mapped(),
    }
}

/// Whether `s` parses as an IPv6 (not IPv4-mapped) address (`netutils.IsIPv6String`).
pub(in crate::validation) fn is_ipv6_string(s: &str) -> bool {
    parse_ip_sloppy(s).is_some_and(|ip| as_v4(ip).is_none())
}

/// Go's `ParseCIDRSloppy`: `ip/prefix` with the prefix no longer than the address.
pub(in crate::validation) fn parse_cidr_sloppy(s: &str) -> Option<(IpAddr, u32)> {
    let (addr, prefix) = s.split_once('/')?;
    if prefix.is_empty() || prefix.len() > 3 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let bits: u32 = prefix.parse().ok()?;
    let ip = match parse_ipv4_sloppy(addr) {
        Some(v4) => {
            if bits > 32 {
                return None;
            }
            IpAddr::V4(v4)
        }
        None => {
            let ip = parse_ip_sloppy(addr)?;
            if bits > 128 {
                return None;
            }
            ip
        }
    };
    Some((ip, bits))
}

/// `IsValidIP`: one error when `value` is not an IP address.
pub(in crate::validation) fn valid_ip(value: &str, path: &Path, errors: &mut Errors) -> bool {
    if parse_ip_sloppy(value).is_none() {
        errors.invalid(path, &Value::String(value.to_owned()), INVALID_IP);
        return false;
    }
    true
}

/// `IsValidCIDR`.
pub(in crate::validation) fn valid_cidr(value: &str, path: &Path, errors: &mut Errors) {
    if parse_cidr_sloppy(value).is_none() {
        errors.invalid(path, &Value::String(value.to_owned()), INVALID_CIDR);
    }
}

/// `ValidateNonSpecialIP`: not unspecified, loopback or link-local.
pub(in crate::validation) fn non_special_ip(value: &str, path: &Path, errors: &mut Errors) {
    let shown = Value::String(value.to_owned());
    let Some(ip) = parse_ip_sloppy(value) else {
        errors.invalid(path, &shown, "must be a valid IP address");
        return;
    };
    let (unspecified, loopback, link_local, link_local_multicast) = match as_v4(ip) {
        Some(v4) => {
            let o = v4.octets();
            (
                v4.is_unspecified(),
                o[0] == 127,
                o[0] == 169 && o[1] == 254,
                o[0] == 224 && o[1] == 0 && o[2] == 0,
            )
        }
        None => {
            let IpAddr::V6(v6) = ip else {
                return;
            };
            let s = v6.segments();
            (
                v6.is_unspecified(),
                v6.is_loopback(),
                s[0] & 0xffc0 == 0xfe80,
                s[0] & 0xff0f == 0xff02,
            )
        }
    };
    if unspecified {
        errors.invalid(path, &shown, &format!("may not be unspecified ({value})"));
    }
    if loopback {
        errors.invalid(
            path,
            &shown,
            "may not be in the loopback range (127.0.0.0/8, ::1/128)",
        );
    }
    if link_local {
        errors.invalid(
            path,
            &shown,
            "may not be in the link-local range (169.254.0.0/16, fe80::/10)",
        );
    }
    if link_local_multicast {
        errors.invalid(
            path,
            &shown,
            "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)",
        );
    }
}

/// Whether two or more addresses (or CIDRs) are exactly one IPv4 and one IPv6
/// (`netutils.IsDualStack*Strings`).
pub(in crate::validation) fn is_dual_stack(ips: &[IpAddr]) -> bool {
    let v4 = ips.iter().filter(|ip| as_v4(**ip).is_some()).count();
    v4 >= 1 && ips.len() - v4 >= 1
}

/// `IsValidPortNum`.
pub(in crate::validation) fn port_num(port: i64) -> Vec<String> {
    if (1..=65535).contains(&port) {
        Vec::new()
    } else {
        vec![PORT_RANGE.to_owned()]
    }
}

/// `IsValidPortName` (an IANA service name).
pub(in crate::validation) fn port_name(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    if name.len() > 15 {
        out.push("must be no more than 15 characters".to_owned());
    }
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        out.push(
            "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".to_owned(),
        );
    }
    if !name.bytes().any(|b| b.is_ascii_lowercase()) {
        out.push("must contain at least one letter (a-z)".to_owned());
    }
    if name.contains("--") {
        out.push("must not contain consecutive hyphens".to_owned());
    }
    if name.starts_with('-') || name.ends_with('-') {
        out.push("must not begin or end with a hyphen".to_owned());
    }
    out
}

/// `ValidatePortNumOrName` for an int-or-string port.
pub(in crate::validation) fn port_num_or_name(port: &Value, path: &Path, errors: &mut Errors) {
    match port {
        Value::String(name) => {
            for m in port_name(name) {
                errors.invalid(path, port, &m);
            }
        }
        other => {
            let n = other.as_i64().unwrap_or(0);
            for m in port_num(n) {
                errors.invalid(path, &Value::from(n), &m);
            }
        }
    }
}

/// The supported port protocols, sorted as upstream lists them.
pub(in crate::validation) const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sloppy_parsing_as_go() {
        assert!(parse_ip_sloppy("010.001.0.1").is_some());
        assert!(parse_ip_sloppy("256.1.1.1").is_none());
        assert!(parse_ip_sloppy("1.2.3").is_none());
        assert!(parse_ip_sloppy("fd00::1").is_some());
        assert!(parse_ip_sloppy("::ffff:001.2.3.4").is_some());
        assert!(!is_ipv6_string("::ffff:1.2.3.4"));
        assert!(parse_cidr_sloppy("10.0.0.0/8").is_some());
        assert!(parse_cidr_sloppy("10.0.0.0/33").is_none());
        assert!(parse_cidr_sloppy("fd00::/64").is_some());
        assert!(parse_cidr_sloppy("10.0.0.0").is_none());
    }

    #[test]
    fn special_ips() {
        let mut e = Errors::default();
        for ip in [
            "0.0.0.0",
            "127.0.0.1",
            "169.254.1.1",
            "224.0.0.5",
            "fe80::1",
            "10.1.2.3",
        ] {
            non_special_ip(ip, &Path::root("ip"), &mut e);
        }
        let messages: Vec<&str> = e.0.iter().map(|c| c.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "Invalid value: \"0.0.0.0\": may not be unspecified (0.0.0.0)",
                "Invalid value: \"127.0.0.1\": may not be in the loopback range (127.0.0.0/8, ::1/128)",
                "Invalid value: \"169.254.1.1\": may not be in the link-local range (169.254.0.0/16, fe80::/10)",
                "Invalid value: \"224.0.0.5\": may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)",
                "Invalid value: \"fe80::1\": may not be in the link-local range (169.254.0.0/16, fe80::/10)",
            ]
        );
    }

    #[test]
    fn port_names() {
        assert!(port_name("http").is_empty());
        assert!(port_name("web-80").is_empty());
        assert_eq!(
            port_name("80"),
            ["must contain at least one letter (a-z)".to_owned()]
        );
        assert_eq!(port_name("Http").len(), 1);
        assert_eq!(port_name("-a--b").len(), 2);
        assert_eq!(port_name("abcdefghijklmnop").len(), 1);
    }
}
