"""A gateway's open readings of its docs, as one table: each ``Reading`` with its plausible
alternatives, the first being the one its docs make most plausible (and a sandbox's default).

An SDK builds its ``Readings`` table once; it reads the table to accept every alternative it may
receive, and its sandbox to behave as the alternatives chosen (e.g. ``A5=success-only``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Alternative:
    name: str
    meaning: str


@dataclass(frozen=True)
class Reading:
    id: str
    question: str
    #: The first is the recommended reading, and a sandbox's default.
    alternatives: tuple[Alternative, ...]

    @property
    def default(self) -> str:
        return self.alternatives[0].name

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.alternatives)


class Readings:
    """One gateway's table of readings."""

    def __init__(self, *readings: Reading) -> None:
        self.readings = readings
        self.by_id: Mapping[str, Reading] = {reading.id: reading for reading in readings}

    def defaults(self) -> dict[str, str]:
        return {reading.id: reading.default for reading in self.readings}

    def choose(self, text: str | Mapping[str, str] | None) -> dict[str, str]:
        """Every reading's alternative: the defaults, changed by ``text`` (``"A5=success-only,A22=idempotent"``
        or a mapping). Raises ValueError naming an unknown reading or alternative."""
        chosen = self.defaults()
        if not text:
            return chosen
        pairs = text.items() if isinstance(text, Mapping) else (part.partition("=")[::2] for part in text.split(","))
        for key, value in pairs:
            reading = self.by_id.get(key.strip().upper())
            if reading is None:
                raise ValueError(f"unknown reading {key.strip()!r}; known: {', '.join(self.by_id)}")
            if value.strip() not in reading.names:
                raise ValueError(f"{reading.id} is one of {', '.join(reading.names)}, not {value.strip()!r}")
            chosen[reading.id] = value.strip()
        return chosen

    def described(self, chosen: Mapping[str, str]) -> list[dict[str, object]]:
        """The table with the current choice, as a sandbox's ``GET …/readings`` serves it."""
        return [
            {
                "id": reading.id,
                "question": reading.question,
                "alternatives": list(reading.names),
                "meanings": {a.name: a.meaning for a in reading.alternatives},
                "default": reading.default,
                "current": chosen[reading.id],
            }
            for reading in self.readings
        ]
