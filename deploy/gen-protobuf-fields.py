#!/usr/bin/env python3
"""Generates apiserver/src/protobuf/fields.txt: the protobuf field numbers and types of the
Kubernetes messages the API server decodes, with the JSON name of every field.

Field numbers and wire types come from the prost bindings in the `k8s-pb` crate; JSON names
come from the `k8s-openapi` crate (both read from the local cargo registry, so run
`cargo fetch` first). Only messages reachable from ROOTS are written.

    python3 deploy/gen-protobuf-fields.py > apiserver/src/protobuf/fields.txt
"""

import glob
import os
import re
import sys

K8S_PB = "k8s-pb-0.9.0"
K8S_OPENAPI = "k8s-openapi-0.29.0"
OPENAPI_VERSION = "v1_33"

# Every kind a client may send as a protobuf body: the served kinds, the objects of their
# subresources, and DeleteOptions.
ROOTS = [
    "api.core.v1." + k
    for k in [
        "Namespace", "Node", "Pod", "Service", "Endpoints", "ConfigMap", "Secret",
        "PersistentVolume", "PersistentVolumeClaim", "Event", "ServiceAccount", "Binding",
    ]
] + [
    "api.apps.v1.Deployment", "api.apps.v1.ReplicaSet",
    "api.discovery.v1.EndpointSlice", "api.coordination.v1.Lease",
    "api.storage.v1.StorageClass", "api.events.v1.Event",
    "api.scheduling.v1.PriorityClass", "api.policy.v1.Eviction",
    "api.autoscaling.v1.Scale", "apimachinery.pkg.apis.meta.v1.DeleteOptions",
]

# Messages the decoder turns into JSON by hand; their fields keep the proto names.
SPECIAL = {
    "apimachinery.pkg.apis.meta.v1.Time",
    "apimachinery.pkg.apis.meta.v1.MicroTime",
    "apimachinery.pkg.apis.meta.v1.Duration",
    "apimachinery.pkg.apis.meta.v1.FieldsV1",
    "apimachinery.pkg.api.resource.Quantity",
    "apimachinery.pkg.util.intstr.IntOrString",
    "apimachinery.pkg.runtime.RawExtension",
}

SCALARS = {"string", "bool", "int32", "int64", "uint32", "uint64", "double", "float", "bytes"}


def registry_dir(name):
    for root in glob.glob(os.path.expanduser("~/.cargo/registry/src/*/")):
        path = os.path.join(root, name)
        if os.path.isdir(path):
            return path
    sys.exit(f"{name} is not in the cargo registry; run `cargo fetch` (or add it) first")


def resolve(module, rust_type):
    """The dotted message name of a Rust type path used inside `module`."""
    segments = [s for s in rust_type.split("::") if s]
    base = list(module)
    while segments and segments[0] == "super":
        segments.pop(0)
        base.pop()
    return ".".join(base + segments)


def inner_type(rust_type):
    """The payload type of Option<...>, Vec<...>, or the value of a map."""
    text = re.sub(r"\s+", "", rust_type)
    text = text.rstrip(",")
    for wrapper in ("::core::option::Option<", "::prost::alloc::vec::Vec<"):
        if text.startswith(wrapper):
            return text[len(wrapper):-1]
    if "Map<" in text:
        args = text[text.index("Map<") + 4:-1]
        return args.split(",", 1)[1].rstrip(",")
    return text


def parse_k8s_pb(root):
    """message name -> [(tag, rust name, type)] from the prost bindings."""
    messages = {}
    for path in glob.glob(os.path.join(root, "src", "**", "mod.rs"), recursive=True):
        module = os.path.relpath(os.path.dirname(path), os.path.join(root, "src")).split(os.sep)
        text = open(path, encoding="utf-8").read()
        for m in re.finditer(r"^pub struct (\w+) \{\n(.*?)^\}", text, re.S | re.M):
            name = ".".join(module + [m.group(1)])
            body = re.sub(r"^\s*///.*\n", "", m.group(2), flags=re.M)
            fields = []
            for f in re.finditer(
                r"#\[prost\((.*?)\)\]\s*pub (r#)?(\w+):\s*(.*?),\n(?=\s*#\[|\s*\Z)", body, re.S
            ):
                attr, rust, rust_type = f.group(1), f.group(3), f.group(4)
                tag = int(re.search(r'tag\s*=\s*"(\d+)"', attr).group(1))
                head = attr.split(",")[0].strip()
                mapping = re.match(r'(?:btree_)?map\s*=\s*"(\w+),\s*(\w+)"', attr)
                if mapping:
                    key, value = mapping.groups()
                    if value == "message":
                        value = resolve(module, inner_type(rust_type))
                    kind = f"map<{key},{value}>"
                elif head == "message":
                    kind = resolve(module, inner_type(rust_type))
                else:
                    kind = head.split("=")[0].strip()
                    if kind not in SCALARS:
                        sys.exit(f"{name}.{rust}: unsupported prost type {attr}")
                if "repeated" in attr:
                    kind = "[]" + kind
                fields.append((tag, rust, kind))
            messages[name] = fields
    return messages


def parse_k8s_openapi(root):
    """(module, struct) -> {normalised rust name: JSON name} from the serde impls."""
    base = os.path.join(root, "src", OPENAPI_VERSION)
    names = {}
    for path in glob.glob(os.path.join(base, "**", "*.rs"), recursive=True):
        module = os.path.relpath(os.path.dirname(path), base).split(os.sep)
        text = open(path, encoding="utf-8").read()
        struct = re.search(r"^pub struct (\w+)", text, re.M)
        if not struct:
            continue
        keys = dict(
            (rust.replace("_", "").lower(), json)
            for json, rust in re.findall(r'"(\w+)" => Field::Key_(\w+),', text)
        )
        # Acronyms are cased differently in the two crates (PodDNSConfig, PodDnsConfig).
        names[".".join(module + [struct.group(1).lower()])] = keys
    return names


def main():
    messages = parse_k8s_pb(registry_dir(K8S_PB))
    json_names = parse_k8s_openapi(registry_dir(K8S_OPENAPI))
    out = [
        f"# Generated by deploy/gen-protobuf-fields.py from {K8S_PB} (field numbers) and",
        f"# {K8S_OPENAPI} (JSON names). Do not edit. Lines: a message, then",
        "# `<field number> <JSON name> <type>` for each of its fields; the JSON name `*` marks",
        "# an embedded message whose fields are inlined in JSON.",
    ]
    todo, seen = list(ROOTS), set()
    inlined_into = {}  # an embedded message -> the JSON names of the type it is inlined in
    while todo:
        name = todo.pop(0)
        if name in seen:
            continue
        seen.add(name)
        if name not in messages:
            sys.exit(f"{name} is not in {K8S_PB}")
        out.append("io.k8s." + name)
        module, _, short = name.rpartition(".")
        keys = json_names.get(f"{module}.{short.lower()}") or inlined_into.get(name)
        if keys is None and name not in SPECIAL:
            sys.exit(f"{name} has no k8s-openapi type")
        for tag, rust, kind in messages[name]:
            if name in SPECIAL:
                json = rust
            else:
                json = keys.get(rust.replace("_", "").lower())
                t_module, _, t_short = kind.rpartition(".")
                # Go embeds a struct (inlining its fields in JSON) under the type's name,
                # or under another name when every field of it is one of the parent's.
                embedded = kind in messages and (
                    t_short.lower() == rust.replace("_", "").lower()
                    or all(f[1].replace("_", "").lower() in keys for f in messages[kind])
                )
                if json is None and embedded:
                    # A Go embedded struct: its fields are inlined in JSON.
                    json = "*"
                    inlined_into[kind] = keys
                if json is None:
                    print(f"warning: {name}.{rust} has no JSON name; skipped", file=sys.stderr)
                    continue
            target = kind.removeprefix("[]")
            if target.startswith("map<"):
                target = target[4:-1].split(",", 1)[1]
            if target not in SCALARS:
                todo.append(target)
                kind = kind.replace(target, "io.k8s." + target)
            out.append(f" {tag} {json} {kind}")
    print("\n".join(out))


if __name__ == "__main__":
    main()
