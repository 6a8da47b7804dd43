//! `kubectl get` as tables: upstream's columns and cells per kind (from the server's Table
//! printers), `-o wide`, several kinds at once, `-A`, label columns, `--no-headers`.

use anyhow::{Context as _, Result, ensure};
use keelson_e2e::Kubectl;

use crate::support::{Table, run_ok, same_str, shop};

/// Upstream's columns for one `get`, and cells expected in one row.
pub(crate) struct TableCase {
    args: &'static [&'static str],
    columns: &'static [&'static str],
    /// The row: the column and value that identify it.
    key: (&'static str, &'static str),
    /// Cells of that row.
    cells: &'static [(&'static str, &'static str)],
}

pub(crate) const POD_TABLE: TableCase = TableCase {
    args: &["-n", "shop", "get", "pods"],
    columns: &["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
    key: ("NAME", "web-0"),
    cells: &[("READY", "0/2"), ("STATUS", "Pending"), ("RESTARTS", "0")],
};

pub(crate) const DEPLOYMENT_TABLE: TableCase = TableCase {
    args: &["-n", "shop", "get", "deployments"],
    columns: &["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
    key: ("NAME", "web"),
    cells: &[("READY", "0/2"), ("UP-TO-DATE", "0"), ("AVAILABLE", "0")],
};

const TABLES: &[TableCase] = &[
    POD_TABLE,
    DEPLOYMENT_TABLE,
    TableCase {
        args: &["-n", "shop", "get", "replicasets"],
        columns: &["NAME", "DESIRED", "CURRENT", "READY", "AGE"],
        key: ("NAME", "web-rs"),
        cells: &[("DESIRED", "1"), ("CURRENT", "0"), ("READY", "0")],
    },
    TableCase {
        args: &["-n", "shop", "get", "services"],
        columns: &[
            "NAME",
            "TYPE",
            "CLUSTER-IP",
            "EXTERNAL-IP",
            "PORT(S)",
            "AGE",
        ],
        key: ("NAME", "web"),
        cells: &[
            ("TYPE", "ClusterIP"),
            ("EXTERNAL-IP", "<none>"),
            ("PORT(S)", "80/TCP"),
        ],
    },
    TableCase {
        args: &["-n", "shop", "get", "configmaps"],
        columns: &["NAME", "DATA", "AGE"],
        key: ("NAME", "web-config"),
        cells: &[("DATA", "1")],
    },
    TableCase {
        args: &["-n", "shop", "get", "secrets"],
        columns: &["NAME", "TYPE", "DATA", "AGE"],
        key: ("NAME", "web-secret"),
        cells: &[("TYPE", "Opaque"), ("DATA", "1")],
    },
    TableCase {
        args: &["-n", "shop", "get", "serviceaccounts"],
        columns: &["NAME", "SECRETS", "AGE"],
        key: ("NAME", "web"),
        cells: &[("SECRETS", "0")],
    },
    TableCase {
        args: &["-n", "shop", "get", "endpoints"],
        columns: &["NAME", "ENDPOINTS", "AGE"],
        key: ("NAME", "web"),
        cells: &[("ENDPOINTS", "10.0.0.5:8080")],
    },
    TableCase {
        args: &["-n", "shop", "get", "endpointslices"],
        columns: &["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"],
        key: ("NAME", "web-abc"),
        cells: &[
            ("ADDRESSTYPE", "IPv4"),
            ("PORTS", "8080"),
            ("ENDPOINTS", "10.0.0.5"),
        ],
    },
    TableCase {
        args: &["-n", "shop", "get", "leases"],
        columns: &["NAME", "HOLDER", "AGE"],
        key: ("NAME", "leader"),
        cells: &[("HOLDER", "node-a")],
    },
    TableCase {
        args: &["get", "namespaces"],
        columns: &["NAME", "STATUS", "AGE"],
        key: ("NAME", "shop"),
        cells: &[("STATUS", "Active")],
    },
    TableCase {
        args: &["get", "storageclasses"],
        columns: &[
            "NAME",
            "PROVISIONER",
            "RECLAIMPOLICY",
            "VOLUMEBINDINGMODE",
            "ALLOWVOLUMEEXPANSION",
            "AGE",
        ],
        key: ("NAME", "fast"),
        cells: &[
            ("PROVISIONER", "example.com/fast"),
            ("RECLAIMPOLICY", "Delete"),
            ("VOLUMEBINDINGMODE", "Immediate"),
            ("ALLOWVOLUMEEXPANSION", "false"),
        ],
    },
    TableCase {
        args: &["get", "priorityclasses"],
        columns: &["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"],
        key: ("NAME", "high"),
        cells: &[("VALUE", "1000"), ("GLOBAL-DEFAULT", "false")],
    },
    TableCase {
        args: &["get", "persistentvolumes"],
        columns: &[
            "NAME",
            "CAPACITY",
            "ACCESS MODES",
            "RECLAIM POLICY",
            "STATUS",
            "CLAIM",
            "STORAGECLASS",
            "VOLUMEATTRIBUTESCLASS",
            "REASON",
            "AGE",
        ],
        key: ("NAME", "pv-1"),
        cells: &[
            ("CAPACITY", "1Gi"),
            ("ACCESS MODES", "RWO"),
            ("STORAGECLASS", "fast"),
        ],
    },
    TableCase {
        args: &["-n", "shop", "get", "persistentvolumeclaims"],
        columns: &[
            "NAME",
            "STATUS",
            "VOLUME",
            "CAPACITY",
            "ACCESS MODES",
            "STORAGECLASS",
            "VOLUMEATTRIBUTESCLASS",
            "AGE",
        ],
        key: ("NAME", "data"),
        cells: &[("STORAGECLASS", "fast")],
    },
    TableCase {
        args: &["-n", "shop", "get", "events"],
        columns: &["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
        key: ("OBJECT", "pod/web-0"),
        cells: &[
            ("TYPE", "Normal"),
            ("REASON", "Started"),
            ("MESSAGE", "Started container web"),
        ],
    },
    TableCase {
        args: &["-n", "shop", "get", "events.events.k8s.io"],
        columns: &["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
        key: ("OBJECT", "pod/web-0"),
        cells: &[("REASON", "Started"), ("MESSAGE", "Started container web")],
    },
    TableCase {
        args: &["-n", "shop", "get", "pods", "-o", "wide"],
        columns: &[
            "NAME",
            "READY",
            "STATUS",
            "RESTARTS",
            "AGE",
            "IP",
            "NODE",
            "NOMINATED NODE",
            "READINESS GATES",
        ],
        key: ("NAME", "web-0"),
        cells: &[("STATUS", "Pending"), ("IP", "<none>"), ("NODE", "<none>")],
    },
    TableCase {
        args: &["-n", "shop", "get", "deployments", "-o", "wide"],
        columns: &[
            "NAME",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "AGE",
            "CONTAINERS",
            "IMAGES",
            "SELECTOR",
        ],
        key: ("NAME", "web"),
        cells: &[
            ("CONTAINERS", "web"),
            ("IMAGES", "nginx:1.26"),
            ("SELECTOR", "app=web"),
        ],
    },
    TableCase {
        args: &["-n", "shop", "get", "services", "-o", "wide"],
        columns: &[
            "NAME",
            "TYPE",
            "CLUSTER-IP",
            "EXTERNAL-IP",
            "PORT(S)",
            "AGE",
            "SELECTOR",
        ],
        key: ("NAME", "web"),
        cells: &[("SELECTOR", "app=web")],
    },
];

pub(crate) fn tables(k: &Kubectl) -> Result<()> {
    let failures: Vec<String> = TABLES
        .iter()
        .filter_map(|case| check_table(k, case).err())
        .map(|err| format!("{err:#}"))
        .collect();
    ensure!(failures.is_empty(), "{}", failures.join("\n\n"));
    Ok(())
}

pub(crate) fn check_table(k: &Kubectl, case: &TableCase) -> Result<()> {
    let out = run_ok(k, case.args)?;
    let command = format!("kubectl {}", case.args.join(" "));
    let table = Table::parse(&out.stdout).with_context(|| out.to_string())?;
    ensure!(
        table.columns == case.columns,
        "`{command}`: columns {:?}, upstream has {:?}\n{}",
        table.columns,
        case.columns,
        out.stdout
    );
    let row = table
        .row(case.key.0, case.key.1)
        .with_context(|| format!("`{command}`: no row with {:?}\n{}", case.key, out.stdout))?;
    for (column, value) in case.cells {
        let cell = row.get(*column).map(String::as_str);
        ensure!(
            cell == Some(*value),
            "`{command}`: column {column} of {:?}: {cell:?}, expected {value:?}\n{}",
            case.key,
            out.stdout
        );
    }
    Ok(())
}

pub(crate) fn table_variants(k: &Kubectl) -> Result<()> {
    // Two kinds in one get: a table per kind, names prefixed with the resource.
    let out = shop(k, "get pods,deployments")?;
    let firsts: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    ensure!(
        firsts == ["NAME", "pod/web-0", "NAME", "deployment.apps/web"],
        "get pods,deployments:\n{}",
        out.stdout
    );

    // Across namespaces kubectl adds NAMESPACE.
    let out = run_ok(k, &["get", "pods", "-A"])?;
    let table = Table::parse(&out.stdout)?;
    ensure!(
        table.columns.first().map(String::as_str) == Some("NAMESPACE"),
        "get pods -A:\n{}",
        out.stdout
    );
    let row = table
        .row("NAME", "web-0")
        .context("get pods -A: no web-0")?;
    same_str(row.get("NAMESPACE"), "shop", "get pods -A NAMESPACE")?;

    // Label columns come from the object metadata the server puts in each Table row.
    let out = shop(k, "get pods --show-labels -L tier")?;
    let table = Table::parse(&out.stdout)?;
    let row = table.row("NAME", "web-0").context("no web-0")?;
    same_str(row.get("TIER"), "backend", "-L tier")?;
    same_str(
        row.get("LABELS"),
        "app=web,owner=ops,tier=backend",
        "--show-labels",
    )?;

    let out = shop(k, "get deployments --no-headers")?;
    ensure!(
        out.stdout.lines().count() == 1 && out.stdout.starts_with("web "),
        "--no-headers:\n{}",
        out.stdout
    );
    Ok(())
}
