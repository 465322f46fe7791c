"""An order's lifecycle drawn on the server: every status and allowed transition of the state
machine (``vocabulary.TRANSITIONS``), with the path this order actually took highlighted and each
step numbered, timed and attributed (notification, status check, staff member, reconciler...)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext

from ..models import Order
from ..templating import event_actor, event_source, status_label
from ..vocabulary import Status

#: The drawing's size in SVG units; CSS scales it to the card.
WIDTH, HEIGHT = 720, 310
NODE_WIDTH, NODE_HEIGHT = 128, 40
#: Where each status sits (top-left corner of its box); "new" is the start dot.
NODES: dict[str, tuple[int, int]] = {
    Status.CREATING: (130, 110),
    Status.UNPAID: (330, 30),
    Status.CLOSED: (330, 190),
    Status.COMPLETED: (560, 110),
    Status.FAILED: (130, 250),
}
START = (40, 130)
#: Each transition's line (SVG path data) and where its step numbers go, laid out by hand; a
#: test checks that these are exactly the transitions ``vocabulary.TRANSITIONS`` allows.
EDGES: dict[tuple[str | None, str], tuple[str, tuple[int, int]]] = {
    (None, Status.CREATING): ("M48,130 L128,130", (88, 120)),
    (Status.CREATING, Status.UNPAID): ("M258,120 L328,62", (293, 84)),
    (Status.CREATING, Status.CLOSED): ("M258,140 L328,198", (293, 176)),
    (Status.CREATING, Status.COMPLETED): ("M258,130 L558,130", (500, 121)),
    (Status.CREATING, Status.FAILED): ("M194,150 L194,248", (207, 200)),
    (Status.UNPAID, Status.COMPLETED): ("M458,58 L558,118", (508, 80)),
    (Status.UNPAID, Status.CLOSED): ("M394,70 L394,188", (407, 100)),
    (Status.CLOSED, Status.COMPLETED): ("M458,202 L558,142", (508, 180)),
    (Status.FAILED, Status.UNPAID): ("M258,258 C310,230 300,90 330,62", (300, 220)),
    (Status.FAILED, Status.CLOSED): ("M258,266 L328,226", (293, 252)),
    (Status.FAILED, Status.COMPLETED): ("M258,282 C480,310 624,280 624,152", (560, 288)),
}


@dataclass(frozen=True)
class Step:
    number: int
    at: datetime
    by: str


@dataclass(frozen=True)
class Node:
    status: str
    label: str
    x: int
    y: int
    visited: bool
    current: bool


@dataclass(frozen=True)
class Edge:
    path: str
    label_x: int
    label_y: int
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Lifecycle:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    steps: tuple[Step, ...]
    summary: str
    width: int = WIDTH
    height: int = HEIGHT
    node_width: int = NODE_WIDTH
    node_height: int = NODE_HEIGHT
    start: tuple[int, int] = START


def lifecycle(order: Order) -> Lifecycle:
    changes = sorted((e for e in order.events if e.from_status != e.to_status), key=lambda e: (e.at, e.id))
    taken: dict[tuple[str | None, str], list[Step]] = {}
    steps = []
    for number, event in enumerate(changes, start=1):
        by = " · ".join(part for part in (event_source(event), event_actor(event)) if part)
        step = Step(number, event.at, by)
        steps.append(step)
        taken.setdefault((event.from_status, event.to_status or ""), []).append(step)
    visited = {status for change in taken for status in change if status}
    nodes = tuple(
        Node(status, status_label(status), x, y, status in visited, status == order.status)
        for status, (x, y) in NODES.items()
    )
    edges = tuple(
        Edge(path, label_x, label_y, tuple(taken.get(key, ()))) for key, (path, (label_x, label_y)) in EDGES.items()
    )
    path = [status_label(changes[0].from_status) if changes and changes[0].from_status else gettext("new")]
    path += [status_label(e.to_status) for e in changes]
    return Lifecycle(nodes, edges, tuple(steps), " → ".join(path))
