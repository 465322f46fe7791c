"""Leases: at most one process at a time runs a named job, across every app instance."""

from __future__ import annotations

import os
import secrets
import socket
from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from .extensions import db, write_transaction
from .models import Lease, now_utc

#: This process's name as a lease holder.
HOLDER = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def acquire(name: str, seconds: float, holder: str = HOLDER) -> bool:
    """Take or renew the lease ``name`` for ``seconds``; False while another holder has it."""
    now = now_utc()
    try:
        with write_transaction():
            lease = db.session.get(Lease, name, with_for_update=True, populate_existing=True)
            if lease is None:
                db.session.add(Lease(name=name, holder=holder, expires_at=now + timedelta(seconds=seconds)))
            elif lease.holder == holder or lease.expires_at <= now:
                lease.holder, lease.expires_at = holder, now + timedelta(seconds=seconds)
            else:
                return False
    except IntegrityError:
        return False  # another process created it first
    return True


def release(name: str, holder: str = HOLDER) -> None:
    """Give the lease up now, if this holder has it."""
    with write_transaction():
        lease = db.session.get(Lease, name, with_for_update=True, populate_existing=True)
        if lease is not None and lease.holder == holder:
            lease.expires_at = now_utc()
