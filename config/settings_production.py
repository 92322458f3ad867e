"""Production settings: the base settings served behind TLS.

`DJANGO_SETTINGS_MODULE=config.settings_production`; `manage.py check --deploy` is
clean with these (SECRET_KEY and ALLOWED_HOSTS still come from the environment).
"""

import os

os.environ.setdefault("HTTPS", "true")
os.environ["DEBUG"] = "false"

from config.settings import *  # noqa: F403
