"""Start the shop: ``python app.py`` serves it on HOST:PORT (default 127.0.0.1:5000)."""

from __future__ import annotations

import os
import secrets
import sys

from shop import create_app
from shop.config import listen_port
from sparkpay import ConfigurationError

# INSTANCE_PATH moves the generated keys, secret and database out of ./instance (tests, containers).
# A setting that cannot be read stops the start here with one line naming it (also under gunicorn
# and `flask --app app`, which import this module).
try:
    app = create_app(instance_path=os.environ.get("INSTANCE_PATH") or None)
    port = listen_port()
except ConfigurationError as error:
    print(f"SparkPay Checkout cannot start: {error}", file=sys.stderr)
    sys.exit(3)  # gunicorn's "worker failed to boot": its master stops instead of booting workers forever


def _demo_staff() -> str | None:
    """In sandbox mode, make sure a demo manager exists; return its password when newly made."""
    from shop.cli import add_staff
    from shop.extensions import db
    from shop.models import Staff

    if not app.config["SANDBOX_MODE"]:
        return None
    with app.app_context():
        if db.session.query(Staff).first() is not None:
            return None
        password = secrets.token_urlsafe(12)
        add_staff("demo@sparkpay.local", password, "manager")
        return password


if __name__ == "__main__":
    host = os.environ.get("HOST", "127.0.0.1")
    password = _demo_staff()
    base = app.config["PUBLIC_BASE_URL"]
    print(f"SparkPay Checkout on {base}  (gateway: {app.config['SPARKPAY_BASE_URL']})")
    if app.config["SANDBOX_MODE"]:
        print(f"Sandbox gateway: {base}/sandbox/")
    if password:
        print(f"Sign in at {base}/login as demo@sparkpay.local with password {password}")
        print("(a throwaway sandbox account; add your own with: flask --app app create-staff EMAIL)")
    print("Press Ctrl+C to stop.", flush=True)
    app.run(host=host, port=port, threaded=True)
