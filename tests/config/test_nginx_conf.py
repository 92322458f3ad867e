"""The reverse proxy of docker-compose.yml: its configuration passes `nginx -t`, and a
running nginx with it drops slow clients, refuses big bodies and sets the forwarded
headers itself; with two upstreams (the production profile's) it spreads requests over both.

The template is rendered as the official image renders it, with loopback upstreams
(compose's `web` resolves only inside compose), into a prefix of its own
(bench/slow_clients.py `render_nginx`). Without nginx these tests skip with the reason,
unless CI is set, where they fail: CI installs nginx (.ci/run).
"""

import contextlib
import http.client
import http.server
import json
import os
import re
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml

from bench.slow_clients import NGINX, NGINX_TEMPLATE, nginx_command, render_nginx
from config.embedded_redis import free_port
from config.settings import BASE_DIR
from tests.browser.chromium import ci_is_set

HANG_GUARD_S = 60


def require_nginx(path=NGINX, environ=None):
    if Path(path).is_file() and os.access(path, os.X_OK):
        return path
    reason = f"nginx at {path} is not installed (apt-get install nginx)"
    if ci_is_set(environ if environ is not None else os.environ):
        pytest.fail(f"{reason}, and CI is set: the proxy's configuration must be checked")
    pytest.skip(reason)


def nginx_test(conf):
    return subprocess.run(nginx_command(conf, "-t"), capture_output=True, text=True, timeout=60)


def compose():
    return yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())


def test_missing_nginx_skips_without_ci_and_fails_with_it(tmp_path):
    absent = tmp_path / "nginx"
    with pytest.raises(pytest.skip.Exception, match="not installed"):
        require_nginx(absent, environ={})
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        require_nginx(absent, environ={"CI": "true"})


def test_rendering_fills_every_template_variable_and_keeps_nginxs_own(tmp_path):
    require_nginx()
    render_nginx(tmp_path, f"127.0.0.1:{free_port()}", free_port())
    site = (tmp_path / "conf.d" / "default.conf").read_text()
    assert "${" not in site  # every template variable was given
    assert "$remote_addr" in site and "$host" in site  # nginx's own are left alone


def test_the_rendered_configuration_passes_nginx_t(tmp_path):
    require_nginx()
    conf = render_nginx(tmp_path, f"127.0.0.1:{free_port()}", free_port())
    result = nginx_test(conf)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_nginx_t_really_reads_the_file(tmp_path):
    """A mistake in the server block fails the check (so the passing check above is
    about this file, not an empty configuration)."""
    require_nginx()
    conf = render_nginx(tmp_path, f"127.0.0.1:{free_port()}", free_port())
    site = tmp_path / "conf.d" / "default.conf"
    site.write_text(site.read_text().replace("client_header_timeout", "client_header_timeuot"))
    result = nginx_test(conf)
    assert result.returncode != 0
    assert "client_header_timeuot" in result.stderr


def test_compose_runs_nginx_with_the_templates_of_deploy():
    proxy = compose()["services"]["nginx"]
    assert proxy["image"].startswith("nginx:")
    assert "./deploy/nginx:/etc/nginx/templates:ro" in proxy["volumes"]


def test_compose_gives_every_template_variable():
    proxy = compose()["services"]["nginx"]
    wanted = set(re.findall(r"\$\{(\w+)\}", NGINX_TEMPLATE.read_text()))
    assert wanted == set(proxy["environment"]), "template variables vs compose environment"


def test_compose_publishes_nginx_on_loopback_in_front_of_web():
    services = compose()["services"]
    proxy = services["nginx"]
    host, _, port = proxy["environment"]["WEB_UPSTREAM"].partition(":")
    assert host == "web" and port == "8000"
    assert proxy["ports"] == [f"127.0.0.1:8000:{proxy['environment']['NGINX_PORT']}"]
    assert "--host 0.0.0.0 --port 8000" in services["web"]["command"]


def test_compose_web_is_reached_only_through_the_proxy():
    assert "ports" not in compose()["services"]["web"]


def test_compose_web_trusts_the_address_the_proxy_sets_and_guards_metrics():
    # Behind the proxy every request comes from it: the token guards /metrics, and the
    # client's address is the header the proxy overwrites.
    web = compose()["services"]["web"]
    assert web["environment"]["METRICS_ALLOW_LOOPBACK"] == "false"
    assert web["environment"]["INSIGHTS_CLIENT_IP_HEADER"] == "X-Forwarded-For"
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in NGINX_TEMPLATE.read_text()


class Echo(http.server.BaseHTTPRequestHandler):
    """The upstream: answers every request with the headers it received, as JSON."""

    def do_GET(self):
        body = json.dumps(dict(self.headers.items())).encode()
        self.send_response(200)
        self.send_header("X-Backend", str(self.server.server_port))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args):
        pass


def echo_server():
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    return upstream


def wait_listening(process, port, what):
    """Returns once `process` accepts connections on loopback `port`; fails the test with
    the end of its stderr when it exits first, or after HANG_GUARD_S."""
    deadline = time.monotonic() + HANG_GUARD_S
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"{what} did not start: {process.stderr.read()[-2000:]}")
        time.sleep(0.05)


@contextlib.contextmanager
def running_proxy(prefix, upstreams):
    """nginx with the configuration rendered for `upstreams` (WEB_UPSTREAM); its port."""
    require_nginx()
    port = free_port()
    conf = render_nginx(prefix, upstreams, port)
    command = nginx_command(conf, "-g", "daemon off;")
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        wait_listening(process, port, "nginx")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=HANG_GUARD_S)


@pytest.fixture
def proxy(tmp_path):
    """nginx with the rendered configuration in front of the echo server; its port."""
    require_nginx()
    upstream = echo_server()
    try:
        with running_proxy(tmp_path, f"127.0.0.1:{upstream.server_port}") as port:
            yield port
    finally:
        upstream.shutdown()
        upstream.server_close()


def request(port, method="GET", body=None, headers=None):
    return exchange(port, method, body, headers)[:2]


def exchange(port, method="GET", body=None, headers=None):
    """(status, body, the backend that answered) of one request through the proxy."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=HANG_GUARD_S)
    try:
        connection.request(method, "/", body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read(), response.getheader("X-Backend")
    finally:
        connection.close()


def test_the_proxy_sets_the_forwarded_headers_itself(proxy):
    status, body = request(proxy, headers={"X-Forwarded-For": "203.0.113.9"})
    assert status == 200
    seen = json.loads(body)
    assert seen["X-Forwarded-For"] == "127.0.0.1"  # the client's claim is replaced
    assert seen["X-Forwarded-Proto"] == "http"


def test_a_body_over_the_limit_is_refused_before_the_app(proxy):
    with socket.create_connection(("127.0.0.1", proxy), timeout=HANG_GUARD_S) as client:
        # Announced only: nginx answers from the header, without reading 3 MB.
        client.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3145728\r\n\r\n")
        assert client.recv(4096).startswith(b"HTTP/1.1 413")


def test_a_body_under_the_limit_reaches_the_app(proxy):
    assert request(proxy, "POST", body=b"x" * 1024)[0] == 200


def test_a_client_that_sends_its_headers_slowly_is_dropped(proxy):
    with socket.create_connection(("127.0.0.1", proxy), timeout=HANG_GUARD_S) as slow:
        slow.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the rest
        try:
            received = slow.recv(4096)  # nginx closes it after client_header_timeout
        except ConnectionResetError:
            received = b""
    assert received == b"" or received.startswith(b"HTTP/1.1 408")


# Several webs (the production profile): WEB_UPSTREAM lists them, the server block is one.
def test_rendering_a_list_of_upstreams_names_each_in_the_one_upstream(tmp_path):
    require_nginx()
    first, second = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    render_nginx(tmp_path, f"{first}, {second}", free_port())
    site = (tmp_path / "conf.d" / "default.conf").read_text()
    upstream = re.search(r"upstream web_app \{(.*?)\}", site, re.S).group(1)
    assert re.findall(r"server (\S+?);", upstream) == [first, second]
    assert site.count("server {") == 1


def test_the_configuration_with_two_upstream_servers_passes_nginx_t(tmp_path):
    require_nginx()
    upstreams = f"127.0.0.1:{free_port()},127.0.0.1:{free_port()}"
    result = nginx_test(render_nginx(tmp_path, upstreams, free_port()))
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_the_proxy_spreads_requests_over_two_backends(tmp_path):
    require_nginx()
    backends = [echo_server(), echo_server()]
    upstreams = ",".join(f"127.0.0.1:{b.server_port}" for b in backends)
    try:
        with running_proxy(tmp_path, upstreams) as port:
            answered = [exchange(port) for _ in range(10)]
    finally:
        for backend in backends:
            backend.shutdown()
            backend.server_close()
    assert {status for status, _body, _backend in answered} == {200}
    assert {backend for _s, _b, backend in answered} == {str(b.server_port) for b in backends}


def test_compose_production_nginx_renders_the_same_template_over_both_webs():
    services = compose()["services"]
    proxy = services["nginx-production"]
    assert proxy["image"] == services["nginx"]["image"]
    assert "./deploy/nginx:/etc/nginx/templates:ro" in proxy["volumes"]
    wanted = set(re.findall(r"\$\{(\w+)\}", NGINX_TEMPLATE.read_text()))
    assert wanted == set(proxy["environment"])
    upstreams = proxy["environment"]["WEB_UPSTREAM"].split(",")
    assert upstreams == ["web-1:8000", "web-2:8000"]
    for upstream in upstreams:
        assert "--port 8000" in services[upstream.partition(":")[0]]["command"]


def test_compose_production_nginx_sources_the_upstream_list_before_the_templates():
    # The image sources executable /docker-entrypoint.d/*.envsh in version order, then
    # renders the templates (20-envsubst-on-templates.sh).
    mounts = compose()["services"]["nginx-production"]["volumes"]
    script = "./deploy/nginx/web-upstream.envsh"
    (target,) = [m.split(":")[1] for m in mounts if m.startswith(f"{script}:")]
    name = Path(target).name
    assert target.startswith("/docker-entrypoint.d/") and name.endswith(".envsh")
    assert int(name.split("-")[0]) < 20
    assert os.access(BASE_DIR / script, os.X_OK)


def test_compose_production_nginx_restarts_with_a_web():
    # nginx resolves the webs' names once, at its start: a recreated web restarts it.
    depends = compose()["services"]["nginx-production"]["depends_on"]
    assert all(d["restart"] is True for d in depends.values())
