"""deploy/prometheus.yml against Debian's Prometheus: promtool checks the configuration
and /metrics, and a real Prometheus scrapes the live app with the bearer token and
answers a sample back through its HTTP API. Skipped only where the `prometheus` package
is not installed (outside CI: .ci/run installs it)."""

import contextlib
import json
import os
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from config.embedded_redis import free_port
from config.settings import BASE_DIR
from operations import metrics_store
from telemetry.units import now_ms
from tests.browser.chromium import ci_is_set

CONFIG = BASE_DIR / "deploy" / "prometheus.yml"
TOKEN = "scrape-token-of-the-test"
HOST = "scrape-test"  # the web host whose CPU the scrape reads back
DEADLINE_SECONDS = 120  # Prometheus starts, scrapes every second: ample on a busy machine


@pytest.fixture
def require_prometheus():
    missing = [name for name in ("prometheus", "promtool") if shutil.which(name) is None]
    if not missing:
        return
    reason = f"{' and '.join(missing)} not installed (apt-get install prometheus)"
    if ci_is_set(os.environ):
        pytest.fail(f"{reason}, and CI is set: .ci/run installs it")
    pytest.skip(reason)


def promtool(*args, stdin=None):
    return subprocess.run(["promtool", *args], input=stdin, capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip


def derived_config(tmp_path, target, interval="1s"):
    """deploy/prometheus.yml with only the target, the token file and the interval changed."""
    config = yaml.safe_load(CONFIG.read_text())
    token_file = tmp_path / "metrics.token"
    token_file.write_text(TOKEN)
    config["global"].update(scrape_interval=interval, scrape_timeout=interval)
    (job,) = config["scrape_configs"]
    job["authorization"]["credentials_file"] = str(token_file)
    job["static_configs"][0]["targets"] = [target]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.usefixtures("require_prometheus")
def test_the_repository_configuration_is_valid():
    # The token file lives on the Prometheus host, never in the repository.
    checked = promtool("check", "config", "--syntax-only", str(CONFIG))
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.usefixtures("require_prometheus")
def test_the_configuration_is_valid_with_its_token_file(tmp_path):
    checked = promtool("check", "config", str(derived_config(tmp_path, "127.0.0.1:8000")))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_configuration_sends_the_token_from_a_file():
    (job,) = yaml.safe_load(CONFIG.read_text())["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["authorization"]["type"] == "Bearer"
    assert set(job["authorization"]) == {"type", "credentials_file"}  # never inline


@pytest.mark.usefixtures("require_prometheus")
@pytest.mark.django_db
def test_promtool_accepts_the_metrics_endpoint(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    checked = promtool("check", "metrics", stdin=response.content.decode())
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout + checked.stderr == ""  # no lint warning either


class Prometheus:
    """`prometheus` on a free loopback port with its own storage, stopped after."""

    def __init__(self, config_path, workdir):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(workdir) / "prometheus.log"
        command = ["prometheus", f"--config.file={config_path}",
                   f"--storage.tsdb.path={Path(workdir) / 'data'}",
                   f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"]  # fmt: skip
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)

    def api(self, path, **params):
        url = f"{self.url}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
            return json.loads(response.read())["data"]

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def prometheus_of(tmp_path):
    started = []

    def start(target):
        started.append(Prometheus(derived_config(tmp_path, target), tmp_path))
        return started[-1]

    yield start
    for prometheus in started:
        prometheus.stop()


def scrape_state(prometheus):
    """What Prometheus says of its target, for a failure's message."""
    try:
        return prometheus.api("targets")["activeTargets"]
    except (OSError, ValueError, KeyError) as exc:
        return f"no answer from Prometheus ({exc}); log: {prometheus.log_path.read_text()}"


@pytest.mark.usefixtures("require_prometheus")
@pytest.mark.django_db
def test_prometheus_scrapes_the_app_with_the_token(live_server, settings, prometheus_of):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOW_LOOPBACK = False  # only the token lets Prometheus in
    metrics_store.ensure_series(host=HOST)
    prometheus = prometheus_of(urllib.parse.urlsplit(live_server.url).netloc)
    query = f'movie_explorer_host_cpu_usage_percent{{host="{HOST}"}}'
    found = []
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not found and time.monotonic() < deadline and prometheus.process.poll() is None:
        # The host keeps reporting, as its collector would (a silent host drops out).
        metrics_store.write_host_samples(HOST, now_ms(), {"cpu_usage": 37.5})
        with contextlib.suppress(OSError, ValueError):  # not listening yet
            found = prometheus.api("query", query=query)["result"]
        time.sleep(0.5)
    assert found, f"no sample scraped: {scrape_state(prometheus)}"
    (sample,) = found
    assert sample["metric"]["job"] == "movie-explorer"
    assert float(sample["value"][1]) == 37.5
    up = prometheus.api("query", query='up{job="movie-explorer"}')["result"]
    assert [float(s["value"][1]) for s in up] == [1.0]
