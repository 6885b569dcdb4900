"""What each scenario must render, beyond valid objects: one function per values file (by file stem), each
returning the problems it finds in the rendered objects."""

from __future__ import annotations

import yaml

FULLNAME = "capsule-proxy"

# The arguments the upstream chart's pod template writes from the default `options`, in its order.
UPSTREAM_DEFAULT_ARGS = [
    "--listening-port=9001",
    "--capsule-configuration-name=default",
    "--zap-log-level=4",
    "--enable-ssl=true",
    "--oidc-username-claim=preferred_username",
    "--enable-reflector=false",
    "--rolebindings-resync-period=10h",
    "--disable-caching=false",
    "--auth-preferred-types=BearerToken,TLSCertificate",
    "--ssl-cert-path=/opt/capsule-proxy/tls.crt",
    "--ssl-key-path=/opt/capsule-proxy/tls.key",
    "--client-connection-qps=20",
    "--client-connection-burst=30",
    "--enable-pprof=false",
    "--enable-leader-election=false",
]


class Rendered:
    """The rendered objects of one scenario, with the look-ups the expectations use."""

    def __init__(self, objects: list[dict]):
        self.objects = objects
        self.problems: list[str] = []

    def all(self, kind: str) -> list[dict]:
        return [o for o in self.objects if o.get("kind") == kind]

    def one(self, kind: str, name: str | None = None) -> dict:
        found = [o for o in self.all(kind) if name is None or o["metadata"]["name"] == name]
        if len(found) != 1:
            self.fail(f"expected one {kind}{' ' + name if name else ''}, found {len(found)}")
            return {}
        return found[0]

    def none(self, kind: str) -> None:
        if self.all(kind):
            self.fail(f"expected no {kind}, found {[o['metadata']['name'] for o in self.all(kind)]}")

    def workload(self) -> dict:
        found = self.all("Deployment") + self.all("DaemonSet")
        found = [o for o in found if o["metadata"]["name"] == FULLNAME]
        if len(found) != 1:
            self.fail(f"expected one proxy workload, found {len(found)}")
            return {"spec": {"template": {"spec": {"containers": [{}]}}}}
        return found[0]

    def pod(self) -> dict:
        return self.workload()["spec"]["template"]["spec"]

    def container(self) -> dict:
        return self.pod()["containers"][0]

    def args(self) -> list[str]:
        return self.container().get("args", [])

    def rules(self) -> list[dict]:
        role = [o for o in self.all("ClusterRole") if o["metadata"]["name"] == f"capsule-proxy:{FULLNAME}"]
        return role[0]["rules"] if role else []

    def expect(self, condition: bool, message: str) -> None:
        if not condition:
            self.fail(message)

    def eq(self, got, want, what: str) -> None:
        if got != want:
            self.fail(f"{what}: got {got!r}, want {want!r}")

    def fail(self, message: str) -> None:
        self.problems.append(message)


def has_rule(rules: list[dict], group: str, resource: str, verb: str) -> bool:
    return any(
        group in r.get("apiGroups", []) and resource in r.get("resources", []) and verb in r.get("verbs", [])
        for r in rules
    )


def defaults(r: Rendered) -> None:
    r.eq(r.args(), UPSTREAM_DEFAULT_ARGS + ["--cores=1", "--io-driver=auto"], "args")
    c = r.container()
    r.eq(c["env"][0], {"name": "NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}, "env")
    r.eq({p["name"]: p["containerPort"] for p in c["ports"]}, {"proxy": 9001, "metrics": 8080, "probe": 8081}, "ports")
    r.eq(c["readinessProbe"]["httpGet"], {"path": "/readyz/", "port": "probe", "scheme": "HTTP"}, "readiness")
    r.eq(c["livenessProbe"]["httpGet"], {"path": "/healthz/", "port": "probe", "scheme": "HTTP"}, "liveness")
    r.eq(c["securityContext"]["runAsUser"], 1002, "runAsUser")
    r.eq(c["securityContext"]["readOnlyRootFilesystem"], True, "readOnlyRootFilesystem")
    r.eq(r.pod()["securityContext"]["seccompProfile"], {"type": "RuntimeDefault"}, "seccompProfile")
    r.eq(r.pod()["volumes"][0]["secret"]["secretName"], FULLNAME, "certificate Secret")
    r.expect("hostNetwork" not in r.pod(), "no host network by default")
    rules = r.rules()
    r.expect(has_rule(rules, "authentication.k8s.io", "tokenreviews", "create"), "TokenReviews granted")
    r.expect(has_rule(rules, "", "users", "impersonate"), "impersonation granted")
    r.expect(not has_rule(rules, "*", "*", "get"), "no get on every kind by default")
    r.expect(not has_rule(rules, "*", "*", "list"), "no list on every kind by default: -A is fanned out as the caller")
    r.expect(not any("secrets" in rule.get("resources", []) for rule in rules), "no Secret rule")
    r.expect(not any(rule.get("verbs", []) == ["*"] for rule in rules), "no wildcard verbs")
    r.none("Role")
    r.eq(r.one("Service", FULLNAME)["spec"]["ports"][0]["targetPort"], "proxy", "Service targetPort")
    r.one("Certificate", f"{FULLNAME}-serving-cert")
    r.one("Job", "capsule-proxy-crds")
    for cm in r.all("ConfigMap"):
        for text in cm["data"].values():
            crd = yaml.safe_load(text)
            r.eq(crd["metadata"]["annotations"].get("helm.sh/resource-policy"), "keep", "CRD keep annotation")
    r.none("HorizontalPodAutoscaler")
    r.none("Ingress")


def ci_config_values(r: Rendered) -> None:
    """The upstream chart's config scenario: every option written as upstream writes it."""
    r.eq(
        r.args(),
        [
            "--listening-port=9001",
            "--capsule-configuration-name=default",
            "--ignored-user-group=group-1",
            "--ignored-user-group=group-2",
            "--ignored-username=alice",
            "--ignored-username=service-user",
            *UPSTREAM_DEFAULT_ARGS[2:],
            "--trusted-proxy-cidrs=127.0.0.1/32",
            "--ignored-impersonation-group=group-1",
            "--ignored-impersonation-group=group-2",
            "--impersonation-group-regexp=some-regex-.*",
            "--cores=1",
            "--io-driver=auto",
            "--feature-gates=ProxyClusterScoped=true",
        ],
        "args",
    )
    r.expect(has_rule(r.rules(), "*", "*", "get"), "ProxyClusterScoped grants get on every kind")


def ci_deploy_values(r: Rendered) -> None:
    ingress = r.one("Ingress")
    r.eq(ingress.get("apiVersion"), "networking.k8s.io/v1", "Ingress apiVersion without capabilities")
    r.eq(ingress.get("spec", {}).get("ingressClassName"), "nginx", "ingressClassName (upstream's misnamed key)")
    hpa = r.one("HorizontalPodAutoscaler")
    r.eq(hpa.get("apiVersion"), "autoscaling/v2", "HPA apiVersion")
    r.eq(len(hpa.get("spec", {}).get("metrics", [])), 2, "HPA metrics (CPU and the custom one)")
    r.expect("replicas" not in r.workload()["spec"], "no replicas with an HPA")
    r.one("ServiceMonitor")
    r.eq(r.pod().get("priorityClassName"), "system-node-critical", "priorityClassName")


def ci_ds_values(r: Rendered) -> None:
    daemonset(r)
    r.none("HorizontalPodAutoscaler")


def daemonset(r: Rendered) -> None:
    r.eq(r.workload().get("kind"), "DaemonSet", "kind")
    r.eq(r.pod().get("hostNetwork"), True, "hostNetwork")
    r.eq(r.pod().get("dnsPolicy"), "ClusterFirstWithHostNet", "dnsPolicy")
    r.eq(r.container()["ports"][0].get("hostPort"), 9001, "hostPort")


def daemonset_hostnetwork_values(r: Rendered) -> None:
    daemonset(r)
    r.expect("--cores=2" in r.args(), "--cores follows a CPU limit of 2")


def ci_backwards_values(r: Rendered) -> None:
    for cm in r.all("ConfigMap"):
        for text in cm["data"].values():
            crd = yaml.safe_load(text)
            r.expect("helm.sh/resource-policy" not in crd["metadata"].get("annotations", {}), "crds.keep=false")


def ci_webhook_values(r: Rendered) -> None:
    r.none("MutatingWebhookConfiguration")
    r.expect(not any("webhook" in o["metadata"]["name"] for o in r.objects), "webhooks render nothing")


def ci_gangplank_values(r: Rendered) -> None:
    r.one("Deployment", f"{FULLNAME}-gangplank")
    r.one("Secret", f"{FULLNAME}-gangplank")


def gangplank_values(r: Rendered) -> None:
    ci_gangplank_values(r)
    r.eq(r.one("Service", f"{FULLNAME}-gangplank")["spec"]["ports"][0].get("nodePort"), 30080, "nodePort")
    r.eq(r.one("Ingress").get("apiVersion"), "networking.k8s.io/v1", "Ingress apiVersion")


def ci_cert_manager_values(r: Rendered) -> None:
    cert = r.one("Certificate", f"{FULLNAME}-serving-cert")
    r.eq(cert["spec"]["dnsNames"], ["localhost", FULLNAME, f"{FULLNAME}.capsule-system.svc"], "dnsNames")
    r.eq(cert["spec"]["ipAddresses"], ["127.0.0.1"], "ipAddresses")
    r.eq(cert["spec"]["renewBefore"], "24h", "renewBefore from fields")
    r.none("HorizontalPodAutoscaler")


def cert_manager_values(r: Rendered) -> None:
    r.eq([o["metadata"]["name"] for o in r.all("Issuer")], [f"{FULLNAME}-ca-issuer"], "only the CA Issuer")
    r.eq(r.one("Issuer")["spec"]["ca"]["secretName"], "corporate-ca", "external CA Secret")
    cert = r.one("Certificate")
    r.eq(cert["spec"]["secretName"], FULLNAME, "serving Secret")
    r.eq(
        cert["spec"]["dnsNames"],
        ["api.cluster.example.com", FULLNAME, f"{FULLNAME}.capsule-system.svc"],
        "dnsNames",
    )
    r.eq(cert["spec"]["renewBefore"], "24h", "renewBefore")


def cluster_issuer_values(r: Rendered) -> None:
    r.none("Issuer")
    cert = r.one("Certificate")
    r.eq(cert["spec"]["issuerRef"], {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "letsencrypt"}, "issuerRef")
    r.eq(cert["spec"]["dnsNames"], ["capsule-proxy.example.com"], "dnsNames")


def generate_certificates_values(r: Rendered) -> None:
    r.none("Certificate")
    r.none("Issuer")
    job = r.one("Job", f"{FULLNAME}-certgen")
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    r.expect(
        "--host=capsule-proxy.example.com,10.0.0.10,capsule-proxy,capsule-proxy.capsule-system.svc" in args,
        f"certgen hosts: {args}",
    )
    r.expect("--secret-name=capsule-proxy" in args, "certgen Secret")
    r.expect("ttlSecondsAfterFinished" not in job["spec"], "ttl -1 keeps the Job")
    r.eq(job["spec"]["template"]["spec"]["serviceAccountName"], f"{FULLNAME}-certgen", "certgen's own account")
    role = r.one("Role", f"{FULLNAME}-certgen")
    r.expect(all(rule["resources"] == ["secrets"] for rule in role["rules"]), "certgen touches Secrets only")
    r.expect(not any("secrets" in rule.get("resources", []) for rule in r.rules()), "the proxy gets no Secret access")


def ingress_values(r: Rendered) -> None:
    ingress = r.one("Ingress")
    r.eq(ingress["apiVersion"], "networking.k8s.io/v1", "Ingress apiVersion")
    path = ingress["spec"]["rules"][0]["http"]["paths"][0]
    r.eq(path["backend"], {"service": {"name": FULLNAME, "port": {"number": 9001}}}, "backend")
    r.eq(ingress["spec"]["tls"], [{"hosts": ["capsule-proxy.example.com"], "secretName": "capsule-proxy-tls"}], "tls")
    r.expect("capsule-proxy.example.com" in r.one("Certificate", f"{FULLNAME}-serving-cert")["spec"]["dnsNames"], "ingress host in the certificate")


def loadbalancer_values(r: Rendered) -> None:
    spec = r.one("Service", FULLNAME)["spec"]
    r.eq(spec["type"], "LoadBalancer", "type")
    r.eq(spec.get("loadBalancerIP"), "203.0.113.10", "loadBalancerIP")
    r.eq(spec.get("loadBalancerSourceRanges"), ["198.51.100.0/24"], "loadBalancerSourceRanges")


def nodeport_values(r: Rendered) -> None:
    spec = r.one("Service", FULLNAME)["spec"]
    r.eq((spec["type"], spec["ports"][0].get("nodePort")), ("NodePort", 30901), "NodePort")


def hpa_pdb_values(r: Rendered) -> None:
    metrics = r.one("HorizontalPodAutoscaler")["spec"]["metrics"]
    r.eq([m["resource"]["target"]["averageUtilization"] for m in metrics], [70, 80], "HPA targets")
    r.eq(r.one("PodDisruptionBudget")["spec"].get("maxUnavailable"), 1, "PDB")
    r.expect("--cores=2" in r.args(), "--cores follows a CPU limit of 1500m")


def servicemonitor_values(r: Rendered) -> None:
    monitor = r.one("ServiceMonitor")
    r.eq(monitor["metadata"]["namespace"], "monitoring", "ServiceMonitor namespace")
    r.eq(monitor["spec"]["namespaceSelector"], {"matchNames": ["capsule-system"]}, "namespaceSelector")
    role = r.one("Role", f"{FULLNAME}-metrics-role")
    r.eq(role["metadata"]["namespace"], "capsule-system", "Prometheus' Role is where the endpoints are")
    binding = r.one("RoleBinding", f"{FULLNAME}-metrics-rolebinding")
    r.eq(binding["subjects"][0], {"kind": "ServiceAccount", "name": "prometheus-k8s", "namespace": "monitoring"}, "subject")


def gateway_tlsroute_values(r: Rendered) -> None:
    route = r.one("TLSRoute")
    r.eq(route["spec"]["rules"][0]["backendRefs"][0], {"name": FULLNAME, "port": 9001}, "backendRef (templated)")


def feature_gates_values(r: Rendered) -> None:
    r.one("FlowSchema")
    r.one("PriorityLevelConfiguration")
    r.expect(has_rule(r.rules(), "*", "*", "get"), "ProxyClusterScoped grants get on every kind")
    r.expect("--auth-preferred-types=BearerToken,TLSCertificate,XForwardedClientCert" in r.args(), "auth types")
    r.expect(r.args()[-1] == "--feature-gates=ProxyClusterScoped=true", "extraArgs come last")


def all_namespaced_off_values(r: Rendered) -> None:
    rules = r.rules()
    r.expect(has_rule(rules, "*", "*", "list"), "Go's -A lists every kind as the proxy")
    r.expect(has_rule(rules, "*", "*", "watch"), "Go's -A watches every kind as the proxy")
    r.expect(not has_rule(rules, "*", "*", "get"), "but gets none")
    r.expect(r.args()[-1] == "--feature-gates=ProxyAllNamespaced=false", "extraArgs come last")


def io_uring_values(r: Rendered) -> None:
    r.eq(
        r.pod()["securityContext"]["seccompProfile"],
        {"type": "Localhost", "localhostProfile": "profiles/capsule-proxy-io-uring.json"},
        "seccompProfile",
    )
    r.eq(
        r.args()[len(UPSTREAM_DEFAULT_ARGS):],
        [
            "--cores=2",
            "--io-driver=io-uring",
            "--all-namespaces-concurrency=8",
            "--all-namespaces-timeout=2m",
            "--client-stall-timeout=2m",
            "--max-header-bytes=131072",
            "--max-rewrite-bytes=8388608",
            "--readiness-stale-after=10m",
            "--shutdown-grace-period=45s",
        ],
        "this chart's args",
    )
    r.eq(r.pod()["terminationGracePeriodSeconds"], 60, "terminationGracePeriodSeconds")
    rules = r.rules()
    r.expect(not has_rule(rules, "*", "*", "list"), "no wildcard list")
    r.expect(has_rule(rules, "gateway.networking.k8s.io", "gatewayclasses", "list"), "extra cluster-scoped kinds")
    r.expect(has_rule(rules, "", "nodes", "patch"), "legacyWrites")


def io_uring_spo_values(r: Rendered) -> None:
    import json
    from pathlib import Path

    profile = json.loads((Path(__file__).parent.parent / "capsule-proxy/files/seccomp/capsule-proxy-io-uring.json").read_text())
    rendered = r.one("SeccompProfile", f"{FULLNAME}-io-uring")["spec"]
    r.eq(rendered["syscalls"], profile["syscalls"], "the profile's rules, unchanged")
    r.eq(rendered["defaultAction"], profile["defaultAction"], "defaultAction")
    r.expect("SCMP_ARCH_X86_64" in rendered["architectures"], "architectures from archMap")
    r.eq(
        r.pod()["securityContext"]["seccompProfile"],
        {"type": "Localhost", "localhostProfile": f"operator/capsule-system/{FULLNAME}-io-uring.json"},
        "the operator's path",
    )
    r.expect("io_uring_setup" in sum((rule["names"] for rule in profile["syscalls"]), []), "io_uring allowed")


def plain_http_values(r: Rendered) -> None:
    args = r.args()
    r.expect("--enable-ssl=false" in args, "--enable-ssl=false")
    r.expect(not any(a.startswith("--ssl-") for a in args), "no certificate paths without TLS")
    r.expect("volumes" not in r.pod(), "no certificate volume")
    r.none("ClusterRole")
    r.none("ServiceAccount")
    r.eq(r.one("ClusterRoleBinding")["roleRef"]["name"], "capsule-proxy-upstream", "existing ClusterRole bound")
    r.eq(r.pod()["serviceAccountName"], "capsule-proxy-existing", "existing ServiceAccount")
    r.none("Certificate")
    r.none("Job")


EXPECTATIONS = {
    "defaults": defaults,
    "defaults-values": defaults,
    "values": defaults,
    "ci-config-values": ci_config_values,
    "ci-deploy-values": ci_deploy_values,
    "ci-ds-values": ci_ds_values,
    "ci-backwards-values": ci_backwards_values,
    "ci-webhook-values": ci_webhook_values,
    "ci-gangplank-values": ci_gangplank_values,
    "gangplank-values": gangplank_values,
    "ci-cert-manager-values": ci_cert_manager_values,
    "cert-manager-values": cert_manager_values,
    "cluster-issuer-values": cluster_issuer_values,
    "generate-certificates-values": generate_certificates_values,
    "daemonset-hostnetwork-values": daemonset_hostnetwork_values,
    "ingress-values": ingress_values,
    "loadbalancer-values": loadbalancer_values,
    "nodeport-values": nodeport_values,
    "hpa-pdb-values": hpa_pdb_values,
    "servicemonitor-values": servicemonitor_values,
    "gateway-tlsroute-values": gateway_tlsroute_values,
    "feature-gates-values": feature_gates_values,
    "all-namespaced-off-values": all_namespaced_off_values,
    "io-uring-values": io_uring_values,
    "io-uring-spo-values": io_uring_spo_values,
    "plain-http-values": plain_http_values,
}


def check(stem: str, objects: list[dict]) -> list[str]:
    """The problems of scenario `stem`; a scenario without expectations is itself a problem."""
    if stem not in EXPECTATIONS:
        return [f"no expectations written for scenario {stem}"]
    rendered = Rendered(objects)
    try:
        EXPECTATIONS[stem](rendered)
    except (KeyError, IndexError, TypeError) as error:
        rendered.fail(f"missing {type(error).__name__}: {error}")
    return rendered.problems
