//! Services, Endpoints and EndpointSlices.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde_json::Value;

use super::age::age;
use super::format::{format_labels, int_at, items_at, list_with_more, name, str_at};
use super::{AGE, Column, NAME, TableDef};
use crate::pointer::At;

/// Services.
pub static SERVICE: TableDef = TableDef {
    columns: &[
        NAME,
        Column::text(
            "Type",
            "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer.",
        ),
        Column::text(
            "Cluster-IP",
            "clusterIP is the IP address of the service and is usually assigned randomly.",
        ),
        Column::text(
            "External-IP",
            "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.",
        ),
        Column::text(
            "Port(s)",
            "The list of ports that are exposed by this service.",
        ),
        AGE,
        Column::wide(
            "Selector",
            "Route service traffic to pods with label keys and values matching this selector.",
        ),
    ],
    cells: service_cells,
};

/// The service type, defaulted like the API does.
fn service_type(svc: &Value) -> &str {
    match str_at(svc, "/spec/type") {
        "" => "ClusterIP",
        t => t,
    }
}

/// Load-balancer ingress points (IP, else hostname), sorted and deduplicated.
fn load_balancer_ingress(svc: &Value) -> Vec<String> {
    let set: BTreeSet<&str> = items_at(svc, "/status/loadBalancer/ingress")
        .iter()
        .filter_map(|i| match (str_at(i, "/ip"), str_at(i, "/hostname")) {
            ("", "") => None,
            ("", host) => Some(host),
            (ip, _) => Some(ip),
        })
        .collect();
    set.into_iter().map(str::to_owned).collect()
}

/// The EXTERNAL-IP cell. The server fills tables in wide form, so nothing is clipped.
fn external_ip(svc: &Value) -> String {
    let external: Vec<&str> = items_at(svc, "/spec/externalIPs")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    match service_type(svc) {
        "ClusterIP" | "NodePort" if external.is_empty() => "<none>".to_owned(),
        "ClusterIP" | "NodePort" => external.join(","),
        "LoadBalancer" => {
            let mut all = load_balancer_ingress(svc);
            all.extend(external.iter().map(|s| (*s).to_owned()));
            if all.is_empty() {
                "<pending>".to_owned()
            } else {
                all.join(",")
            }
        }
        "ExternalName" => str_at(svc, "/spec/externalName").to_owned(),
        _ => "<unknown>".to_owned(),
    }
}

/// `80/TCP,443:30443/TCP`; `<none>` without ports.
fn ports(svc: &Value) -> String {
    let pieces: Vec<String> = items_at(svc, "/spec/ports")
        .iter()
        .map(|p| {
            let protocol = match str_at(p, "/protocol") {
                "" => "TCP",
                proto => proto,
            };
            let port = int_at(p, "/port");
            match int_at(p, "/nodePort") {
                node_port if node_port > 0 => format!("{port}:{node_port}/{protocol}"),
                _ => format!("{port}/{protocol}"),
            }
        })
        .collect();
    if pieces.is_empty() {
        "<none>".to_owned()
    } else {
        pieces.join(",")
    }
}

fn service_cells(svc: &Value, now: Timestamp) -> Vec<Value> {
    let mut cluster_ip = str_at(svc, "/spec/clusterIPs/0");
    if cluster_ip.is_empty() {
        cluster_ip = str_at(svc, "/spec/clusterIP");
    }
    if cluster_ip.is_empty() {
        cluster_ip = "<none>";
    }
    vec![
        name(svc),
        Value::from(service_type(svc)),
        Value::from(cluster_ip),
        Value::String(external_ip(svc)),
        Value::String(ports(svc)),
        age(svc, now),
        Value::String(format_labels(svc.at("/spec/selector"))),
    ]
}

/// Endpoints.
pub static ENDPOINTS: TableDef = TableDef {
    columns: &[
        NAME,
        Column::text(
            "Endpoints",
            "The set of all endpoints is the union of all subsets.",
        ),
        AGE,
    ],
    cells: endpoints_cells,
};

/// `host:port`, with brackets around IPv6 hosts.
fn join_host_port(host: &str, port: i64) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Up to three `ip:port` pairs (or bare IPs for port-less subsets), then `+ N more...`.
fn format_endpoints(ep: &Value) -> String {
    const MAX: usize = 3;
    let subsets = items_at(ep, "/subsets");
    if subsets.is_empty() {
        return "<none>".to_owned();
    }
    let mut list: Vec<String> = Vec::new();
    let mut more = false;
    let mut count = 0;
    for ss in subsets {
        let addresses = items_at(ss, "/addresses");
        let ports = items_at(ss, "/ports");
        if ports.is_empty() {
            // Headless services may have no ports.
            count += addresses.len();
            for a in addresses {
                if list.len() == MAX {
                    more = true;
                    break;
                }
                list.push(str_at(a, "/ip").to_owned());
            }
            continue;
        }
        for port in ports {
            count += addresses.len();
            for a in addresses {
                if list.len() == MAX {
                    more = true;
                    break;
                }
                list.push(join_host_port(str_at(a, "/ip"), int_at(port, "/port")));
            }
        }
    }
    let joined = list.join(",");
    if more {
        format!("{joined} + {} more...", count.saturating_sub(MAX))
    } else {
        joined
    }
}

fn endpoints_cells(ep: &Value, now: Timestamp) -> Vec<Value> {
    vec![name(ep), Value::String(format_endpoints(ep)), age(ep, now)]
}

/// EndpointSlices.
pub static ENDPOINT_SLICE: TableDef = TableDef {
    columns: &[
        NAME,
        Column::text(
            "AddressType",
            "addressType specifies the type of address carried by this EndpointSlice.",
        ),
        Column::text(
            "Ports",
            "ports specifies the list of network ports exposed by each endpoint in this slice.",
        ),
        Column::text(
            "Endpoints",
            "endpoints is a list of unique endpoints in this slice.",
        ),
        AGE,
    ],
    cells: endpoint_slice_cells,
};

/// Collects the first three of `items`, noting whether there were more.
fn first_three(items: impl Iterator<Item = String>) -> String {
    const MAX: usize = 3;
    let mut list = Vec::new();
    let mut more = false;
    let mut count = 0;
    for item in items {
        if list.len() < MAX {
            list.push(item);
        } else {
            more = true;
        }
        count += 1;
    }
    list_with_more(&list, more, count, MAX)
}

fn endpoint_slice_cells(slice: &Value, now: Timestamp) -> Vec<Value> {
    let ports = items_at(slice, "/ports").iter().map(|p| {
        match (p.get("port").and_then(Value::as_i64), p.get("name")) {
            (Some(n), _) => n.to_string(),
            (None, Some(Value::String(name))) => name.clone(),
            _ => "*".to_owned(),
        }
    });
    let addresses = items_at(slice, "/endpoints").iter().flat_map(|e| {
        items_at(e, "/addresses")
            .iter()
            .map(|a| a.as_str().unwrap_or("").to_owned())
    });
    vec![
        name(slice),
        Value::from(str_at(slice, "/addressType")),
        Value::String(first_three(ports)),
        Value::String(first_three(addresses)),
        age(slice, now),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> Timestamp {
        "2024-05-01T12:00:00Z"
            .parse()
            .unwrap_or(Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn cluster_ip_service() {
        let svc = json!({
            "metadata": {"name": "web", "creationTimestamp": "2024-05-01T11:59:00Z"},
            "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
                "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}, {"port": 9153}],
                "selector": {"k8s-app": "kube-dns"}},
        });
        assert_eq!(
            service_cells(&svc, now()),
            vec![
                json!("web"),
                json!("ClusterIP"),
                json!("10.96.0.10"),
                json!("<none>"),
                json!("53/UDP,53/TCP,9153/TCP"),
                json!("60s"),
                json!("k8s-app=kube-dns"),
            ]
        );
    }

    #[test]
    fn node_port_and_load_balancer() {
        let np = json!({"spec": {"type": "NodePort", "clusterIP": "None", "externalIPs": ["1.2.3.4", "5.6.7.8"],
            "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]}});
        let cells = service_cells(&np, now());
        assert_eq!(cells[2], json!("None"));
        assert_eq!(cells[3], json!("1.2.3.4,5.6.7.8"));
        assert_eq!(cells[4], json!("80:30080/TCP"));
        assert_eq!(cells[6], json!("<none>"));

        let pending = json!({"spec": {"type": "LoadBalancer"}});
        assert_eq!(external_ip(&pending), "<pending>");
        let lb = json!({"spec": {"type": "LoadBalancer", "externalIPs": ["9.9.9.9"]},
            "status": {"loadBalancer": {"ingress": [{"hostname": "lb.example.com"}, {"ip": "203.0.113.7"}, {"ip": "203.0.113.7"}]}}});
        assert_eq!(external_ip(&lb), "203.0.113.7,lb.example.com,9.9.9.9");
        let ext = json!({"spec": {"type": "ExternalName", "externalName": "db.example.com"}});
        assert_eq!(external_ip(&ext), "db.example.com");
        assert_eq!(ports(&ext), "<none>");
    }

    #[test]
    fn endpoints_list_and_more() {
        let ep = json!({"subsets": [
            {"addresses": [{"ip": "10.1.0.20"}, {"ip": "10.1.0.21"}], "ports": [{"port": 53}, {"port": 9153}]},
            {"addresses": [{"ip": "fd00::1"}]},
        ]});
        assert_eq!(
            format_endpoints(&ep),
            "10.1.0.20:53,10.1.0.21:53,10.1.0.20:9153 + 2 more..."
        );
        let v6 = json!({"subsets": [{"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 80}]}]});
        assert_eq!(format_endpoints(&v6), "[fd00::1]:80");
        assert_eq!(format_endpoints(&json!({})), "<none>");
        assert_eq!(format_endpoints(&json!({"subsets": [{}]})), "");
    }

    #[test]
    fn endpoint_slice_row() {
        let slice = json!({
            "metadata": {"name": "web-abc"},
            "addressType": "IPv4",
            "ports": [{"port": 80}, {"name": "metrics"}, {}, {"port": 443}],
            "endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2", "10.0.0.3"]}],
        });
        let cells = endpoint_slice_cells(&slice, now());
        assert_eq!(cells[1], json!("IPv4"));
        assert_eq!(cells[2], json!("80,metrics,* + 1 more..."));
        assert_eq!(cells[3], json!("10.0.0.1,10.0.0.2,10.0.0.3"));
        let empty = endpoint_slice_cells(&json!({"addressType": "IPv6"}), now());
        assert_eq!(empty[2], json!("<unset>"));
        assert_eq!(empty[3], json!("<unset>"));
    }
}
