"""The documented networks and currencies (Network and Currency page, Version Notes)."""

from __future__ import annotations

from enum import IntEnum


class Network(IntEnum):
    """Network enum values used in ``receive_network``, ``networks`` and ``pay_network``.

    Value 1 is not documented (reading A27: reserved) and is refused.
    """

    ETHEREUM = 2
    BNB_SMART_CHAIN = 3
    POLYGON = 4
    IRISNET = 5

    @property
    def label(self) -> str:
        return NETWORK_LABELS[self]


NETWORK_LABELS: dict[Network, str] = {
    Network.ETHEREUM: "Ethereum",
    Network.BNB_SMART_CHAIN: "BNB Smart Chain",
    Network.POLYGON: "Polygon",
    Network.IRISNET: "IRISnet",
}

#: Fiat currencies, valid only as a Pro pricing currency.
FIAT_CURRENCIES: tuple[str, ...] = ("USD", "HKD")

#: Crypto currencies each network carries, with the token contract (None = native coin).
TOKENS: dict[Network, dict[str, str | None]] = {
    Network.ETHEREUM: {
        "ETH": None,
        "USDT": "0xdac17f958d2ee523a2206206994597c13d831ec7",
        "USDC": "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48",
        "HSK": "0xe7c6bf469e97eeb0bfb74c8dbff5bd47d4c1c98a",
    },
    Network.BNB_SMART_CHAIN: {
        "BNB": None,
        "USDT": "0x55d398326f99059ff775485246999027b3197955",
        "USDC": "0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d",
    },
    Network.POLYGON: {
        "POL": None,
        "USDT": "0xc2132d05d31c914a87c6611c10748aeb04b58e8f",
        "USDC": "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359",
    },
    Network.IRISNET: {
        "IRIS": "0x1D1530e3A3719BE0BEe1abba5016Cf2e236f3277",
    },
}

#: Every crypto currency code, in a stable display order.
CRYPTO_CURRENCIES: tuple[str, ...] = ("USDT", "USDC", "ETH", "BNB", "POL", "HSK", "IRIS")


def networks_for(currency: str) -> tuple[Network, ...]:
    """The networks that carry ``currency`` (empty for fiat or unknown codes)."""
    return tuple(network for network, tokens in TOKENS.items() if currency in tokens)


def supports(network: int, currency: str) -> bool:
    """Whether ``network`` carries ``currency``."""
    try:
        return currency in TOKENS[Network(network)]
    except ValueError:
        return False


def network_label(value: int | None) -> str:
    """A human name for a network number ("network 9" for an unknown one)."""
    if value is None:
        return ""
    try:
        return Network(value).label
    except ValueError:
        return f"network {value}"


def parse_receive_network(text: str) -> tuple[int, ...]:
    """``"2,4"`` -> ``(2, 4)``; raises ValueError on anything that is not a list of numbers."""
    if not text.strip():
        return ()
    return tuple(int(part) for part in text.split(","))


def format_receive_network(networks: tuple[int, ...]) -> str:
    """``(2, 4)`` -> ``"2,4"``, the documented wire form of ``receive_network``."""
    return ",".join(str(int(n)) for n in networks)
