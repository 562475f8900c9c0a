"""The Kubernetes manifests: valid for a current Kubernetes, and wired to each other."""

import ast
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import Bake, BakedProject, tool
from tests.matrix import row_id, rows_where_defaults_hold
from tests.service import graceful_timeout, image_command

# The workflow is no part of the manifests; metrics and tracing are.
ROWS = [
    pytest.param(row, id=row_id(row))
    for row in rows_where_defaults_hold("github_actions")
    if row["kubernetes"]
]
MANIFESTS = Path("deploy/kubernetes")


def manifests(project: BakedProject) -> dict[str, Any]:
    """Every manifest but the kustomization, by kind."""
    documents = {}
    for path in sorted((project.path / MANIFESTS).glob("*.yaml")):
        if path.name != "kustomization.yaml":
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
            documents[document["kind"]] = document
    return documents


@pytest.fixture(params=ROWS)
def project(request: pytest.FixtureRequest, bake: Bake) -> BakedProject:
    return bake(**request.param)


def test_manifests_validate_against_kubernetes(project: BakedProject) -> None:
    files = [str(MANIFESTS / path.name) for path in (project.path / MANIFESTS).glob("*.yaml")]
    files.remove(str(MANIFESTS / "kustomization.yaml"))
    project.run(tool("kubernetes-validate"), "--strict", "--quiet", *files)


def test_kustomization_lists_every_manifest(project: BakedProject) -> None:
    kustomization = yaml.safe_load(project.read(f"{MANIFESTS}/kustomization.yaml"))
    on_disk = {p.name for p in (project.path / MANIFESTS).glob("*.yaml")}
    assert set(kustomization["resources"]) == on_disk - {"kustomization.yaml"}
    [image] = kustomization["images"]
    assert image["name"] == project.path.name


def test_job_and_deployment_run_the_same_image(project: BakedProject) -> None:
    documents = manifests(project)
    pod = documents["Deployment"]["spec"]["template"]["spec"]
    job_pod = documents["Job"]["spec"]["template"]["spec"]
    images = {c["image"] for c in pod["containers"] + pod["initContainers"] + job_pod["containers"]}
    assert images == {project.path.name}
    assert job_pod["containers"][0]["command"] == ["alembic", "upgrade", "head"]


def test_new_pods_wait_for_the_schema(project: BakedProject) -> None:
    pod = manifests(project)["Deployment"]["spec"]["template"]["spec"]
    [wait] = pod["initContainers"]
    # What test_migrations runs: it waits behind the head, not past it.
    assert wait["command"] == ["python", "-m", "app.schema_revision"]
    # And the README's rollback names this Deployment.
    name = manifests(project)["Deployment"]["metadata"]["name"]
    assert f"`kubectl rollout undo deployment/{name}`" in project.read("README.md")


def test_probes_hit_a_path_the_app_serves(project: BakedProject) -> None:
    served = set(re.findall(r'@router\.get\("([^"]+)"', project.read("app/routers/health.py")))
    [api] = manifests(project)["Deployment"]["spec"]["template"]["spec"]["containers"]
    for probe in ("readinessProbe", "livenessProbe"):
        assert api[probe]["httpGet"]["path"] in served
        assert api[probe]["httpGet"]["port"] in {p["name"] for p in api["ports"]}


def test_readiness_asks_the_database_and_liveness_does_not(project: BakedProject) -> None:
    [api] = manifests(project)["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert api["readinessProbe"]["httpGet"]["path"] == "/health"
    live = api["livenessProbe"]["httpGet"]["path"]
    assert live != "/health"
    # The route behind the liveness probe takes no parameters, so no database session (the
    # generated suite checks that it answers while the database is down).
    tree = ast.parse(project.read("app/routers/health.py"))
    [handler] = [
        node
        for node in tree.body
        if isinstance(node, ast.AsyncFunctionDef)
        for decorator in node.decorator_list
        if isinstance(decorator, ast.Call) and ast.literal_eval(decorator.args[0]) == live
    ]
    assert not handler.args.args


def test_a_stopping_pod_drains_before_it_is_killed(project: BakedProject) -> None:
    pod = manifests(project)["Deployment"]["spec"]["template"]["spec"]
    [api] = pod["containers"]
    pause_command = api["lifecycle"]["preStop"]["exec"]["command"]
    assert pause_command[0] == "sleep"
    pause = float(pause_command[1])
    assert pause >= 3  # endpoints and load balancers need a moment to drop the pod
    # The Deployment runs the image's CMD, whose uvicorn has a graceful timeout.
    assert "command" not in api
    graceful = graceful_timeout(image_command(project))
    assert pod["terminationGracePeriodSeconds"] > pause + graceful


def test_service_hpa_and_budget_select_the_deployment(project: BakedProject) -> None:
    documents = manifests(project)
    deployment = documents["Deployment"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert documents["Service"]["spec"]["selector"].items() <= labels.items()
    assert documents["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"].items() <= (
        labels.items()
    )
    target = documents["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    assert deployment["spec"]["replicas"] >= 2


def test_pods_are_locked_down_and_sized(project: BakedProject) -> None:
    documents = manifests(project)
    for pod in (
        documents["Deployment"]["spec"]["template"]["spec"],
        documents["Job"]["spec"]["template"]["spec"],
    ):
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in pod["containers"] + pod.get("initContainers", []):
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert container["resources"]["requests"]
            assert container["resources"]["limits"]["memory"]
            assert {m["mountPath"] for m in container["volumeMounts"]} == {"/tmp"}


def test_settings_come_from_a_configmap_and_a_secret_by_name(project: BakedProject) -> None:
    documents = manifests(project)
    assert "Secret" not in documents
    assert not {"SECRET_KEY", "DATABASE_PASSWORD", "DATABASE_URL"} & set(
        documents["ConfigMap"]["data"]
    )
    [api] = documents["Deployment"]["spec"]["template"]["spec"]["containers"]
    sources = {next(iter(source)): next(iter(source.values()))["name"] for source in api["envFrom"]}
    assert sources["configMapRef"] == documents["ConfigMap"]["metadata"]["name"]
    assert sources["secretRef"] == f"{project.path.name}-secrets"


def test_prometheus_is_told_to_scrape_the_pods_only_with_metrics(project: BakedProject) -> None:
    documents = manifests(project)
    annotations = documents["Service"]["metadata"].get("annotations", {})
    if not project.context["metrics"]:
        assert not [key for key in annotations if key.startswith("prometheus.io/")]
        return
    [api] = documents["Deployment"]["spec"]["template"]["spec"]["containers"]
    [port] = [p["containerPort"] for p in api["ports"] if p["name"] == "http"]
    assert annotations == {
        "prometheus.io/scrape": "true",
        "prometheus.io/path": "/metrics",
        "prometheus.io/port": str(port),
    }
    assert documents["Service"]["spec"].get("type", "ClusterIP") == "ClusterIP"


def test_pods_log_json_and_name_their_traces(project: BakedProject) -> None:
    settings = manifests(project)["ConfigMap"]["data"]
    assert (settings["LOG_LEVEL"], settings["LOG_FORMAT"]) == ("INFO", "json")
    if project.context["tracing"]:
        assert settings["OTEL_SERVICE_NAME"] == project.path.name
        # No endpoint until the team names its collector: no export to nowhere.
        assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in settings
    else:
        assert not [name for name in settings if name.startswith("OTEL_")]
