"""What an operator reads on the bad day: one log line per status change, under both servers the
README names (`python app.py`, gunicorn), with settings given as text in the environment."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support import wait_for

from .conftest import PASSWORD, Shop, csrf_token_in
from .test_dashboard import close
from .test_start import ROOT, free_port

SERVERS = {
    "python app.py": [sys.executable, "app.py"],
    "gunicorn": [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        "1",
        "--threads",
        "4",
        "--no-control-socket",
        "app:app",
    ],
}


@pytest.fixture(params=sorted(SERVERS))
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The shop in its own process, as an operator starts it; its URL and the file its output goes to."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SPARKPAY_", "SANDBOX_", "LOG_"))}
    # Text, as an environment gives it: a timeout that stayed a string crashed the first gateway call.
    environment.update(
        PORT=str(port), INSTANCE_PATH=str(tmp_path / "instance"), SPARKPAY_TIMEOUT="5", PYTHONUNBUFFERED="1"
    )
    staff = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "create-staff", "ops@shop.test"],
        cwd=ROOT,
        env=environment,
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert staff.returncode == 0, staff.stderr
    log = tmp_path / "server.log"
    command = SERVERS[request.param]
    if request.param == "gunicorn":
        command = [*command, "--bind", f"127.0.0.1:{port}"]
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(f"{url}/healthz") or process.poll() is not None, what=f"{request.param} to start")
        assert process.poll() is None, log.read_text()
        yield url, log
    finally:
        process.terminate()
        process.wait(10)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


def _line(log: Path, text: str) -> str:
    return wait_for(
        lambda: next((line for line in log.read_text().splitlines() if text in line), ""), what=f"{text!r} in the log"
    )


def test_each_gateway_call_and_status_change_is_one_line_in_the_log(served: tuple[str, Path]) -> None:
    url, log = served
    shop = Shop(url, app=None)
    session = requests.Session()
    token = csrf_token_in(session.get(f"{url}/login").text)
    session.post(f"{url}/login", data={"csrf_token": token, "email": "ops@shop.test", "password": PASSWORD})
    paid = shop.create_order(session)  # a real gateway call, with the timeout the environment gave as text
    shop.sandbox("POST", f"/orders/{paid}/pay")
    # One line each, in UTC, at INFO, from the shop's order service, naming the order and the cause.
    line = _line(log, f"order {paid}: UNPAID -> COMPLETED")
    assert " INFO shop.orders: " in line and "(webhook, notification #" in line
    assert line.startswith(time.strftime("%Y-%m-%dT", time.gmtime())) and line.split(" ", 1)[0].endswith("Z")
    _line(log, f"order {paid}: create sent to sparkpay (create), accepted")
    _line(log, f"order {paid}: CREATING -> UNPAID (create)")

    closed = shop.create_order(session)
    assert "Order closed" in close(shop, session, closed)
    _line(log, f"order {closed}: close sent to sparkpay by ops@shop.test, closed")
    _line(log, f"order {closed}: UNPAID -> CLOSED (close, ops@shop.test)")

    everything = log.read_text()
    assert "Traceback" not in everything
    for secret in (PASSWORD, "PRIVATE KEY", "secret_key"):
        assert secret not in everything


def test_a_reconciliation_run_and_a_refused_delivery_are_logged(
    shop: Shop, manager: requests.Session, caplog: pytest.LogCaptureFixture
) -> None:
    request_no = shop.create_order(manager)
    caplog.set_level("INFO", logger="shop")
    result = shop.app.test_cli_runner().invoke(args=["sparkpay", "reconcile"])
    assert result.exit_code == 0, result.output
    assert "reconcile: 1 open orders checked, 0 changed, 0 unreachable; 0 refunds re-sent" in caplog.messages
    forged = requests.post(f"{shop.url}/webhooks/sparkpay", data=b'{"request_no": "%s"}' % request_no.encode())
    assert forged.status_code == 400
    refused = [r for r in caplog.records if r.name == "shop.orders" and "delivery from 127.0.0.1 refused" in r.message]
    assert refused and refused[0].levelname == "WARNING"
