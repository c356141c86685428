"""Bearer tokens: the emulator's own development issuer, and issuers it is told to trust.

Azure AI services take Microsoft Entra ID access tokens (``Authorization: Bearer <JWT>``,
audience ``https://cognitiveservices.azure.com``) beside keys. The emulator cannot reach
Entra, so it issues tokens itself for development (``POST /_emulator/token``, which needs a
key) and accepts tokens from any issuer whose public keys ``--trust-jwks FILE`` lists (a JSON
Web Key Set, as an identity provider publishes at its ``jwks_uri``).

Every check is PyJWT's: the signature (HS256 for the development issuer, whose secret is
derived from the encryption key so every node of a cluster verifies every other's tokens;
RS256/ES256/PS256/EdDSA for a trusted set, by the token's ``kid``), ``exp``, ``nbf`` and
``aud``, with no leeway. The development issuer's tokens name the key that asked for them
(``sub``: the key's billing digest, never the key), so what they submit bills that key.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from jwt.types import Options

from emulator.security.crypto import RecordCipher

#: The audience of tokens for Azure AI services (scope ``<audience>/.default``).
AUDIENCE = "https://cognitiveservices.azure.com"
#: The ``iss`` of the development issuer's tokens.
DEV_ISSUER = "https://ocr-emulator.invalid/development-issuer"
#: Longest and default lifetime of a development token, in seconds.
MAX_LIFETIME = 24 * 3600
DEFAULT_LIFETIME = 3600
#: Signature algorithms accepted from a trusted key set (never ``none``, never HMAC).
ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA")


class TokenError(Exception):
    """A token that does not authenticate; the message says why (no token content)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a valid token names: its issuer and subject, and whether the development issuer's
    own key signed it (only then is the subject a key's billing digest)."""

    issuer: str
    subject: str
    development: bool = False

    @property
    def identity(self) -> str:
        """Who the token is, for its meter and its rate window: a development token's subject
        (the digest of the key that asked for it), else issuer and subject together (two
        issuers may use the same subject)."""
        return self.subject if self.development else f"{self.issuer}|{self.subject}"


class TokenAuthority:
    """Issues development tokens and verifies bearer tokens."""

    def __init__(self, cipher: RecordCipher, trusted_jwks: Path | None = None) -> None:
        # A secret no value derived from the encryption key elsewhere reveals.
        self._secret = bytes.fromhex(cipher.digest("token-signing", b"development issuer"))
        self._trusted: jwt.PyJWKSet | None = None
        if trusted_jwks is not None:
            self._trusted = load_jwks(trusted_jwks)

    def issue(self, subject: str, lifetime: int, now: float | None = None) -> dict[str, Any]:
        """A development token for ``subject``, valid ``lifetime`` seconds from ``now``:
        ``{"access_token", "token_type": "Bearer", "expires_on"}``."""
        issued = int(time.time() if now is None else now)
        expires = issued + lifetime
        claims = {
            "iss": DEV_ISSUER,
            "aud": AUDIENCE,
            "sub": subject,
            "iat": issued,
            "nbf": issued,
            "exp": expires,
        }
        token = jwt.encode(claims, self._secret, algorithm="HS256")
        return {"access_token": token, "token_type": "Bearer", "expires_on": expires}

    def verify(self, token: str) -> Principal:
        """The principal ``token`` names; :class:`TokenError` unless it is signed by the
        development issuer or a trusted key, meant for Azure AI services, and valid now."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenError("The token is not a JSON Web Token.") from None
        algorithm = header.get("alg")
        options: Options = {"require": ["exp", "nbf", "aud", "sub"]}
        try:
            if algorithm == "HS256":
                claims = jwt.decode(
                    token,
                    self._secret,
                    algorithms=["HS256"],
                    audience=AUDIENCE,
                    issuer=DEV_ISSUER,
                    options=options,
                )
                development = True
            elif algorithm in ASYMMETRIC and self._trusted is not None:
                key = self._trusted_key(header.get("kid"))
                claims = jwt.decode(
                    token, key, algorithms=list(ASYMMETRIC), audience=AUDIENCE, options=options
                )
                development = False
                if claims.get("iss") == DEV_ISSUER:
                    # Only the development key speaks for the development issuer: a trusted
                    # issuer's token naming it would pass for a key's development token, and
                    # act as that key.
                    raise TokenError("The token names an issuer its signing key does not sign for.")
            else:
                raise TokenError("The token is not signed by an issuer this emulator trusts.")
        except jwt.ExpiredSignatureError:
            raise TokenError("The token has expired.") from None
        except jwt.ImmatureSignatureError:
            raise TokenError("The token is not valid yet.") from None
        except jwt.InvalidAudienceError:
            raise TokenError(f"The token's audience is not {AUDIENCE}.") from None
        except jwt.InvalidSignatureError:
            raise TokenError("The token's signature does not verify.") from None
        except jwt.PyJWTError as error:
            raise TokenError(f"The token is not valid: {type(error).__name__}.") from None
        return Principal(
            issuer=str(claims.get("iss", "")), subject=str(claims["sub"]), development=development
        )

    def _trusted_key(self, kid: object) -> Any:
        assert self._trusted is not None
        for key in self._trusted.keys:
            if kid is None or key.key_id == kid:
                return key.key
        raise TokenError("The token's signing key is not in the trusted key set.")


def load_jwks(path: Path) -> jwt.PyJWKSet:
    """The key set in ``path`` (``{"keys": [...]}``); ``ValueError`` if it holds none."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        keys = jwt.PyJWKSet.from_dict(document)
    except (OSError, ValueError, jwt.PyJWTError) as error:
        raise ValueError(f"cannot read the key set {path}: {error}") from None
    if not keys.keys:
        raise ValueError(f"the key set {path} has no usable key")
    return keys
