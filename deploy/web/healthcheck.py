"""The healthcheck of docker-compose.yml's production webs: exit status 0 when the app
under gunicorn answers `/health/redis` with 200. serve prepares everything (migrations,
the admin account, the indexes, the first import) before gunicorn listens, so a web that
waits for another one's health never runs that start-up beside it.

The request names the first of ALLOWED_HOSTS (Django refuses a host not in it), and says
https as the proxy would behind TLS (with HTTPS=true the app redirects plain http).

    python deploy/web/healthcheck.py [port]     # default 8000
"""

import http.client
import os
import sys


def allowed_host(allowed_hosts: str) -> str:
    """A Host header Django accepts under ALLOWED_HOSTS `allowed_hosts` (comma-separated)."""
    hosts = [host.strip() for host in allowed_hosts.split(",") if host.strip()]
    host = hosts[0].lstrip(".") if hosts else "localhost"  # ".example.com" allows example.com
    return "localhost" if host == "*" else host


def healthy(port: int, host: str) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request(
            "GET", "/health/redis", headers={"Host": host, "X-Forwarded-Proto": "https"}
        )
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    host = allowed_host(os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost"))
    sys.exit(0 if healthy(port, host) else 1)
