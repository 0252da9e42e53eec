#!/usr/bin/env python3
"""Static checks of edumon's deployment files.

kubectl, kubeconform and a Docker engine are not available on the machines
this project is built and tested on, so this script checks what a reviewer
would: every YAML document parses, Kubernetes objects have the fields the API
server requires, the pieces refer to each other correctly (selectors, ports,
ConfigMap/Secret keys, Services, StatefulSet serviceName), the probes point at
the contract's /readyz and /healthz on the port the API listens on, resources
and non-root security settings are set, only environment variables of the
contract are used, the compose file has what docs/deploy.md promises, Redis is
configured for durability, and the Dockerfile is a non-root multi-stage build
with a health check.

    python3 tests/deploy/validate.py [ROOT]          # check the repo (default: ..)
    python3 tests/deploy/validate.py --self-test     # break copies, expect failures
    python3 tests/deploy/validate.py --sync-redis-config  # copy deploy/redis.conf into
                                                          # the k8s redis-config ConfigMap

Exit status 0 when everything holds, 1 with one line per problem otherwise.
Needs PyYAML (Debian: python3-yaml); tests/deploy/run.sh installs it.
"""

import argparse
import copy
import os
import re
import shutil
import sys
import tempfile

try:
    import yaml
except ImportError:  # pragma: no cover - depends on the machine
    sys.exit("validate.py: PyYAML is missing (apt-get install python3-yaml)")

# The environment variables of the API contract (shared design api-v1.md),
# extended at start-up with every "EDUMON_..." string literal of the C sources
# (common/, api/, worker/: the variables the binaries really read, such as the
# worker's tuning knobs). Any other name in a manifest is a typo or drift.
CONTRACT_ENV = {
    "EDUMON_REDIS_URL",
    "EDUMON_LISTEN",
    "EDUMON_CATALOG",
    "EDUMON_WEB_DIR",
    "EDUMON_ADMIN_TOKEN",
    "EDUMON_READ_TOKEN",
}


def env_names_in_sources(root):
    """EDUMON_* names that appear as string literals in the C sources."""
    names = set()
    for sub in ("common", "api", "worker"):
        for dirpath, _, files in os.walk(os.path.join(root, sub)):
            for name in files:
                if name.endswith((".c", ".h")):
                    with open(os.path.join(dirpath, name), encoding="utf-8", errors="replace") as f:
                        names.update(re.findall(r'"(EDUMON_[A-Z0-9_]+)"', f.read()))
    return names
API_DRAIN_SECONDS = 10  # the API's drain after SIGTERM, per the contract
BINARIES = {"edumon-api", "edumon-worker"}

API_VERSIONS = {
    "Deployment": {"apps/v1"},
    "StatefulSet": {"apps/v1"},
    "Service": {"v1"},
    "ConfigMap": {"v1"},
    "Secret": {"v1"},
    "PodDisruptionBudget": {"policy/v1"},
    "NetworkPolicy": {"networking.k8s.io/v1"},
    "HorizontalPodAutoscaler": {"autoscaling/v2"},
    "Kustomization": {"kustomize.config.k8s.io/v1beta1"},
}
WORKLOADS = {"Deployment", "StatefulSet"}
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Report:
    """Collects problems; each is one line naming the file and the object."""

    def __init__(self):
        self.problems = []
        self.checks = 0

    def check(self, ok, where, message):
        self.checks += 1
        if not ok:
            self.problems.append(f"{where}: {message}")
        return ok


def load_yaml_documents(path, report):
    """All documents of a YAML file (None on a parse error, reported)."""
    try:
        with open(path, encoding="utf-8") as f:
            return [d for d in yaml.safe_load_all(f) if d is not None]
    except (OSError, yaml.YAMLError) as e:
        report.check(False, path, f"does not parse as YAML: {e}".replace("\n", " "))
        return None


def duration_seconds(value):
    """Compose durations ('20s', '1m30s', '500ms') in seconds; None if malformed."""
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, str):
        return None
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", value)
    if not parts or "".join(n + u for n, u in parts) != value:
        return None
    scale = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 0.000001}
    return sum(float(n) * scale[u] for n, u in parts)


def listen_port(listen):
    """Port of an EDUMON_LISTEN value like 0.0.0.0:8080 (None if malformed)."""
    m = re.match(r"^(?:\[[^\]]*\]|[^:\[\]]*):(\d+)$", str(listen))
    return int(m.group(1)) if m else None


def labels_match(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


# --------------------------------------------------------------- Kubernetes --


def check_k8s(k8s_dir, repo_root, report):
    files = sorted(f for f in os.listdir(k8s_dir) if f.endswith((".yaml", ".yml")))
    if not report.check(bool(files), k8s_dir, "no YAML files"):
        return
    objects = []  # (file, doc)
    for name in files:
        path = os.path.join(k8s_dir, name)
        docs = load_yaml_documents(path, report)
        for doc in docs or []:
            objects.append((path, doc))

    for path, doc in objects:
        check_object_shape(path, doc, report)

    def of_kind(kind):
        return [(p, d) for p, d in objects if isinstance(d, dict) and d.get("kind") == kind]

    config_maps = {d["metadata"]["name"]: d for _, d in of_kind("ConfigMap") if named(d)}
    secrets = {d["metadata"]["name"]: d for _, d in of_kind("Secret") if named(d)}
    services = {d["metadata"]["name"]: d for _, d in of_kind("Service") if named(d)}
    workloads = [(p, d) for p, d in objects if isinstance(d, dict) and d.get("kind") in WORKLOADS]

    for path, doc in workloads:
        check_workload(path, doc, config_maps, secrets, services, report)
    for path, doc in of_kind("Service"):
        check_service(path, doc, workloads, report)
    for path, doc in of_kind("PodDisruptionBudget"):
        check_selects_pods(path, doc, doc.get("spec", {}).get("selector", {}).get("matchLabels"),
                           workloads, report)
    for path, doc in of_kind("NetworkPolicy"):
        check_selects_pods(path, doc, doc.get("spec", {}).get("podSelector", {}).get("matchLabels"),
                           workloads, report)
    for path, doc in of_kind("Secret"):
        check_secret(path, doc, report)
    for path, doc in of_kind("ConfigMap"):
        check_config_map(path, doc, repo_root, report)
    for path, doc in of_kind("Kustomization"):
        check_kustomization(path, doc, k8s_dir, files, report)

    components = {}
    for path, doc in workloads:
        role = workload_role(doc)
        if role:
            components.setdefault(role, []).append((path, doc))
    for role in ("api", "worker", "redis"):
        report.check(role in components, k8s_dir, f"no workload runs the {role}")
    report.check(any(d.get("kind") == "StatefulSet" for _, d in components.get("redis", [])),
                 k8s_dir, "Redis should be a StatefulSet (with a PersistentVolumeClaim)")


def named(doc):
    return isinstance(doc.get("metadata"), dict) and isinstance(doc["metadata"].get("name"), str)


def where_of(path, doc):
    if not isinstance(doc, dict):
        return path
    name = doc.get("metadata", {}).get("name") if isinstance(doc.get("metadata"), dict) else None
    return f"{path}: {doc.get('kind', '?')}/{name or '?'}"


def check_object_shape(path, doc, report):
    where = where_of(path, doc)
    if not report.check(isinstance(doc, dict), path, "a document is not a mapping"):
        return
    kind = doc.get("kind")
    report.check(isinstance(doc.get("apiVersion"), str), where, "apiVersion is missing")
    if not report.check(isinstance(kind, str), where, "kind is missing"):
        return
    if kind in API_VERSIONS:
        report.check(doc.get("apiVersion") in API_VERSIONS[kind], where,
                     f"apiVersion {doc.get('apiVersion')!r} is not one of {sorted(API_VERSIONS[kind])}")
    else:
        report.check(False, where, f"unexpected kind {kind!r} (add it to the validator if meant)")
    if kind == "Kustomization":
        return
    meta = doc.get("metadata")
    if not report.check(isinstance(meta, dict) and isinstance(meta.get("name"), str), where,
                        "metadata.name is missing"):
        return
    report.check(bool(DNS_SUBDOMAIN.match(meta["name"])) and len(meta["name"]) <= 253, where,
                 "metadata.name is not a valid DNS name")
    report.check("namespace" not in meta, where,
                 "metadata.namespace is set: the manifests are namespace-less (-n at apply time)")


def workload_role(doc):
    """'api', 'worker' or 'redis' from the first container's command/image."""
    pod = doc.get("spec", {}).get("template", {}).get("spec", {})
    for c in pod.get("containers", []) or []:
        cmd = (c.get("command") or []) + (c.get("args") or [])
        image = str(c.get("image", ""))
        if cmd and cmd[0] == "edumon-worker":
            return "worker"
        if cmd and cmd[0] == "edumon-api":
            return "api"
        if is_edumon_image(image) and not cmd:
            return "api"  # the image's default command
        if image.split("/")[-1].startswith("redis:") or (cmd and cmd[0] == "redis-server"):
            return "redis"
    return None


def is_edumon_image(image):
    return image.split("/")[-1].split(":")[0].split("@")[0] == "edumon"


def check_workload(path, doc, config_maps, secrets, services, report):
    where = where_of(path, doc)
    spec = doc.get("spec")
    if not report.check(isinstance(spec, dict), where, "spec is missing"):
        return
    template = spec.get("template", {})
    labels = template.get("metadata", {}).get("labels", {}) or {}
    selector = spec.get("selector", {}).get("matchLabels", {}) or {}
    report.check(bool(selector), where, "spec.selector.matchLabels is missing")
    report.check(labels_match(selector, labels), where,
                 f"selector {selector} does not match the pod template labels {labels}")
    pod = template.get("spec")
    if not report.check(isinstance(pod, dict), where, "spec.template.spec is missing"):
        return
    containers = pod.get("containers")
    if not report.check(isinstance(containers, list) and containers, where, "no containers"):
        return

    role = workload_role(doc)
    replicas = spec.get("replicas", 1)
    report.check(isinstance(replicas, int) and replicas >= 0, where, "replicas is not a number")
    if role == "api":
        report.check(isinstance(replicas, int) and replicas >= 2, where,
                     f"the API needs >= 2 replicas for availability (has {replicas})")
    if role == "worker":
        report.check(isinstance(replicas, int) and replicas >= 2, where,
                     f"the workers should run >= 2 consumers (has {replicas})")

    if doc.get("kind") == "StatefulSet":
        svc = services.get(spec.get("serviceName"))
        report.check(svc is not None, where,
                     f"serviceName {spec.get('serviceName')!r} is not a Service here")
        if svc is not None:
            report.check(svc.get("spec", {}).get("clusterIP") == "None", where,
                         f"the governing Service {spec.get('serviceName')} should be headless")
        report.check(bool(spec.get("volumeClaimTemplates")), where,
                     "no volumeClaimTemplates: Redis data would not survive the pod")

    pod_sc = pod.get("securityContext", {}) or {}
    volumes = {v.get("name"): v for v in pod.get("volumes", []) or []}
    claim_names = {c.get("metadata", {}).get("name") for c in spec.get("volumeClaimTemplates", []) or []}
    for v in volumes.values():
        if "configMap" in v:
            report.check(v["configMap"].get("name") in config_maps, where,
                         f"volume {v.get('name')} uses ConfigMap {v['configMap'].get('name')!r}, not defined here")
        if "secret" in v:
            report.check(v["secret"].get("secretName") in secrets, where,
                         f"volume {v.get('name')} uses Secret {v['secret'].get('secretName')!r}, not defined here")

    grace = pod.get("terminationGracePeriodSeconds", 30)
    for c in containers:
        check_container(where, c, role, pod_sc, volumes, claim_names, config_maps, secrets, grace, report)


def check_container(where, c, role, pod_sc, volumes, claim_names, config_maps, secrets, grace, report):
    cwhere = f"{where} container {c.get('name', '?')}"
    report.check(bool(DNS_LABEL.match(str(c.get("name", "")))), cwhere, "container name missing or invalid")
    report.check(isinstance(c.get("image"), str) and c["image"], cwhere, "image is missing")

    res = c.get("resources", {}) or {}
    for part in ("requests", "limits"):
        for what in ("cpu", "memory"):
            report.check(what in (res.get(part) or {}), cwhere, f"resources.{part}.{what} is not set")

    sc = c.get("securityContext", {}) or {}
    report.check(sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is True, cwhere,
                 "runAsNonRoot is not true (pod or container securityContext)")
    uid = sc.get("runAsUser", pod_sc.get("runAsUser"))
    report.check(uid is None or (isinstance(uid, int) and uid != 0), cwhere, "runs as uid 0")
    report.check(sc.get("readOnlyRootFilesystem") is True, cwhere, "readOnlyRootFilesystem is not true")
    report.check(sc.get("allowPrivilegeEscalation") is False, cwhere, "allowPrivilegeEscalation is not false")

    ports = c.get("ports", []) or []
    port_names = {p.get("name"): p.get("containerPort") for p in ports if p.get("name")}
    port_numbers = {p.get("containerPort") for p in ports}

    for m in c.get("volumeMounts", []) or []:
        report.check(m.get("name") in volumes or m.get("name") in claim_names, cwhere,
                     f"volumeMount {m.get('name')!r} has no volume")

    env = c.get("env", []) or []
    env_values = {}
    edumon = is_edumon_image(str(c.get("image", "")))
    for e in env:
        name = e.get("name", "")
        report.check(bool(ENV_NAME.match(name)), cwhere, f"bad env name {name!r}")
        if edumon:
            report.check(name in CONTRACT_ENV, cwhere,
                         f"env {name} is not a variable of the API contract ({', '.join(sorted(CONTRACT_ENV))})")
        value_from = e.get("valueFrom")
        if value_from:
            env_values[name] = check_env_ref(cwhere, name, value_from, config_maps, secrets, report)
        else:
            env_values[name] = e.get("value")
    for ef in c.get("envFrom", []) or []:
        ref = ef.get("configMapRef") or ef.get("secretRef") or {}
        pool = config_maps if "configMapRef" in ef else secrets
        if report.check(ref.get("name") in pool or ref.get("optional") is True, cwhere,
                        f"envFrom refers to {ref.get('name')!r}, not defined here") and edumon:
            data = data_of(pool.get(ref.get("name"), {}))
            for key in data:
                report.check(key in CONTRACT_ENV, cwhere,
                             f"envFrom brings {key}, not a variable of the API contract")

    cmd = (c.get("command") or []) + (c.get("args") or [])
    if edumon:
        report.check(not cmd or cmd[0] in BINARIES, cwhere,
                     f"command {cmd[0] if cmd else ''!r} is neither of {sorted(BINARIES)}")
    if role == "api" and edumon:
        check_api_container(cwhere, c, env_values, port_names, port_numbers, grace, report)


def data_of(doc):
    return {**(doc.get("data") or {}), **(doc.get("stringData") or {})}


def check_env_ref(cwhere, name, value_from, config_maps, secrets, report):
    for ref_kind, pool, label in (("configMapKeyRef", config_maps, "ConfigMap"),
                                  ("secretKeyRef", secrets, "Secret")):
        ref = value_from.get(ref_kind)
        if ref is None:
            continue
        optional = ref.get("optional") is True
        obj = pool.get(ref.get("name"))
        if obj is None:
            report.check(optional, cwhere, f"env {name}: {label} {ref.get('name')!r} is not defined here")
            return None
        data = data_of(obj)
        report.check(ref.get("key") in data or optional, cwhere,
                     f"env {name}: {label} {ref.get('name')} has no key {ref.get('key')!r}")
        return data.get(ref.get("key"))
    report.check("fieldRef" in value_from or "resourceFieldRef" in value_from, cwhere,
                 f"env {name}: unknown valueFrom")
    return None


def check_api_container(cwhere, c, env_values, port_names, port_numbers, grace, report):
    listen = env_values.get("EDUMON_LISTEN")
    report.check(listen is not None, cwhere, "EDUMON_LISTEN is not set (the default listens on 127.0.0.1 only)")
    port = listen_port(listen) if listen is not None else None
    if listen is not None:
        report.check(port is not None, cwhere, f"EDUMON_LISTEN {listen!r} is not host:port")
        report.check(not str(listen).startswith("127.") and not str(listen).startswith("localhost"),
                     cwhere, f"EDUMON_LISTEN {listen!r} listens on loopback only: probes and the Service cannot reach it")
    report.check(port is None or port in port_numbers, cwhere,
                 f"EDUMON_LISTEN port {port} is not a containerPort ({sorted(port_numbers)})")

    def probe_port(probe):
        p = probe.get("httpGet", {}).get("port")
        return port_names.get(p) if isinstance(p, str) else p

    for probe_name, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        probe = c.get(probe_name)
        if not report.check(isinstance(probe, dict) and "httpGet" in probe, cwhere,
                            f"{probe_name} must be an httpGet on {path}"):
            continue
        report.check(probe["httpGet"].get("path") == path, cwhere,
                     f"{probe_name} asks {probe['httpGet'].get('path')!r}, expected {path}")
        pp = probe_port(probe)
        report.check(pp is not None and pp == port, cwhere,
                     f"{probe_name} port {probe['httpGet'].get('port')!r} is not the API's port {port}")
    startup = c.get("startupProbe")
    if isinstance(startup, dict) and "httpGet" in startup:
        report.check(probe_port(startup) == port, cwhere, "startupProbe is not on the API's port")

    pre_stop = 0
    cmd = c.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command") or []
    if len(cmd) == 2 and cmd[0] == "sleep":
        pre_stop = float(cmd[1])
    report.check(isinstance(grace, int) and grace >= pre_stop + API_DRAIN_SECONDS + 5, cwhere,
                 f"terminationGracePeriodSeconds {grace} < preStop {pre_stop:g} s + drain "
                 f"{API_DRAIN_SECONDS} s + 5 s margin")


def check_service(path, doc, workloads, report):
    where = where_of(path, doc)
    spec = doc.get("spec", {}) or {}
    selector = spec.get("selector") or {}
    if not report.check(bool(selector), where, "Service without a selector"):
        return
    matched = [d for _, d in workloads
               if labels_match(selector, d.get("spec", {}).get("template", {}).get("metadata", {}).get("labels") or {})]
    if not report.check(bool(matched), where, f"selector {selector} matches no workload's pods"):
        return
    ports = spec.get("ports") or []
    report.check(bool(ports), where, "Service has no ports")
    for p in ports:
        target = p.get("targetPort", p.get("port"))
        found = False
        for d in matched:
            for c in d["spec"]["template"]["spec"].get("containers", []) or []:
                for cp in c.get("ports", []) or []:
                    if target in (cp.get("name"), cp.get("containerPort")):
                        found = True
        report.check(found, where, f"targetPort {target!r} is no containerPort of the selected pods")


def check_selects_pods(path, doc, selector, workloads, report):
    where = where_of(path, doc)
    matched = selector and any(
        labels_match(selector, d.get("spec", {}).get("template", {}).get("metadata", {}).get("labels") or {})
        for _, d in workloads)
    report.check(bool(matched), where, f"selector {selector} matches no workload's pods")


def check_secret(path, doc, report):
    where = where_of(path, doc)
    data = data_of(doc)
    for key, value in data.items():
        report.check("REPLACE-ME" in str(value), where,
                     f"key {key} holds what looks like a real secret: the file may only hold "
                     "placeholders marked REPLACE-ME")


def check_config_map(path, doc, repo_root, report):
    where = where_of(path, doc)
    data = doc.get("data") or {}
    if "redis.conf" in data:
        conf_path = os.path.join(repo_root, "deploy", "redis.conf")
        try:
            with open(conf_path, encoding="utf-8") as f:
                same = f.read() == data["redis.conf"]
        except OSError:
            same = False
        report.check(same, where, "redis.conf differs from deploy/redis.conf (keep one configuration: "
                     "tests/deploy/validate.py --sync-redis-config copies it)")
        check_redis_conf_text(where, data["redis.conf"], report)
    for key, value in data.items():
        if key.startswith("EDUMON_"):
            report.check(key in CONTRACT_ENV, where, f"key {key} is not a variable of the API contract")
        if key == "EDUMON_LISTEN":
            report.check(listen_port(value) is not None, where, f"EDUMON_LISTEN {value!r} is not host:port")
        if key == "EDUMON_REDIS_URL":
            report.check(re.match(r"^(redis|rediss|unix)://", str(value)) is not None, where,
                         f"EDUMON_REDIS_URL {value!r} is not a redis:// or unix:// URL")


def check_kustomization(path, doc, k8s_dir, files, report):
    where = where_of(path, doc)
    resources = doc.get("resources") or []
    for r in resources:
        report.check(os.path.exists(os.path.join(k8s_dir, r)), where, f"resource {r} does not exist")
    for f in files:
        if f in ("kustomization.yaml", "kustomization.yml"):
            continue
        if f.startswith("secret"):
            report.check(f not in resources, where,
                         f"{f} holds placeholders and must not be applied by kustomization")
        else:
            report.check(f in resources, where, f"{f} is not listed in resources")


# ------------------------------------------------------------------- Redis --


def redis_directives(text):
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition(" ")
        out.setdefault(key.lower(), []).append(value.strip().strip('"'))
    return out


def check_redis_conf_text(where, text, report):
    d = redis_directives(text)

    def last(key):
        return d.get(key, [None])[-1]

    report.check(last("appendonly") == "yes", where, "appendonly is not yes (the stream must survive restarts)")
    report.check(last("appendfsync") in ("everysec", "always"), where,
                 f"appendfsync {last('appendfsync')!r}: use everysec or always")
    report.check(last("maxmemory") not in (None, "0"), where, "maxmemory is not set")
    report.check(last("maxmemory-policy") == "noeviction", where,
                 f"maxmemory-policy {last('maxmemory-policy')!r}: must be noeviction (eviction loses queued data silently)")
    report.check(last("dir") is not None, where, "dir is not set")


def check_redis_conf(repo_root, report):
    path = os.path.join(repo_root, "deploy", "redis.conf")
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        report.check(False, path, f"cannot read: {e}")
        return
    check_redis_conf_text(path, text, report)
    report.check(redis_directives(text).get("dir", [None])[-1] == "/data", path,
                 "dir must be /data (the volume in compose and Kubernetes)")


# ----------------------------------------------------------------- Compose --


def compose_env(service):
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return env


def read_env_file(path):
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line.startswith("#") and "=" in line:
                line = line.lstrip("# ")  # documented, commented-out variables count too
                if not ENV_NAME.match(line.split("=", 1)[0]):
                    continue
            elif not line or line.startswith("#"):
                continue
            key, _, value = line.partition("=")
            out[key.strip()] = value
    return out


def check_compose(repo_root, report):
    path = os.path.join(repo_root, "deploy", "docker-compose.yml")
    compose_dir = os.path.dirname(path)
    docs = load_yaml_documents(path, report)
    if docs is None:
        return
    if not report.check(len(docs) == 1 and isinstance(docs[0], dict), path, "expected one mapping"):
        return
    doc = docs[0]
    services = doc.get("services") or {}
    if not report.check(isinstance(services, dict) and services, path, "no services"):
        return
    named_volumes = doc.get("volumes") or {}

    def role_of(svc):
        cmd = svc.get("command")
        cmd = cmd.split() if isinstance(cmd, str) else (cmd or [])
        image = str(svc.get("image", ""))
        if image.startswith("redis:") or image.split("/")[-1].startswith("redis:"):
            return "redis"
        if is_edumon_image(image) or "build" in svc:
            return "worker" if cmd and cmd[0] == "edumon-worker" else "api"
        return None

    roles = {}
    for name, svc in services.items():
        roles.setdefault(role_of(svc), []).append((name, svc))

    for role in ("redis", "api", "worker"):
        report.check(role in roles, path, f"no {role} service")

    for name, svc in roles.get("redis", []):
        where = f"{path}: service {name}"
        report.check(str(svc.get("image", "")).split("/")[-1].startswith("redis:7"), where,
                     "Redis should be the official redis:7 image")
        cmd = svc.get("command") or []
        cmd = cmd.split() if isinstance(cmd, str) else cmd
        mounts = {}
        data_volume = False
        for v in svc.get("volumes") or []:
            if isinstance(v, str):
                parts = v.split(":")
                src, dst = parts[0], parts[1] if len(parts) > 1 else parts[0]
            else:
                src, dst = v.get("source"), v.get("target")
            mounts[dst] = src
            if dst == "/data":
                data_volume = src in named_volumes
        conf_args = [a for a in cmd if a.endswith(".conf")]
        report.check(bool(conf_args) and conf_args[0] in mounts, where,
                     "redis-server is not started with the mounted redis.conf")
        if conf_args and conf_args[0] in mounts:
            src = mounts[conf_args[0]]
            report.check(os.path.exists(os.path.join(compose_dir, src)), where, f"{src} does not exist")
            report.check(os.path.normpath(os.path.join(compose_dir, src)) ==
                         os.path.normpath(os.path.join(repo_root, "deploy", "redis.conf")), where,
                         "the mounted configuration is not deploy/redis.conf")
        report.check(data_volume, where, "/data is not a named volume declared under volumes:")
        report.check("healthcheck" in svc, where, "no healthcheck (others wait for service_healthy)")
        report.check("ports" not in svc, where, "Redis should not be published (no password)")

    for role in ("api", "worker"):
        for name, svc in roles.get(role, []):
            check_compose_edumon(path, compose_dir, name, svc, role, services, report)

    workers = sum(int((svc.get("deploy") or {}).get("replicas", 1)) for _, svc in roles.get("worker", []))
    report.check(workers >= 2, path, f"{workers} worker(s): the compose file should run two")


def check_compose_edumon(path, compose_dir, name, svc, role, services, report):
    where = f"{path}: service {name}"
    env = compose_env(svc)
    for key in env:
        report.check(key in CONTRACT_ENV, where, f"environment {key} is not a variable of the API contract")
    env_files = svc.get("env_file") or []
    env_files = [env_files] if isinstance(env_files, str) else env_files
    for ef in env_files:
        ef = ef.get("path") if isinstance(ef, dict) else ef
        example = os.path.join(compose_dir, ef + ".example")
        if report.check(os.path.exists(example), where, f"env_file {ef} has no documented {ef}.example"):
            for key in read_env_file(example):
                report.check(key in CONTRACT_ENV, f"{example}", f"{key} is not a variable of the API contract")
    report.check("EDUMON_REDIS_URL" in env, where, "EDUMON_REDIS_URL is not set")
    url = str(env.get("EDUMON_REDIS_URL", ""))
    host = re.sub(r"^redis://(?:[^@]*@)?([^:/]+).*$", r"\1", url)
    report.check(host in services, where, f"EDUMON_REDIS_URL host {host!r} is not a service")

    deps = svc.get("depends_on") or {}
    redis_names = [n for n, s in services.items() if str(s.get("image", "")).split("/")[-1].startswith("redis:")]
    for rn in redis_names:
        cond = deps.get(rn, {}).get("condition") if isinstance(deps, dict) else None
        report.check(cond == "service_healthy", where, f"depends_on {rn} without condition: service_healthy")
    report.check("healthcheck" in svc, where, "no healthcheck")
    report.check(svc.get("read_only") is True, where, "read_only root filesystem is not set")
    report.check(svc.get("stop_signal", "SIGTERM") == "SIGTERM", where, "stop_signal is not SIGTERM")
    grace = duration_seconds(svc.get("stop_grace_period", "10s"))
    needed = API_DRAIN_SECONDS * 1.5 if role == "api" else API_DRAIN_SECONDS
    report.check(grace is not None and grace >= needed, where,
                 f"stop_grace_period {svc.get('stop_grace_period')!r} is shorter than the drain "
                 f"({API_DRAIN_SECONDS} s) plus margin ({needed:g} s)")
    report.check("container_name" not in svc, where, "container_name prevents scaling")

    if role == "api":
        listen = env.get("EDUMON_LISTEN")
        port = listen_port(listen) if listen else None
        report.check(port is not None and not str(listen).startswith("127."), where,
                     f"EDUMON_LISTEN {listen!r} must be 0.0.0.0:PORT in a container")
        published = []
        for p in svc.get("ports") or []:
            if isinstance(p, dict):
                published.append((p.get("published"), p.get("target")))
            else:
                parts = str(p).split(":")
                published.append((parts[-2] if len(parts) > 1 else None, parts[-1].split("/")[0]))
        report.check(any(str(t) == str(port) for _, t in published), where,
                     f"the API's port {port} is not published (ports: {svc.get('ports')})")
        report.check(any(str(pub) == "8080" for pub, _ in published), where,
                     "port 8080 is not published on the host (the quick start uses it)")
        hc = svc.get("healthcheck", {}).get("test") or []
        hc_text = " ".join(hc) if isinstance(hc, list) else str(hc)
        report.check("healthcheck" in hc_text or "/healthz" in hc_text, where,
                     "the API's healthcheck does not use /healthz (edumon-healthcheck)")


# -------------------------------------------------------------- Dockerfile --


def dockerfile_instructions(text):
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    out, current = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if current and line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        instr, _, args = current.strip().partition(" ")
        out.append((instr.upper(), args.strip()))
        current = ""
    if current:
        instr, _, args = current.strip().partition(" ")
        out.append((instr.upper(), args.strip()))
    return out


def check_dockerfile(repo_root, report):
    path = os.path.join(repo_root, "Dockerfile")
    try:
        with open(path, encoding="utf-8") as f:
            instructions = dockerfile_instructions(f.read())
    except OSError as e:
        report.check(False, path, f"cannot read: {e}")
        return

    args = {}
    stages = []  # list of lists of instructions
    for instr, rest in instructions:
        if instr == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name.strip()] = default.strip()
        if instr == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((instr, rest))

    def base_of(stage):
        image = stage[0][1].split()[0]
        return re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), image)

    if not report.check(len(stages) >= 2, path, f"{len(stages)} stage(s): must be a multi-stage build"):
        return
    for i, stage in enumerate(stages):
        report.check(base_of(stage).split("/")[-1] in ("debian:bookworm-slim",), path,
                     f"stage {i + 1} is FROM {base_of(stage)}, expected debian:bookworm-slim")
    final = stages[-1]
    final_text = "\n".join(f"{i} {r}" for i, r in final)
    report.check(any(i == "COPY" and "--from=" in r for i, r in final), path,
                 "the final stage copies nothing from the build stage")
    installs = " ".join(r for i, r in final if i == "RUN" and "apt-get install" in r).split()
    tools = sorted({w for w in installs if w.endswith("-dev") or w in ("build-essential", "cmake", "gcc", "make")})
    report.check(not tools, path, f"the runtime stage installs build tools: {' '.join(tools)}")
    users = [r for i, r in final if i == "USER"]
    report.check(bool(users), path, "the final stage has no USER (it would run as root)")
    if users:
        user = users[-1].split(":")[0]
        report.check(user not in ("root", "0"), path, f"the final USER is {user} (root)")
    hcs = [r for i, r in final if i == "HEALTHCHECK"]
    report.check(bool(hcs) and not hcs[-1].upper().startswith("NONE"), path, "the final stage has no HEALTHCHECK")
    if hcs:
        hc = hcs[-1]
        mentions = "/healthz" in hc
        script = re.search(r"(/usr/local/bin/edumon-healthcheck)", hc)
        if script and not mentions:
            src = [r for i, r in final if i == "COPY" and r.split()[-1] == script.group(1)]
            if src:
                script_path = os.path.join(repo_root, src[-1].split()[-2])
                try:
                    with open(script_path, encoding="utf-8") as f:
                        mentions = "/healthz" in f.read()
                except OSError:
                    report.check(False, path, f"HEALTHCHECK script {script_path} is missing")
        report.check(mentions, path, "the HEALTHCHECK does not ask /healthz")
    report.check(any(i == "STOPSIGNAL" and r == "SIGTERM" for i, r in final), path, "STOPSIGNAL SIGTERM is missing")
    report.check(any(i == "EXPOSE" and "8080" in r.split() for i, r in final), path, "EXPOSE 8080 is missing")
    cmds = [r for i, r in final if i == "CMD"]
    report.check(bool(cmds) and "edumon-api" in cmds[-1], path, "the default CMD is not edumon-api")
    report.check(not any(i == "ENTRYPOINT" for i, r in final), path,
                 "an ENTRYPOINT would make `edumon-worker` as the command fail")
    envs = " ".join(r for i, r in final if i == "ENV")
    report.check("EDUMON_LISTEN=0.0.0.0:" in envs, path, "ENV EDUMON_LISTEN=0.0.0.0:8080 is missing")
    for m in re.finditer(r"\b(EDUMON_\w+)=", envs):
        report.check(m.group(1) in CONTRACT_ENV, path, f"ENV {m.group(1)} is not a variable of the API contract")
        report.check("TOKEN" not in m.group(1), path, f"ENV {m.group(1)}: tokens must not be baked into the image")
    report.check(re.search(r"\bcurl\b|\bwget\b", final_text) is None, path,
                 "curl/wget in the runtime stage (the health check needs neither)")

    check_dockerignore(repo_root, report)


def check_dockerignore(repo_root, report):
    path = os.path.join(repo_root, ".dockerignore")
    try:
        with open(path, encoding="utf-8") as f:
            rules = [l.strip() for l in f if l.strip() and not l.strip().startswith("#")]
    except OSError as e:
        report.check(False, path, f"cannot read: {e}")
        return

    def ignored(rel):
        """Docker's rule: the last matching pattern wins; '!' re-includes."""
        result = False
        for rule in rules:
            negate = rule.startswith("!")
            pattern = rule[1:] if negate else rule
            pattern = pattern.rstrip("/").lstrip("/")
            regex = re.escape(pattern).replace(r"\*\*/", "(.*/)?").replace(r"\*\*", ".*") \
                .replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
            # A pattern matching a directory excludes everything below it.
            if re.fullmatch(regex + "(/.*)?", rel):
                result = not negate
        return result

    for must in (".git", "build", "build/bin/edumon-api", "web/node_modules/x", "deploy/.env", ".env"):
        report.check(ignored(must), path, f"{must} is not excluded from the build context")
    for need in ("CMakeLists.txt", "common/x.c", "api/x.c", "worker/x.c",
                 "deploy/catalog/districts.json", "deploy/healthcheck.sh", "web/index.html", "Dockerfile"):
        report.check(not ignored(need), path, f"{need} is excluded but the image build needs it")


# --------------------------------------------------------------- Self-test --


def validate(root):
    report = Report()
    check_dockerfile(root, report)
    check_redis_conf(root, report)
    check_compose(root, report)
    check_k8s(os.path.join(root, "deploy", "k8s"), root, report)
    prefix = os.path.join(os.path.abspath(root), "")
    report.problems = [p.replace(prefix, "") for p in report.problems]
    return report


def _yaml_edit(relpath, doc_index, fn):
    def apply(root):
        path = os.path.join(root, relpath)
        with open(path, encoding="utf-8") as f:
            docs = list(yaml.safe_load_all(f))
        fn(docs[doc_index])
        with open(path, "w", encoding="utf-8") as f:
            yaml.safe_dump_all(docs, f, sort_keys=False, allow_unicode=True)
    return apply


def _text_edit(relpath, old, new, count=1):
    def apply(root):
        path = os.path.join(root, relpath)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if old not in text:
            raise AssertionError(f"self-test mutation: {old!r} not in {relpath}")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text.replace(old, new, count))
    return apply


def _api(doc):
    return doc["spec"]["template"]["spec"]["containers"][0]


MUTATIONS = [
    ("API with one replica", _yaml_edit("deploy/k8s/api.yaml", 0, lambda d: d["spec"].update(replicas=1))),
    ("readiness probe on the wrong path",
     _yaml_edit("deploy/k8s/api.yaml", 0, lambda d: _api(d)["readinessProbe"]["httpGet"].update(path="/ready"))),
    ("liveness probe on /readyz",
     _yaml_edit("deploy/k8s/api.yaml", 0, lambda d: _api(d)["livenessProbe"]["httpGet"].update(path="/readyz"))),
    ("liveness probe on the wrong port",
     _yaml_edit("deploy/k8s/api.yaml", 0, lambda d: _api(d)["livenessProbe"]["httpGet"].update(port=9090))),
    ("worker without resources",
     _yaml_edit("deploy/k8s/worker.yaml", 0, lambda d: _api(d).pop("resources"))),
    ("API container without image",
     _yaml_edit("deploy/k8s/api.yaml", 0, lambda d: _api(d).pop("image"))),
    ("selector does not match template labels",
     _yaml_edit("deploy/k8s/worker.yaml", 0,
                lambda d: d["spec"]["selector"]["matchLabels"].update({"app.kubernetes.io/component": "wrk"}))),
    ("Service selects no pods",
     _yaml_edit("deploy/k8s/api.yaml", 1, lambda d: d["spec"]["selector"].update({"app.kubernetes.io/component": "web"}))),
    ("Service targets a missing port",
     _yaml_edit("deploy/k8s/api.yaml", 1, lambda d: d["spec"]["ports"][0].update(targetPort="web"))),
    ("env name not in the contract",
     _yaml_edit("deploy/k8s/api.yaml", 0, lambda d: _api(d)["env"][0].update(name="EDUMON_REDIS_URI"))),
    ("secretKeyRef to a missing Secret",
     _yaml_edit("deploy/k8s/api.yaml", 0,
                lambda d: _api(d)["env"][2]["valueFrom"]["secretKeyRef"].update(name="edumon-secrets"))),
    ("configMapKeyRef to a missing key",
     _yaml_edit("deploy/k8s/worker.yaml", 0,
                lambda d: _api(d)["env"][0]["valueFrom"]["configMapKeyRef"].update(key="REDIS_URL"))),
    ("API container runs as root",
     _yaml_edit("deploy/k8s/api.yaml", 0, lambda d: d["spec"]["template"]["spec"]["securityContext"].update(
         runAsNonRoot=False, runAsUser=0))),
    ("writable root filesystem",
     _yaml_edit("deploy/k8s/worker.yaml", 0, lambda d: _api(d)["securityContext"].update(readOnlyRootFilesystem=False))),
    ("grace period shorter than the drain",
     _yaml_edit("deploy/k8s/api.yaml", 0, lambda d: d["spec"]["template"]["spec"].update(terminationGracePeriodSeconds=5))),
    ("ConfigMap listens on another port",
     _yaml_edit("deploy/k8s/configmap.yaml", 0, lambda d: d["data"].update(EDUMON_LISTEN="0.0.0.0:9000"))),
    ("StatefulSet without volumeClaimTemplates",
     _yaml_edit("deploy/k8s/redis.yaml", 2, lambda d: d["spec"].pop("volumeClaimTemplates"))),
    ("StatefulSet serviceName not a Service",
     _yaml_edit("deploy/k8s/redis.yaml", 2, lambda d: d["spec"].update(serviceName="redis-headless"))),
    ("Redis ConfigMap out of sync with deploy/redis.conf",
     _text_edit("deploy/k8s/redis.yaml", "maxmemory 512mb", "maxmemory 256mb")),
    ("object without apiVersion", _yaml_edit("deploy/k8s/configmap.yaml", 0, lambda d: d.pop("apiVersion"))),
    ("object with a namespace",
     _yaml_edit("deploy/k8s/worker.yaml", 1, lambda d: d["metadata"].update(namespace="default"))),
    ("PDB selects nothing",
     _yaml_edit("deploy/k8s/worker.yaml", 1, lambda d: d["spec"]["selector"]["matchLabels"].update(
         {"app.kubernetes.io/component": "workers"}))),
    ("real-looking value in secret.yaml",
     _yaml_edit("deploy/k8s/secret.yaml", 0, lambda d: d["stringData"].update({"admin-token": "s3cr3t"}))),
    ("YAML syntax error", _text_edit("deploy/k8s/worker.yaml", "replicas: 2", "replicas: [2")),
    ("kustomization misses a file", _text_edit("deploy/k8s/kustomization.yaml", "  - worker.yaml\n", "")),
    ("redis.conf without AOF", _text_edit("deploy/redis.conf", "appendonly yes", "appendonly no")),
    ("redis.conf evicts keys",
     _text_edit("deploy/redis.conf", "maxmemory-policy noeviction", "maxmemory-policy allkeys-lru")),
    ("compose: workers without service_healthy",
     _yaml_edit("deploy/docker-compose.yml", 0,
                lambda d: d["services"]["worker"]["depends_on"]["redis"].update(condition="service_started"))),
    ("compose: one worker",
     _yaml_edit("deploy/docker-compose.yml", 0, lambda d: d["services"]["worker"]["deploy"].update(replicas=1))),
    ("compose: env not in the contract",
     _yaml_edit("deploy/docker-compose.yml", 0,
                lambda d: d["services"]["api"]["environment"].update(EDUMON_PORT="8080"))),
    ("compose: grace shorter than the drain",
     _yaml_edit("deploy/docker-compose.yml", 0, lambda d: d["services"]["api"].update(stop_grace_period="5s"))),
    ("compose: API port not published",
     _yaml_edit("deploy/docker-compose.yml", 0, lambda d: d["services"]["api"].update(ports=["9090:9090"]))),
    ("compose: Redis data not on a volume",
     _yaml_edit("deploy/docker-compose.yml", 0, lambda d: d["services"]["redis"].update(
         volumes=["./redis.conf:/usr/local/etc/redis/redis.conf:ro"]))),
    ("compose: listens on loopback",
     _yaml_edit("deploy/docker-compose.yml", 0,
                lambda d: d["services"]["api"]["environment"].update(EDUMON_LISTEN="127.0.0.1:8080"))),
    ("Dockerfile runs as root", _text_edit("Dockerfile", "USER 10001:10001", "USER root")),
    ("Dockerfile without USER", _text_edit("Dockerfile", "USER 10001:10001", "")),
    ("Dockerfile without HEALTHCHECK", _text_edit("Dockerfile", "HEALTHCHECK ", "# HEALTHCHECK ")),
    ("Dockerfile single stage", _text_edit("Dockerfile", "FROM ${DEBIAN_IMAGE} AS build", "# no build stage")),
    ("Dockerfile installs -dev packages at runtime",
     _text_edit("Dockerfile", "--no-upgrade $(cat /tmp/runtime-packages)",
                "--no-upgrade libevent-dev $(cat /tmp/runtime-packages)")),
    ("Dockerfile bakes in a token",
     _text_edit("Dockerfile", "ENV EDUMON_LISTEN=0.0.0.0:8080", "ENV EDUMON_ADMIN_TOKEN=x EDUMON_LISTEN=0.0.0.0:8080")),
    (".dockerignore lets .git in", _text_edit(".dockerignore", "\n.git\n", "\n")),
    (".dockerignore drops the catalog", _text_edit(".dockerignore", "!deploy/catalog\n", "")),
]


def self_test(root):
    """Each mutation of a fresh copy must fail validation; the copy must pass."""
    root = os.path.abspath(root)
    items = ["Dockerfile", ".dockerignore", "deploy"]
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="edumon-validate-") as tmp:
        def fresh():
            target = os.path.join(tmp, "root")
            shutil.rmtree(target, ignore_errors=True)
            os.makedirs(target)
            for item in items:
                src = os.path.join(root, item)
                if os.path.isdir(src):
                    shutil.copytree(src, os.path.join(target, item),
                                    ignore=shutil.ignore_patterns("catalog", ".env"))
                else:
                    shutil.copy2(src, os.path.join(target, item))
            return target

        baseline = validate(fresh())
        if baseline.problems:
            print("self-test: FAIL the unmodified copy does not validate:")
            for p in baseline.problems:
                print("  " + p)
            failed += 1
        else:
            passed += 1
        for name, mutate in MUTATIONS:
            target = fresh()
            try:
                mutate(target)
            except (AssertionError, KeyError, IndexError) as e:
                print(f"self-test: FAIL cannot apply mutation {name!r}: {e}")
                failed += 1
                continue
            report = validate(target)
            if report.problems:
                passed += 1
                print(f"self-test: ok   {name}: {report.problems[0]}")
            else:
                failed += 1
                print(f"self-test: FAIL {name}: the broken copy validated")
    print(f"self-test: {passed} passed, {failed} failed")
    return 1 if failed else 0


def sync_redis_config(root):
    """Rewrite the redis.conf block of deploy/k8s/redis.yaml from deploy/redis.conf."""
    path = os.path.join(root, "deploy", "k8s", "redis.yaml")
    with open(os.path.join(root, "deploy", "redis.conf"), encoding="utf-8") as f:
        conf = f.read()
    with open(path, encoding="utf-8") as f:
        text = f.read()
    marker = "  redis.conf: |\n"
    start = text.index(marker) + len(marker)
    end = text.index("---\n", start)
    body = "".join("    " + line if line.strip() else "\n" for line in conf.splitlines(True))
    with open(path, "w", encoding="utf-8") as f:
        f.write(text[:start] + body + text[end:])
    print(f"validate: wrote deploy/redis.conf into {path}")
    return 0


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", nargs="?", default=os.path.normpath(os.path.join(here, "..", "..")),
                        help="repository root (default: this script's repo)")
    parser.add_argument("--self-test", action="store_true",
                        help="check that deliberately broken copies fail validation")
    parser.add_argument("--sync-redis-config", action="store_true",
                        help="copy deploy/redis.conf into the ConfigMap of deploy/k8s/redis.yaml")
    opts = parser.parse_args()
    CONTRACT_ENV.update(env_names_in_sources(opts.root))
    if opts.sync_redis_config:
        return sync_redis_config(opts.root)
    if opts.self_test:
        return self_test(opts.root)
    report = validate(os.path.abspath(opts.root))
    for p in report.problems:
        print(f"validate: {p}")
    print(f"validate: {report.checks - len(report.problems)} passed, {len(report.problems)} failed")
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
