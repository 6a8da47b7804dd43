//! Service environment variables (`<NAME>_SERVICE_HOST`, `<NAME>_PORT_443_TCP`, …), as
//! upstream derives them from a Service with a cluster IP.

use k8s_openapi::api::core::v1::Service;

/// Upstream's variable prefix of a service name: upper case, `-` as `_`.
fn prefix_of(name: &str) -> String {
    name.replace('-', "_").to_uppercase()
}

/// The variables of each service that has a cluster IP, in order.
pub(crate) fn service_env(services: &[Service]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for service in services {
        let spec = service.spec.as_ref();
        let ip = spec
            .and_then(|s| s.cluster_ip.as_deref())
            .unwrap_or_default();
        if ip.is_empty() || ip == "None" {
            continue;
        }
        let ports = spec.and_then(|s| s.ports.as_deref()).unwrap_or_default();
        let Some(first) = ports.first() else {
            continue;
        };
        let prefix = prefix_of(service.metadata.name.as_deref().unwrap_or_default());
        out.push((format!("{prefix}_SERVICE_HOST"), ip.to_owned()));
        let port_var = format!("{prefix}_SERVICE_PORT");
        out.push((port_var.clone(), first.port.to_string()));
        for port in ports {
            if let Some(name) = port.name.as_deref().filter(|n| !n.is_empty()) {
                out.push((
                    format!("{port_var}_{}", prefix_of(name)),
                    port.port.to_string(),
                ));
            }
        }
        // Docker link variables.
        let host = if ip.contains(':') {
            format!("[{ip}]")
        } else {
            ip.to_owned()
        };
        for (i, port) in ports.iter().enumerate() {
            let protocol = port.protocol.as_deref().unwrap_or("TCP");
            let lower = protocol.to_lowercase();
            let url = format!("{lower}://{host}:{}", port.port);
            if i == 0 {
                out.push((format!("{prefix}_PORT"), url.clone()));
            }
            let base = format!("{prefix}_PORT_{}_{}", port.port, protocol.to_uppercase());
            out.push((format!("{base}_PROTO"), lower));
            out.push((format!("{base}_PORT"), port.port.to_string()));
            out.push((format!("{base}_ADDR"), ip.to_owned()));
            out.push((base, url));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn service(name: &str, ip: &str, ports: serde_json::Value) -> Service {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"clusterIP": ip, "ports": ports},
        }))
        .unwrap()
    }

    fn sorted(mut vars: Vec<(String, String)>) -> Vec<(String, String)> {
        vars.sort();
        vars
    }

    fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        sorted(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn the_master_service() {
        let kubernetes = service(
            "kubernetes",
            "10.96.0.1",
            json!([{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]),
        );
        assert_eq!(
            sorted(service_env(&[kubernetes])),
            owned(&[
                ("KUBERNETES_SERVICE_HOST", "10.96.0.1"),
                ("KUBERNETES_SERVICE_PORT", "443"),
                ("KUBERNETES_SERVICE_PORT_HTTPS", "443"),
                ("KUBERNETES_PORT", "tcp://10.96.0.1:443"),
                ("KUBERNETES_PORT_443_TCP", "tcp://10.96.0.1:443"),
                ("KUBERNETES_PORT_443_TCP_PROTO", "tcp"),
                ("KUBERNETES_PORT_443_TCP_PORT", "443"),
                ("KUBERNETES_PORT_443_TCP_ADDR", "10.96.0.1"),
            ])
        );
    }

    #[test]
    fn several_ports_ipv6_and_headless() {
        let dns = service(
            "kube-dns",
            "fd00::a",
            json!([{"name": "dns", "port": 53, "protocol": "UDP"}, {"name": "dns-tcp", "port": 53}]),
        );
        let headless = service("db", "None", json!([{"port": 5432}]));
        let unset = service("pending", "", json!([{"port": 80}]));
        assert_eq!(
            sorted(service_env(&[dns, headless, unset])),
            owned(&[
                ("KUBE_DNS_SERVICE_HOST", "fd00::a"),
                ("KUBE_DNS_SERVICE_PORT", "53"),
                ("KUBE_DNS_SERVICE_PORT_DNS", "53"),
                ("KUBE_DNS_SERVICE_PORT_DNS_TCP", "53"),
                ("KUBE_DNS_PORT", "udp://[fd00::a]:53"),
                ("KUBE_DNS_PORT_53_UDP", "udp://[fd00::a]:53"),
                ("KUBE_DNS_PORT_53_UDP_PROTO", "udp"),
                ("KUBE_DNS_PORT_53_UDP_PORT", "53"),
                ("KUBE_DNS_PORT_53_UDP_ADDR", "fd00::a"),
                ("KUBE_DNS_PORT_53_TCP", "tcp://[fd00::a]:53"),
                ("KUBE_DNS_PORT_53_TCP_PROTO", "tcp"),
                ("KUBE_DNS_PORT_53_TCP_PORT", "53"),
                ("KUBE_DNS_PORT_53_TCP_ADDR", "fd00::a"),
            ])
        );
    }
}
