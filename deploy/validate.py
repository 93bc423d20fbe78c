"""Builds the kustomize base and overlays under deploy/k8s and checks what they
render: every resource against the Kubernetes schemas (strict: unknown fields
fail), then the rules issue 7 sets for MASH (probes, limits, security
context, Secrets, and the NetworkPolicies that are the firewall).

Run through validate.sh, which provides the virtualenv. Exits non-zero with
one line per problem.
"""

import asyncio
import sys
import tomllib
from pathlib import Path

import kubernetes_validate
import pykustomize
import yaml

# The oldest Kubernetes the manifests promise to run on: the native gRPC
# probe needs 1.27, the `sleep` preStop action 1.30.
KUBERNETES_VERSION = "1.30.0"
AGENCIES = ["police", "health", "education", "social-care"]
FEEDS = [f"feed-{agency}" for agency in AGENCIES]
SERVICES = ["broker", *FEEDS]
GRPC_PORT, HEALTH_PORT, METRICS_PORT = 7443, 8081, 9090
# A feed serves Search on GRPC_PORT and Push/Delete on PUSH_PORT only.
PUSH_PORT = 7444
# Prometheus scrapes the plaintext metrics port from this namespace only.
SCRAPER = ("monitoring/any pod", METRICS_PORT)
TLS_KEYS = {"tls.crt", "tls.key", "ca.crt"}

problems: list[str] = []


def problem(where: str, what: str) -> None:
    problems.append(f"{where}: {what}")


async def build(path: Path) -> list[dict]:
    # The policy ConfigMap reads ../../../policy, outside the kustomization
    # root: the same as `kustomize build --load-restrictor LoadRestrictionsNone`.
    options = pykustomize.BuildOptions(load_restrictions=pykustomize.LoadRestrictions.NONE)
    result = await pykustomize.build(str(path), options)
    return [doc for doc in yaml.safe_load_all(result.yaml) if doc]


def name(resource: dict) -> str:
    return f"{resource['kind']}/{resource['metadata']['name']}"


def check_schemas(where: str, resources: list[dict]) -> None:
    for resource in resources:
        if resource["apiVersion"].startswith("cert-manager.io/"):
            check_certificate(f"{where} {name(resource)}", resource)
            continue
        try:
            kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = "/".join(str(part) for part in error.path)
            problem(f"{where} {name(resource)}", f"{path}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError:
            problem(f"{where} {name(resource)}", "no schema for this kind")


def check_certificate(where: str, cert: dict) -> None:
    # cert-manager's CRD schemas are not bundled, so the fields the services
    # depend on are checked by hand.
    spec = cert.get("spec", {})
    service = cert["metadata"]["name"]
    if spec.get("secretName") != f"{service}-tls":
        problem(where, f"secretName must be {service}-tls, the Secret the Deployment mounts")
    if spec.get("uris") != [f"spiffe://mash.local/service/{service}"]:
        problem(where, "the one URI SAN must be the service's SPIFFE ID")
    if service not in spec.get("dnsNames", []):
        problem(where, f"dnsNames must include {service}: clients verify the host they connect to")
    if "localhost" in spec.get("dnsNames", []):
        problem(where, "localhost must not be a production server name: any pod could answer to it")
    if spec.get("issuerRef", {}).get("kind") != "Issuer":
        problem(where, "issuerRef.kind must be Issuer: a ClusterIssuer lets any namespace mint MASH identities")
    if not {"server auth", "client auth"} <= set(spec.get("usages", [])):
        problem(where, "services are servers and clients: usages need server auth and client auth")
    if not spec.get("issuerRef", {}).get("name"):
        problem(where, "issuerRef.name is missing")


def selects(selector: dict, labels: dict) -> bool:
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        present = expression["key"] in labels
        value = labels.get(expression["key"])
        operator = expression["operator"]
        if operator == "In" and value not in expression["values"]:
            return False
        if operator == "NotIn" and value in expression["values"]:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def peer(rule_peer: dict) -> str:
    """A readable name for one `from`/`to` entry."""
    if "ipBlock" in rule_peer:
        return f"ip {rule_peer['ipBlock']['cidr']}"
    namespace = rule_peer.get("namespaceSelector")
    pods = rule_peer.get("podSelector")
    ns = "this namespace"
    if namespace is not None:
        ns = namespace.get("matchLabels", {}).get("kubernetes.io/metadata.name", "any namespace")
    who = "any pod"
    if pods is not None and (pods.get("matchLabels") or pods.get("matchExpressions")):
        who = ",".join(f"{k}={v}" for k, v in sorted(pods.get("matchLabels", {}).items())) or "selected pods"
    return f"{ns}/{who}"


def allowed_ingress(policies: list[dict], labels: dict) -> set[tuple[str, object]] | None:
    """Who may reach pods with these labels, as (peer, port); None if no
    policy isolates them (then everything may)."""
    isolated, allowed = False, set()
    for policy in policies:
        spec = policy["spec"]
        if "Ingress" not in spec.get("policyTypes", ["Ingress"]) or not selects(spec["podSelector"], labels):
            continue
        isolated = True
        for rule in spec.get("ingress", []):
            peers = [peer(p) for p in rule.get("from", [])] or ["anyone"]
            ports = [p.get("port") for p in rule.get("ports", [])] or ["any port"]
            allowed |= {(who, port) for who in peers for port in ports}
    return allowed if isolated else None


def check_services(where: str, resources: list[dict]) -> None:
    by_kind: dict[str, dict[str, dict]] = {}
    for resource in resources:
        by_kind.setdefault(resource["kind"], {})[resource["metadata"]["name"]] = resource
    policies = list(by_kind.get("NetworkPolicy", {}).values())
    deny = by_kind.get("NetworkPolicy", {}).get("default-deny", {}).get("spec", {})
    if deny.get("podSelector") != {} or set(deny.get("policyTypes", [])) != {"Ingress", "Egress"}:
        problem(where, "NetworkPolicy/default-deny must isolate every pod, both ways")
    config_maps = by_kind.get("ConfigMap", {})
    for service in SERVICES:
        deployment = by_kind.get("Deployment", {}).get(service)
        if deployment is None:
            problem(where, f"no Deployment/{service}")
            continue
        pod = deployment["spec"]["template"]
        labels = pod["metadata"]["labels"]
        here = f"{where} Deployment/{service}"
        check_pod(here, pod["spec"], config_maps)
        for kind in ("Service", "PodDisruptionBudget"):
            other = by_kind.get(kind, {}).get(service)
            if other is None:
                problem(where, f"no {kind}/{service}")
            elif not selects({"matchLabels": other["spec"]["selector"].get("matchLabels", other["spec"]["selector"])}, labels):
                problem(where, f"{kind}/{service} does not select the Deployment's pods")
        expected = {("ingress-nginx/app.kubernetes.io/name=ingress-nginx", GRPC_PORT), SCRAPER}
        if service != "broker":
            agency = service.removeprefix("feed-")
            expected = {
                ("this namespace/app.kubernetes.io/name=broker", GRPC_PORT),
                (f"agency-{agency}/any pod", PUSH_PORT),
                SCRAPER,
            }
        allowed = allowed_ingress(policies, labels)
        if allowed != expected:
            problem(where, f"{service} may be reached by {sorted(allowed or [], key=str) or 'anyone'}; expected exactly {sorted(expected, key=str)}")


def check_pod(where: str, spec: dict, config_maps: dict) -> None:
    security = spec.get("securityContext", {})
    if security.get("runAsNonRoot") is not True or security.get("runAsUser", 0) == 0:
        problem(where, "the pod must run as a non-root user")
    if spec.get("automountServiceAccountToken") is not False:
        problem(where, "the services never call the Kubernetes API: do not mount a token")
    volumes = {volume["name"]: volume for volume in spec.get("volumes", [])}
    for container in spec["containers"]:
        here = f"{where} container {container['name']}"
        context = container.get("securityContext", {})
        if context.get("readOnlyRootFilesystem") is not True:
            problem(here, "readOnlyRootFilesystem must be true")
        if context.get("allowPrivilegeEscalation") is not False:
            problem(here, "allowPrivilegeEscalation must be false")
        if context.get("capabilities", {}).get("drop") != ["ALL"]:
            problem(here, "capabilities must drop ALL")
        resources = container.get("resources", {})
        for bound in ("requests", "limits"):
            if set(resources.get(bound, {})) != {"cpu", "memory"}:
                problem(here, f"resources.{bound} must set cpu and memory")
        ports = {port.get("name"): port["containerPort"] for port in container.get("ports", [])}
        expected_ports = {"grpc": GRPC_PORT, "health": HEALTH_PORT, "metrics": METRICS_PORT}
        if container.get("name") == "feed":
            expected_ports["push"] = PUSH_PORT
        if ports != expected_ports:
            problem(here, f"ports must be {expected_ports}, not {ports}")
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            if container.get(probe, {}).get("grpc", {}).get("port") != HEALTH_PORT:
                problem(here, f"{probe} must be a gRPC probe on the health port {HEALTH_PORT}")
        for env in container.get("env", []):
            if env["name"].endswith("DATABASE_URL") and "secretKeyRef" not in env.get("valueFrom", {}):
                problem(here, f"{env['name']} must come from a Secret")
        mounts = {mount["mountPath"]: mount["name"] for mount in container.get("volumeMounts", [])}
        check_config(here, container, mounts, volumes, config_maps)


def check_config(where: str, container: dict, mounts: dict, volumes: dict, config_maps: dict) -> None:
    """The TOML config must point at what the pod actually mounts."""
    command = container.get("command", [])
    if "--config" not in command:
        problem(where, "the command must name its --config file")
        return
    config_path = Path(command[command.index("--config") + 1])
    volume = volumes.get(mounts.get(str(config_path.parent)), {})
    config_map = config_maps.get(volume.get("configMap", {}).get("name"), {})
    text = config_map.get("data", {}).get(config_path.name)
    if text is None:
        problem(where, f"{config_path} is not in a mounted ConfigMap")
        return
    config = tomllib.loads(text)
    if config.get("listen", "").rsplit(":", 1)[-1] != str(GRPC_PORT):
        problem(where, f"listen must be on port {GRPC_PORT}")
    if config.get("health_listen", "").rsplit(":", 1)[-1] != str(HEALTH_PORT):
        problem(where, f"health_listen must be on port {HEALTH_PORT}")
    if config.get("metrics_listen", "").rsplit(":", 1)[-1] != str(METRICS_PORT):
        problem(where, f"metrics_listen must be on port {METRICS_PORT}")
    if container.get("name") == "feed" and config.get("push_listen", "").rsplit(":", 1)[-1] != str(PUSH_PORT):
        problem(where, f"push_listen must be on port {PUSH_PORT}, so that the agency's NetworkPolicy opens only the push port")
    for key in ("tls_ca", "tls_cert", "tls_key", "key_file", "signing_key_file", "policy_dir"):
        if key not in config:
            continue
        path = Path(config[key])
        volume_name = mounts.get(str(path if key == "policy_dir" else path.parent))
        volume = volumes.get(volume_name)
        if volume is None:
            problem(where, f"{key} = {path} is not on a mounted volume")
            continue
        secret = volume.get("secret")
        if key.startswith("tls_"):
            if secret is None or path.name not in TLS_KEYS:
                problem(where, f"{key} must be tls.crt, tls.key or ca.crt of a Secret (cert-manager's names)")
        elif key != "policy_dir":
            items = [item["path"] for item in (secret or {}).get("items", [])]
            if path.name not in items:
                problem(where, f"{key} = {path} is not an item of a mounted Secret")


def check_feeds_alike(resources: list[dict]) -> None:
    """The four feeds are one shape with the agency's name in it: a fifth is
    a copy, and no feed drifts from the others."""
    def of(agency: str) -> list[str]:
        docs = [r for r in resources if f"feed-{agency}" == r["metadata"]["name"]]
        return sorted(yaml.safe_dump(d, sort_keys=True) for d in docs)

    police = of("police")
    for agency in AGENCIES[1:]:
        if [doc.replace("police", agency) for doc in police] != of(agency):
            problem("base", f"feed-{agency} differs from feed-police other than by its agency's name")


async def main(root: Path) -> int:
    targets = {"base": root / "base"} | {
        f"overlays/{overlay.name}": overlay for overlay in sorted((root / "overlays").iterdir())
    }
    count = 0
    for label, path in targets.items():
        try:
            resources = await build(path)
        except pykustomize.KustomizeError as error:
            problem(label, f"kustomize build failed: {error}")
            continue
        count += len(resources)
        check_schemas(label, resources)
        check_services(label, resources)
        if label == "base":
            check_feeds_alike(resources)
    for line in problems:
        print(line)
    verdict = "FAILED" if problems else "ok"
    print(f"deploy/k8s: {len(targets)} builds ({', '.join(targets)}), {count} resources, "
          f"Kubernetes {KUBERNETES_VERSION} schemas: {verdict}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(Path(sys.argv[1]))))
