"""Bearer tokens: Ed25519-signed JWTs naming a role, verified by every service.

The issuer holds the private key; services hold only the public key, so a compromised service
cannot mint tokens. Keys come from files or the environment, never from the repository. In dev mode
(no key configured) the server generates a key pair under its data folder so that the demo, the tests
and grpcurl users can mint tokens locally with `python -m serving.tokens`.
"""

from __future__ import annotations

import enum
import os
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.errors import PermissionDenied, Unauthenticated

ISSUER = "tongcheng"
AUDIENCE = "tongcheng"
ALGORITHM = "EdDSA"
PRIVATE_KEY_FILE = "token-signing.key.pem"
PUBLIC_KEY_FILE = "token-signing.pub.pem"


class Role(enum.StrEnum):
    """Who a caller is. Riders, merchants and members carry their own id; services and ops do not need one."""

    ORDER_SERVICE = "order_service"
    RIDER = "rider"
    MERCHANT = "merchant"
    OPS = "ops"
    # A customer of the loyalty and coupon services (the mini-program acting for its signed-in user).
    MEMBER = "member"


# Roles whose tokens must name the one rider, merchant or member they act as.
ROLES_WITH_ID = frozenset({Role.RIDER, Role.MERCHANT, Role.MEMBER})


@dataclass(frozen=True)
class Principal:
    """A verified caller."""

    role: Role
    subject_id: str = ""

    def require(self, *roles: Role) -> None:
        """Raises PermissionDenied unless the caller has one of `roles`."""
        if self.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise PermissionDenied(f"role {self.role.value} may not call this (allowed: {allowed})")

    def require_rider(self, rider_id: str) -> None:
        """A rider may act only as itself; ops may act for any rider (simulators, gateways)."""
        if self.role == Role.OPS:
            return
        if self.role != Role.RIDER:
            raise PermissionDenied(f"role {self.role.value} may not act as a rider")
        if rider_id != self.subject_id:
            raise PermissionDenied(f"rider {self.subject_id} may not act as rider {rider_id}")

    def require_member(self, member_id: str) -> None:
        """A member acts only as itself; ops and order services may act for any member."""
        if self.role in (Role.OPS, Role.ORDER_SERVICE):
            return
        if self.role != Role.MEMBER:
            raise PermissionDenied(f"role {self.role.value} may not act as a member")
        if member_id != self.subject_id:
            raise PermissionDenied(f"member {self.subject_id} may not act as member {member_id}")

    def require_merchant(self, merchant_id: str) -> None:
        """A merchant acts only on its own counter; ops and order services may act for any merchant."""
        if self.role in (Role.OPS, Role.ORDER_SERVICE):
            return
        if self.role != Role.MERCHANT:
            raise PermissionDenied(f"role {self.role.value} may not act as a merchant")
        if merchant_id != self.subject_id:
            raise PermissionDenied(f"merchant {self.subject_id} may not act as merchant {merchant_id}")


DEV_PRINCIPAL = Principal(Role.OPS, "dev-mode")


class TokenVerifier:
    """Verifies bearer tokens against a public key, with a small cache of verified tokens."""

    def __init__(self, public_key_pem: bytes, cache_size: int = 50_000) -> None:
        self._key = serialization.load_pem_public_key(public_key_pem)
        self._cache: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._cache_size = cache_size

    def verify(self, token: str) -> Principal:
        cached = self._cache.get(token)
        if cached is not None and cached[1] > time.time():
            self._cache.move_to_end(token)
            return cached[0]
        try:
            claims = jwt.decode(
                token,
                self._key,  # type: ignore[arg-type]
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "role"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"invalid token: {exc}") from None
        try:
            role = Role(claims["role"])
        except ValueError:
            raise Unauthenticated(f"invalid token: unknown role {claims['role']!r}") from None
        subject_id = str(claims.get("id", ""))
        if role in ROLES_WITH_ID and not subject_id:
            raise Unauthenticated(f"invalid token: role {role.value} needs an id")
        principal = Principal(role, subject_id)
        self._cache[token] = (principal, float(claims["exp"]))
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return principal


class TokenIssuer:
    """Mints tokens with the private key (the demo, tests, ops tooling; in production, the login service)."""

    def __init__(self, private_key_pem: bytes) -> None:
        self._key = serialization.load_pem_private_key(private_key_pem, password=None)

    def mint(self, role: Role, subject_id: str = "", ttl_s: int = 3600) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": f"{role.value}:{subject_id}" if subject_id else role.value,
            "role": role.value,
            "iat": now,
            "exp": now + ttl_s,
        }
        if subject_id:
            claims["id"] = subject_id
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)  # type: ignore[arg-type]


class Authenticator:
    """Turns call metadata into a Principal; in dev mode every caller is ops."""

    def __init__(self, verifier: TokenVerifier | None) -> None:
        self._verifier = verifier

    @property
    def enabled(self) -> bool:
        return self._verifier is not None

    @property
    def verifier(self) -> TokenVerifier | None:
        """The token verifier (None in dev mode), for the web pages' own header and cookie handling."""
        return self._verifier

    def authenticate(self, metadata: tuple[tuple[str, str | bytes], ...] | None) -> Principal:
        if self._verifier is None:
            return DEV_PRINCIPAL
        header = next((v for k, v in metadata or () if k == "authorization"), None)
        if header is None:
            raise Unauthenticated("missing authorization metadata (expected 'Bearer <token>')")
        if isinstance(header, bytes):
            header = header.decode("ascii", "replace")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("authorization metadata must be 'Bearer <token>'")
        return self._verifier.verify(token.strip())


def generate_key_pair() -> tuple[bytes, bytes]:
    """A fresh Ed25519 key pair as (private PEM, public PEM)."""
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem


def ensure_dev_keys(key_dir: Path) -> tuple[Path, Path]:
    """Creates a local signing key pair under key_dir once; returns (private, public) paths."""
    key_dir.mkdir(parents=True, exist_ok=True)
    private_path, public_path = key_dir / PRIVATE_KEY_FILE, key_dir / PUBLIC_KEY_FILE
    if not (private_path.exists() and public_path.exists()):
        private_pem, public_pem = generate_key_pair()
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(private_pem)
        public_path.write_bytes(public_pem)
    return private_path, public_path


QUOTE_KEY_FILE = "quote-signing.key"


def ensure_quote_key(key_dir: Path) -> bytes:
    """The HMAC key delivery quotes are signed with (issue 21): 32 random bytes made once under key_dir
    (hex, mode 0600) and shared by every process of the server, like the dev token keys. An operator may
    place their own file there; at least 16 bytes."""
    key_dir.mkdir(parents=True, exist_ok=True)
    path = key_dir / QUOTE_KEY_FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(os.urandom(32).hex())
    return bytes.fromhex(path.read_text().strip())
