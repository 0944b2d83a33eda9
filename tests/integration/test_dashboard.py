"""The Grafana dashboard (k8s/components/monitoring/dashboards/platform.json): a valid dashboard whose PromQL
queries only the platform's metrics (the mooc_* contract), with a panel for each figure the contract names."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "k8s" / "components" / "monitoring" / "dashboards" / "platform.json"

# The metrics contract every process serves (docs/metrics.md): name -> type.
CONTRACT = {
    "mooc_grpc_server_handled_total": "counter",
    "mooc_grpc_server_handling_seconds": "histogram",
    "mooc_http_requests_total": "counter",
    "mooc_http_request_duration_seconds": "histogram",
    "mooc_outbox_depth": "gauge",
    "mooc_outbox_oldest_age_seconds": "gauge",
    "mooc_consumer_lag": "gauge",
    "mooc_consumer_redeliveries_total": "counter",
    "mooc_consumer_events_total": "counter",
    "mooc_media_queue_depth": "gauge",
    "mooc_media_jobs_total": "counter",
    "mooc_media_job_duration_seconds": "histogram",
    "mooc_progress_reports_total": "counter",
    "mooc_sign_in_failures_total": "counter",
    "mooc_account_lockouts_total": "counter",
    "mooc_rate_limit_refusals_total": "counter",
}
# Where the processes register them (prometheus-client's default registry), when those modules exist.
METRIC_MODULES = ("servicekit.metrics", "services.media.adapters.metrics")
SERIES = re.compile(r"\b(mooc_[a-z0-9_]+)")


def load() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for panel in dashboard["panels"]:
        found.append(panel)
        found += panel.get("panels", [])  # a collapsed row holds its panels
    return found


def metric_of(series: str) -> str | None:
    """The contract metric a series name belongs to (histograms expose _bucket, _sum and _count)."""
    if series in CONTRACT:
        return series
    for suffix in ("_bucket", "_sum", "_count"):
        base = series.removesuffix(suffix)
        if series.endswith(suffix) and CONTRACT.get(base) == "histogram":
            return base
    return None


def queried_series(dashboard: dict[str, Any]) -> dict[str, set[str]]:
    """series name -> titles of the panels whose queries use it."""
    used: dict[str, set[str]] = {}
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            for series in SERIES.findall(target.get("expr", "")):
                used.setdefault(series, set()).add(panel["title"])
    return used


def test_the_dashboard_is_a_grafana_dashboard() -> None:
    dashboard = load()
    assert re.fullmatch(r"[a-zA-Z0-9_-]{1,40}", dashboard["uid"]) and dashboard["title"]
    assert isinstance(dashboard["schemaVersion"], int) and dashboard["schemaVersion"] >= 30
    ids = [panel["id"] for panel in panels(dashboard)]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    graphs = [panel for panel in panels(dashboard) if panel["type"] != "row"]
    assert len(graphs) >= 10
    for panel in graphs:
        assert panel["title"] and panel["type"] in {"timeseries", "stat", "gauge", "table", "bargauge", "heatmap"}
        position = panel["gridPos"]
        assert {"h", "w", "x", "y"} <= position.keys() and position["x"] + position["w"] <= 24, panel["title"]
        assert panel["targets"], f"panel {panel['title']!r} queries nothing"
        for target in panel["targets"]:
            assert target["refId"] and target["expr"].strip(), panel["title"]
            assert target["expr"].count("(") == target["expr"].count(")"), f"unbalanced: {target['expr']}"
            for variable in re.findall(r"\$(?!__)\{?(\w+)", target["expr"]):
                assert variable in variables, f"{panel['title']}: ${variable} is no dashboard variable"
        uid = (panel.get("datasource") or {}).get("uid", "")
        assert uid == "${datasource}", f"{panel['title']}: datasource {uid!r} is not the dashboard's variable"


def test_every_query_uses_only_contract_metrics() -> None:
    unknown = {series: titles for series, titles in queried_series(load()).items() if metric_of(series) is None}
    assert not unknown, f"queries name metrics outside the contract: {unknown}"


def test_every_contract_metric_has_a_panel() -> None:
    shown = {metric_of(series) for series in queried_series(load())}
    assert shown == set(CONTRACT), f"no panel for {sorted(set(CONTRACT) - shown)}"


def test_latency_panels_read_histogram_buckets_by_route_and_method() -> None:
    expressions = [t["expr"] for p in panels(load()) for t in p.get("targets", [])]
    for metric, label in (("mooc_http_request_duration_seconds", "route"),
                          ("mooc_grpc_server_handling_seconds", "method")):
        for quantile in ("0.5", "0.99"):
            assert any(f"histogram_quantile({quantile}," in e and f"{metric}_bucket" in e and label in e
                       and "le" in e for e in expressions), f"no p{quantile} of {metric} by {label}"


@pytest.mark.parametrize("module", METRIC_MODULES)
def test_the_contract_is_what_the_processes_register(module: str) -> None:
    """Where a process's metrics module exists, the names the dashboard relies on are the ones it registers."""
    try:
        importlib.import_module(module)
    except ModuleNotFoundError:
        pytest.skip(f"{module} is not there")
    from prometheus_client import REGISTRY

    registered = {}
    for family in REGISTRY.collect():
        name = family.name + ("_total" if family.type == "counter" else "")
        registered[name] = family.type
    mine = {name for name in CONTRACT if name in registered}
    assert mine, f"{module} registers none of the contract's metrics"
    for name in mine:
        assert registered[name] == CONTRACT[name], f"{name} is a {registered[name]}, the contract says {CONTRACT[name]}"


def test_every_contract_metric_is_registered_by_some_process() -> None:
    for module in METRIC_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError:
            pytest.skip(f"{module} is not there yet")
    from prometheus_client import REGISTRY

    registered = {family.name + ("_total" if family.type == "counter" else "") for family in REGISTRY.collect()}
    assert set(CONTRACT) <= registered, f"not registered: {sorted(set(CONTRACT) - registered)}"
