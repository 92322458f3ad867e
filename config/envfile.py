"""Give `.env` the secrets a fresh clone needs: a random SECRET_KEY and REDIS_PASSWORD.

Run by the Makefile's setup step (`python -m config.envfile`) before every run and test,
so that a fresh clone runs with DEBUG off and its Redis behind a password, an older
`.env` gets whichever it lacks, and no secret ever lives in the repository. Every line
already there stays as it is; a value exported in the environment wins over the file
(the settings read `.env` without overwriting), so then nothing is written.
"""

import os
import re
import secrets
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

ENV_FILE = Path(__file__).resolve().parent.parent / ".env"

# name -> bytes of randomness; token_urlsafe's alphabet needs no quoting in `.env`, in a
# redis:// URL or in docker compose's ${...}.
GENERATED_SECRETS = {"SECRET_KEY": 50, "REDIS_PASSWORD": 32}


def _assignment(name):
    """`NAME=value` as django-environ reads it (an optional `export `), value in group 1."""
    return re.compile(rf"^\s*(?:export\s+)?{name}\s*=(.*)$")


def ensure_secrets(env_file: Path = ENV_FILE, environ: Mapping[str, str] = os.environ) -> list[str]:
    """Write the missing secrets into `env_file`; returns the names written. A name
    assigned an empty value (`REDIS_PASSWORD=`) counts as missing and that line gets the
    new value, since django-environ takes a name's first line."""
    text = env_file.read_text() if env_file.exists() else ""
    lines = text.splitlines()
    written = []
    for name, size in GENERATED_SECRETS.items():
        if environ.get(name):
            continue
        pattern = _assignment(name)
        found = [i for i, line in enumerate(lines) if pattern.match(line)]
        if found and pattern.match(lines[found[0]]).group(1).strip().strip("'\""):
            continue
        line = f"{name}={secrets.token_urlsafe(size)}"
        if found:
            lines[found[0]] = line
        else:
            lines.append(line)
        written.append(name)
    if written:
        _write_private(env_file, "\n".join(lines) + "\n")
    return written


def _write_private(path, text):
    """Replace `path` in one step (a crash leaves the old file or the new one, never half
    of it), readable by its owner only: it holds secrets."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".env.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as out:  # mkstemp creates it with mode 0600
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


if __name__ == "__main__":
    for name in ensure_secrets():
        print(f"wrote a new random {name} to {ENV_FILE}", file=sys.stderr)
