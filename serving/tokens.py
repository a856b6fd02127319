"""Mints a bearer token: `python -m serving.tokens --role rider --id r1` (dev keys by default)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from serving.auth import PRIVATE_KEY_FILE, ROLES_WITH_ID, Role, TokenIssuer

DEFAULT_KEY = Path(".tongcheng") / "keys" / PRIVATE_KEY_FILE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--role", required=True, choices=[r.value for r in Role])
    parser.add_argument("--id", default="", help="rider, merchant or member id (required for those roles)")
    parser.add_argument("--ttl-s", type=int, default=3600)
    parser.add_argument(
        "--private-key",
        type=Path,
        default=Path(os.environ.get("TONGCHENG_AUTH_PRIVATE_KEY_FILE", DEFAULT_KEY)),
        help="PEM file of the signing key (default: the dev key the server made under .tongcheng/keys)",
    )
    ns = parser.parse_args(argv)
    role = Role(ns.role)
    if role in ROLES_WITH_ID and not ns.id:
        parser.error(f"--id is required for role {role.value}")
    if not ns.private_key.exists():
        parser.error(f"no signing key at {ns.private_key}: start server.py once, or pass --private-key")
    print(TokenIssuer(ns.private_key.read_bytes()).mint(role, ns.id, ns.ttl_s))
    return 0


if __name__ == "__main__":
    sys.exit(main())
