"""cluster.yaml is a valid Ray cluster-launcher config (Ray's own schema) and keeps Seqlab's defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from orchestrator import cluster

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "cluster.yaml"


@pytest.fixture(scope="module")
def config() -> dict:
    return yaml.safe_load(CONFIG.read_text())


def test_cluster_yaml_passes_rays_cluster_config_schema(config):
    import jsonschema
    import ray.autoscaler

    schema = json.loads((Path(ray.autoscaler.__file__).parent / "ray-schema.json").read_text())
    jsonschema.validate(config, schema)  # raises ValidationError naming the bad key


def test_cluster_yaml_passes_rays_own_validation_after_defaults(config):
    from ray.autoscaler._private.util import prepare_config, validate_config

    validate_config(prepare_config(dict(config)))  # what `ray up` runs before touching the cloud


def test_head_plus_gpu_worker_type_with_a_max_count(config):
    types = config["available_node_types"]
    assert config["head_node_type"] in types
    gpu = [t for name, t in types.items() if t.get("resources", {}).get("GPU", 0) >= 1]
    assert gpu and all(0 < t["max_workers"] <= config["max_workers"] for t in gpu)
    assert types[config["head_node_type"]]["resources"].get("CPU") == 0  # trials never land on the head


def test_every_ray_start_uses_token_auth_and_the_dashboard_stays_on_loopback(config):
    starts = config["head_start_ray_commands"] + config["worker_start_ray_commands"]
    ray_starts = [c for c in starts if "ray start" in c]
    assert len(ray_starts) == 2 and all("RAY_AUTH_MODE=token" in c for c in ray_starts)
    head = next(c for c in config["head_start_ray_commands"] if "--head" in c)
    assert "--dashboard-host=127.0.0.1" in head
    mlflow = next(c for c in config["head_start_ray_commands"] if "mlflow server" in c)
    assert "--host 127.0.0.1" in mlflow and "--allowed-hosts" in mlflow
    assert "0.0.0.0" not in CONFIG.read_text()


def test_setup_installs_seqlab_and_ships_the_token(config):
    assert config["file_mounts"]["~/seqlab"] == "."
    assert "~/.ray/auth_token" in config["file_mounts"]
    assert any("-e ~/seqlab" in c for c in config["setup_commands"])


def test_scalable_shapes_come_from_the_launcher_config(monkeypatch):
    monkeypatch.setenv("SEQLAB_CLUSTER_CONFIG", str(CONFIG))
    shapes = cluster.scalable_node_shapes()
    assert {"CPU": 8.0, "GPU": 1.0} in shapes
    assert max(s.get("GPU", 0) for s in shapes) == 1


def test_the_schema_check_catches_a_misspelt_key(config):
    import jsonschema
    import ray.autoscaler

    schema = json.loads((Path(ray.autoscaler.__file__).parent / "ray-schema.json").read_text())
    broken = {**config, "max_worker": 4}
    with pytest.raises(jsonschema.ValidationError, match="max_worker"):
        jsonschema.validate(broken, schema)
