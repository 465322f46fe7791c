"""Fixtures shared by every test package: real RSA key pairs (session-scoped: slow to make)."""

from __future__ import annotations

import pytest

from sparkpay import signing
from tests.support import drop_test_databases


@pytest.fixture(scope="session", autouse=True)
def _test_databases():
    """Databases made on TEST_DATABASE_URL's server are dropped when the run ends."""
    yield
    drop_test_databases()


@pytest.fixture(scope="session")
def merchant_key():
    """The merchant's RSA-2048 private key (its public half is registered at the gateway)."""
    return signing.generate_private_key()


@pytest.fixture(scope="session")
def platform_key():
    """The gateway's RSA-2048 private key (its public half is the 'platform public key')."""
    return signing.generate_private_key()


@pytest.fixture(scope="session")
def other_key():
    """An unrelated key, for wrong-key cases."""
    return signing.generate_private_key()
