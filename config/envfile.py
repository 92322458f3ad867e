"""Write `.env` with a fresh random SECRET_KEY when none is configured yet.

Run by the Makefile's setup step (`python -m config.envfile`), so that a fresh clone
runs with DEBUG off and no secret ever lives in the repository.
"""

import os
import secrets
import sys
from pathlib import Path

ENV_FILE = Path(__file__).resolve().parent.parent / ".env"


def ensure_secret_key(env_file=ENV_FILE):
    if os.environ.get("SECRET_KEY"):
        return False
    text = env_file.read_text() if env_file.exists() else ""
    if any(line.strip().startswith("SECRET_KEY=") for line in text.splitlines()):
        return False
    key = secrets.token_urlsafe(50)
    fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a") as out:
        if text and not text.endswith("\n"):
            out.write("\n")
        out.write(f"SECRET_KEY={key}\n")
    env_file.chmod(0o600)  # it holds a secret now, whoever created it
    return True


if __name__ == "__main__":
    if ensure_secret_key():
        print(f"wrote a new random SECRET_KEY to {ENV_FILE}", file=sys.stderr)
