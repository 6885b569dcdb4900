#!/usr/bin/env python3
"""The chart's checks, driven by the Helm v4 engine (PyPI `helm-python-sdk`) and `kubernetes-validate`.

    chart_tool.py schema [--check]   write (or check) values.schema.json, generated from values.yaml
    chart_tool.py check              lint, render every scenario, validate every object; exit 1 on a problem
    chart_tool.py render VALUES OUT  render with a values file (or `-` for the defaults) to OUT as JSON

Scenarios: every `ci/*-values.yaml` of the chart, and `tests/upstream-values/*.yaml` (the upstream chart's own
value files, unchanged). A problem is printed as one line naming the scenario and the object.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

import expectations

CHART = Path(__file__).resolve().parent.parent / "capsule-proxy"
TESTS = Path(__file__).resolve().parent
RELEASE = "capsule-proxy"
NAMESPACE = "capsule-system"
# Kubernetes version the rendered objects are validated against (kubernetes-validate's schemas).
KUBE_VERSION = "1.33.0"

# Values whose content is a Kubernetes (or cert-manager, Gangplank) structure passed through as written: the
# schema says only "object" so every valid spelling of them is accepted (quantities as numbers, ports as names).
FREE_FORM = {
    "resources", "podSecurityContext", "securityContext", "livenessProbe", "readinessProbe", "fields",
    "secretTemplate", "priorityLevelConfigurationSpec", "behavior", "config", "sensitiveEnvs", "envs",
    "affinity", "nodeSelector", "podAnnotations", "podLabels", "annotations", "labels", "annnotations",
    "matchLabels", "customAnnotations",
}

# This chart's own block: unknown keys there are typos and refused.
OWN_BLOCK = "rustProxy"

GO_DURATION = r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$"

# Values of `rustProxy` whose type the default (null) does not tell.
OWN_TYPES = {
    "rustProxy.cores": {"type": ["integer", "null"], "minimum": 1},
    "rustProxy.ioDriver": {"type": "string", "enum": ["auto", "io-uring", "legacy"]},
    "rustProxy.limits.*": {"type": ["integer", "null"], "minimum": 1},
    "rustProxy.timeouts.*": {"type": ["string", "null"], "pattern": GO_DURATION},
    "rustProxy.podDisruptionBudget.minAvailable": {"type": ["integer", "string", "null"]},
    "rustProxy.podDisruptionBudget.maxUnavailable": {"type": ["integer", "string", "null"]},
    "rustProxy.terminationGracePeriodSeconds": {"type": "integer", "minimum": 0},
}

# Upstream keys with a closed set of values (the templates refuse anything else).
ENUMS = {
    "kind": ["Deployment", "DaemonSet"],
    "service.type": ["ClusterIP", "NodePort", "LoadBalancer"],
    "certManager.issuer.kind": ["Issuer", "ClusterIssuer"],
}


def comments_by_path(text: str) -> dict[str, str]:
    """The `# -- ...` description written above each key of values.yaml, by dotted path."""
    out: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    pending: list[str] = []
    collecting = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("# --"):
            pending, collecting = [stripped[4:].strip()], True
            continue
        if stripped.startswith("#"):
            if collecting:
                pending.append(stripped[1:].strip())
            continue
        key = re.match(r"^(\s*)([A-Za-z0-9_]+):", line)
        if not key:
            pending, collecting = [], False
            continue
        indent = len(key.group(1))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, key.group(2)))
        if pending:
            out[".".join(name for _, name in stack)] = " ".join(pending)
        pending, collecting = [], False
    return out


def schema_of(value, path: str, docs: dict[str, str]) -> dict:
    """The JSON schema of one value of values.yaml, from its default."""
    name = path.rsplit(".", 1)[-1]
    own = path == OWN_BLOCK or path.startswith(OWN_BLOCK + ".")
    node: dict = {}
    if path in docs:
        node["description"] = docs[path]
    wildcard = path.rsplit(".", 1)[0] + ".*" if "." in path else None
    if path in OWN_TYPES or (wildcard and wildcard in OWN_TYPES):
        node.update(OWN_TYPES.get(path) or OWN_TYPES[wildcard])
    elif isinstance(value, dict):
        node["type"] = "object"
        if name not in FREE_FORM and path != "jobs" and value:
            node["properties"] = {
                key: schema_of(child, f"{path}.{key}" if path else key, docs) for key, child in value.items()
            }
            if own:
                node["additionalProperties"] = False
    elif isinstance(value, bool):
        node["type"] = "boolean"
    elif isinstance(value, int):
        node["type"] = "integer"
    elif isinstance(value, float):
        node["type"] = "number"
    elif isinstance(value, str):
        node["type"] = "string"
    elif isinstance(value, list):
        node["type"] = "array"
    if path in ENUMS:
        node["enum"] = ENUMS[path]
    return node


def generated_schema() -> dict:
    text = (CHART / "values.yaml").read_text()
    values = yaml.safe_load(text)
    docs = comments_by_path(text)
    root = schema_of(values, "", docs)
    root.pop("description", None)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Values of the capsule-proxy chart (generated from values.yaml by charts/tests/chart_tool.py)",
        **root,
    }


def schema_command(check: bool) -> int:
    path = CHART / "values.schema.json"
    want = json.dumps(generated_schema(), indent=2, ensure_ascii=False) + "\n"
    if check:
        if path.read_text() != want:
            print(f"{path} is out of date: run `python3 charts/tests/chart_tool.py schema`")
            return 1
        return 0
    path.write_text(want)
    return 0


def scenarios() -> list[Path]:
    return sorted((CHART / "ci").glob("*-values.yaml")) + sorted((TESTS / "upstream-values").glob("*.yaml"))


def render(values: dict) -> list[dict]:
    import helm_python as helm

    chart = helm.Chart.load(str(CHART))
    chart.validate_schema(values)
    manifests = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    objects = []
    for template, text in sorted(manifests.items()):
        if template.endswith("NOTES.txt"):
            continue
        for document in yaml.safe_load_all(text):
            if document:
                document.setdefault("__template", template)
                objects.append(document)
    # Helm installs crds/ itself (not rendered as templates).
    for crd in sorted((CHART / "crds").glob("*.yaml")):
        for document in yaml.safe_load_all(crd.read_text()):
            document["__template"] = f"crds/{crd.name}"
            objects.append(document)
    return objects


# Kinds kubernetes-validate has no schema for, checked here by the fields their controllers require.
CUSTOM_KINDS = {
    ("cert-manager.io/v1", "Issuer"): ["spec"],
    ("cert-manager.io/v1", "Certificate"): ["spec.secretName", "spec.issuerRef.name"],
    ("monitoring.coreos.com/v1", "ServiceMonitor"): ["spec.selector", "spec.endpoints"],
    ("gateway.networking.k8s.io/v1alpha2", "TLSRoute"): ["spec.parentRefs", "spec.rules"],
    ("gateway.networking.k8s.io/v1", "TLSRoute"): ["spec.parentRefs", "spec.rules"],
    ("security-profiles-operator.x-k8s.io/v1beta1", "SeccompProfile"): ["spec.defaultAction", "spec.syscalls"],
}


def field(obj: dict, dotted: str):
    for part in dotted.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj


def validate(objects: list[dict]) -> list[str]:
    import kubernetes_validate

    problems = []
    seen = set()
    for obj in objects:
        template = obj.pop("__template")
        kind, api = obj.get("kind"), obj.get("apiVersion")
        name = field(obj, "metadata.name")
        where = f"{template}: {kind} {name}"
        key = (api, kind, field(obj, "metadata.namespace"), name)
        if key in seen:
            problems.append(f"{where}: rendered twice")
        seen.add(key)
        if (api, kind) in CUSTOM_KINDS:
            for required in CUSTOM_KINDS[(api, kind)]:
                if field(obj, required) in (None, [], {}):
                    problems.append(f"{where}: missing {required}")
            continue
        try:
            kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(p) for p in error.path)
            problems.append(f"{where}: {path}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError:
            problems.append(f"{where}: {api} {kind} is not served by Kubernetes {KUBE_VERSION}")
    return problems


def check_command() -> int:
    import helm_python as helm

    problems: list[str] = []
    if schema_command(check=True):
        problems.append("values.schema.json is out of date")
    report = helm.lint(str(CHART), {}, strict=True, namespace=NAMESPACE)
    for message in report["messages"]:
        # severity 1 is "info" (e.g. "icon is recommended"); warnings and errors fail.
        if message["severity"] >= 2:
            problems.append(f"lint: {message['path']}: {message['error']}")
    problems += [f"lint: {error}" for error in report.get("errors", [])]
    for scenario in [None, *scenarios()]:
        label = scenario.relative_to(CHART.parent.parent) if scenario else "defaults"
        values = yaml.safe_load(scenario.read_text()) if scenario else {}
        try:
            lint = helm.lint(str(CHART), values, strict=True, namespace=NAMESPACE)
            problems += [
                f"{label}: lint: {m['path']}: {m['error']}" for m in lint["messages"] if m["severity"] >= 2
            ]
            objects = render(values)
        except Exception as error:  # the engine's errors carry the template and line
            problems.append(f"{label}: {type(error).__name__}: {error}")
            continue
        problems += [f"{label}: {problem}" for problem in validate(objects)]
        stem = scenario.stem if scenario else "defaults"
        problems += [f"{label}: {problem}" for problem in expectations.check(stem, objects)]
        print(f"ok {label}: {len(objects)} objects rendered and validated")
    for problem in problems:
        print(f"FAIL {problem}")
    return 1 if problems else 0


def render_command(values_path: str, out: str) -> int:
    values = {} if values_path == "-" else (yaml.safe_load(Path(values_path).read_text()) or {})
    objects = render(values)
    for obj in objects:
        obj.pop("__template", None)
    Path(out).write_text(json.dumps(objects, indent=1))
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["schema"]:
        return schema_command(check="--check" in argv)
    if argv[:1] == ["check"]:
        return check_command()
    if argv[:1] == ["render"] and len(argv) == 3:
        return render_command(argv[1], argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
