//! `valueFrom.resourceFieldRef`: a container's requests and limits in units of a divisor,
//! limits that are not set defaulting to the node's allocatable, as upstream does.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Pod, ResourceFieldSelector};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use keelson_client::quantity::ExactQuantity;

/// The resources whose unset (or zero) limits take the node's allocatable.
const DEFAULTED: [&str; 3] = ["cpu", "memory", "ephemeral-storage"];

/// `container` with its unset or zero cpu, memory and ephemeral-storage limits set to the
/// node's allocatable (upstream's `MergeContainerResourceLimits`).
pub(crate) fn with_default_limits(
    container: &Container,
    allocatable: &BTreeMap<String, Quantity>,
) -> Container {
    let mut container = container.clone();
    let resources = container.resources.get_or_insert_with(Default::default);
    let limits = resources.limits.get_or_insert_with(BTreeMap::new);
    for name in DEFAULTED {
        let unset = limits
            .get(name)
            .is_none_or(|q| ExactQuantity::parse(&q.0).is_ok_and(|q| q == ExactQuantity::ZERO));
        if unset && let Some(amount) = allocatable.get(name) {
            limits.insert(name.to_owned(), amount.clone());
        }
    }
    container
}

/// The value of `selector` for `container` (itself already defaulted), or for the pod's
/// container it names: a regular container is defaulted, an init container is not (as
/// upstream).
pub(crate) fn resource_value(
    selector: &ResourceFieldSelector,
    pod: &Pod,
    container: &Container,
    allocatable: &BTreeMap<String, Quantity>,
) -> Result<String, String> {
    let name = selector.container_name.as_deref().unwrap_or_default();
    if name.is_empty() {
        return container_value(selector, container);
    }
    let spec = pod.spec.as_ref();
    if let Some(c) = spec
        .into_iter()
        .flat_map(|s| &s.containers)
        .find(|c| c.name == name)
    {
        return container_value(selector, &with_default_limits(c, allocatable));
    }
    match spec
        .and_then(|s| s.init_containers.as_ref())
        .and_then(|i| i.iter().find(|c| c.name == name))
    {
        Some(c) => container_value(selector, c),
        None => Err(format!("container {name} not found")),
    }
}

fn container_value(selector: &ResourceFieldSelector, c: &Container) -> Result<String, String> {
    let divisor = match &selector.divisor {
        Some(q) => ExactQuantity::parse(&q.0).map_err(|e| format!("divisor {:?}: {e}", q.0))?,
        None => ExactQuantity::ZERO,
    };
    let divisor = if divisor == ExactQuantity::ZERO {
        ExactQuantity::from_units(1)
    } else {
        divisor
    };
    let resource = selector.resource.as_str();
    let unsupported = || format!("unsupported container resource : {resource}");
    let (list, name) = resource.split_once('.').ok_or_else(unsupported)?;
    let resources = c.resources.as_ref();
    let list = match list {
        "limits" => resources.and_then(|r| r.limits.as_ref()),
        "requests" => resources.and_then(|r| r.requests.as_ref()),
        _ => return Err(unsupported()),
    };
    let amount = match list.and_then(|l| l.get(name)) {
        Some(q) => ExactQuantity::parse(&q.0).map_err(|e| format!("{name} {:?}: {e}", q.0))?,
        None => ExactQuantity::ZERO,
    };
    let (amount, divisor) = match name {
        "cpu" => (amount.milli_value(), divisor.milli_value()),
        "memory" | "ephemeral-storage" => (amount.value(), divisor.value()),
        _ if name.starts_with("hugepages-") => (amount.value(), divisor.value()),
        _ => return Err(unsupported()),
    };
    Ok(ceil_div(amount, divisor)?.to_string())
}

/// `ceil(amount / divisor)`.
fn ceil_div(amount: i64, divisor: i64) -> Result<i64, String> {
    if divisor <= 0 {
        return Err(format!("invalid divisor: {divisor}"));
    }
    Ok(amount.div_euclid(divisor) + i64::from(amount.rem_euclid(divisor) != 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod() -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "web"},
            "spec": {
                "initContainers": [{"name": "init", "resources": {"requests": {"cpu": "100m"}}}],
                "containers": [
                    {"name": "app", "resources": {
                        "requests": {"cpu": "250m", "memory": "64Mi", "hugepages-2Mi": "4Mi"},
                        "limits": {"cpu": "1500m", "memory": "0"},
                    }},
                    {"name": "side"},
                ],
            },
        }))
        .unwrap()
    }

    fn allocatable() -> BTreeMap<String, Quantity> {
        [
            ("cpu", "4"),
            ("memory", "8Gi"),
            ("ephemeral-storage", "100Gi"),
            ("pods", "110"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), Quantity(v.to_owned())))
        .collect()
    }

    fn selector(
        resource: &str,
        divisor: Option<&str>,
        container: Option<&str>,
    ) -> ResourceFieldSelector {
        ResourceFieldSelector {
            container_name: container.map(str::to_owned),
            divisor: divisor.map(|d| Quantity(d.to_owned())),
            resource: resource.to_owned(),
        }
    }

    #[test]
    fn resource_values() {
        let pod = pod();
        let alloc = allocatable();
        let app = with_default_limits(&pod.spec.as_ref().unwrap().containers[0], &alloc);
        // (resource, divisor, container name, value or error)
        type Case<'a> = (
            &'a str,
            Option<&'a str>,
            Option<&'a str>,
            Result<&'a str, &'a str>,
        );
        let cases: &[Case<'_>] = &[
            ("requests.cpu", None, None, Ok("1")),
            ("requests.cpu", Some("1m"), None, Ok("250")),
            ("requests.cpu", Some("0"), None, Ok("1")),
            ("limits.cpu", None, None, Ok("2")),
            ("limits.cpu", Some("1m"), None, Ok("1500")),
            ("requests.memory", None, None, Ok("67108864")),
            ("requests.memory", Some("1Mi"), None, Ok("64")),
            ("requests.memory", Some("1M"), None, Ok("68")),
            // A zero limit takes the node's allocatable, as an unset one.
            ("limits.memory", Some("1Gi"), None, Ok("8")),
            ("limits.ephemeral-storage", Some("1Gi"), None, Ok("100")),
            ("requests.ephemeral-storage", None, None, Ok("0")),
            ("requests.hugepages-2Mi", Some("1Mi"), None, Ok("4")),
            ("limits.hugepages-2Mi", None, None, Ok("0")),
            (
                "limits.pods",
                None,
                None,
                Err("unsupported container resource : limits.pods"),
            ),
            (
                "cpu",
                None,
                None,
                Err("unsupported container resource : cpu"),
            ),
            (
                "status.cpu",
                None,
                None,
                Err("unsupported container resource : status.cpu"),
            ),
            // Another container, by name: regular ones are defaulted, init ones are not.
            ("limits.cpu", None, Some("side"), Ok("4")),
            ("requests.cpu", Some("1m"), Some("init"), Ok("100")),
            ("limits.cpu", None, Some("init"), Ok("0")),
            (
                "limits.cpu",
                None,
                Some("nope"),
                Err("container nope not found"),
            ),
        ];
        for (resource, divisor, container, want) in cases {
            let got = resource_value(
                &selector(resource, *divisor, *container),
                &pod,
                &app,
                &alloc,
            );
            assert_eq!(
                got.as_deref().map_err(String::as_str),
                *want,
                "{resource} / {divisor:?} / {container:?}"
            );
        }
    }

    #[test]
    fn defaulting_keeps_set_limits() {
        let pod = pod();
        let app = with_default_limits(&pod.spec.as_ref().unwrap().containers[0], &allocatable());
        let limits = app.resources.unwrap().limits.unwrap();
        assert_eq!(limits["cpu"].0, "1500m");
        assert_eq!(limits["memory"].0, "8Gi");
        assert_eq!(limits["ephemeral-storage"].0, "100Gi");
        assert!(!limits.contains_key("pods"));
    }

    #[test]
    fn ceil_division() {
        let cases = [
            (0, 1, Ok(0)),
            (1, 1, Ok(1)),
            (5, 2, Ok(3)),
            (4, 2, Ok(2)),
            (1, 1000, Ok(1)),
        ];
        for (amount, divisor, want) in cases {
            assert_eq!(ceil_div(amount, divisor), want, "{amount}/{divisor}");
        }
        assert!(ceil_div(1, 0).is_err());
    }
}
