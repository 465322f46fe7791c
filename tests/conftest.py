"""Fixtures shared by every test package: real RSA key pairs (session-scoped: slow to make), and a
timeout on every HTTP call the tests make."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from sparkpay import signing
from tests.support import drop_test_databases

#: (connect, read) seconds for a test's own HTTP call that names no timeout: a server that stops
#: answering fails that test within this, not at pytest-timeout's limit.
TEST_HTTP_TIMEOUT = (5.0, 30.0)


@pytest.fixture(scope="session", autouse=True)
def _http_calls_time_out() -> Iterator[None]:
    """Every ``requests`` call of the suite (``requests.get``, a ``Session``'s) gets a timeout."""
    unbounded = requests.Session.request

    def bounded(self: requests.Session, method: str | bytes, url: str | bytes, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = TEST_HTTP_TIMEOUT
        return unbounded(self, method, url, **kwargs)

    with pytest.MonkeyPatch.context() as patch:  # a default added, not a fake: the call is real
        patch.setattr(requests.Session, "request", bounded)
        yield


@pytest.fixture(scope="session", autouse=True)
def _test_databases() -> Iterator[None]:
    """Databases made on TEST_DATABASE_URL's server are dropped when the run ends."""
    yield
    drop_test_databases()


@pytest.fixture(scope="session")
def merchant_key() -> RSAPrivateKey:
    """The merchant's RSA-2048 private key (its public half is registered at the gateway)."""
    return signing.generate_private_key()


@pytest.fixture(scope="session")
def platform_key() -> RSAPrivateKey:
    """The gateway's RSA-2048 private key (its public half is the 'platform public key')."""
    return signing.generate_private_key()


@pytest.fixture(scope="session")
def other_key() -> RSAPrivateKey:
    """An unrelated key, for wrong-key cases."""
    return signing.generate_private_key()
