"""Ed25519 signatures of compiled artifacts: a host can insist on artifacts a key signed.

OPA's bundle signing is the model. `csdsl keygen -o PREFIX` writes a key pair as PEM
files (`PREFIX`: the private key, PKCS#8, mode 0600; `PREFIX.pub`: the public key,
SubjectPublicKeyInfo; the formats `openssl genpkey -algorithm ed25519` and
`openssl pkey -pubout` use). `csdsl compile --sign PREFIX` adds a top-level `signature`
to the artifact:

    "signature": {"alg": "ed25519", "key_id": "<16 hex>", "value": "<base64>"}

`value` signs `signed_bytes(data)`: the canonical JSON of the whole artifact without its
`signature` (keys sorted, separators `,` and `:`, UTF-8, no NaN: the form `spec_hash`
hashes), so it covers `format_version` and `spec_hash` too, and not the layout of the
file. `key_id` is the first 16 hex digits of the sha256 of the 32 raw bytes of the public
key: it tells which key signed, so a host can say "signed by another key"; being outside
what is signed, it proves nothing by itself.

A host verifies right after parsing the JSON, before the hash, the format version and the
validation (`load(path, verify_key=...)`): a forged or unsigned file costs one
serialisation and one signature check, never the deep work. Key problems (a missing
file, a private key where a public one belongs) are `SigningKeyError`, the host's or
the user's mistake (bad usage); an artifact that is unsigned or does not verify is
`ArtifactError` (a spec error, like a tampered hash).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final, Literal

import msgspec
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from csdsl_runtime.artifact import Artifact, Signature
from csdsl_runtime.loader import ArtifactError

ALGORITHM: Final[Literal["ed25519"]] = "ed25519"
SIGNATURE_FIELD = "signature"
PUBLIC_SUFFIX = ".pub"

PublicKeySource = str | os.PathLike[str] | bytes | Ed25519PublicKey
"""What a host may pass as a verify key: a public key file's path, its PEM (or DER, or
the 32 raw bytes) content, or a key object."""


class SigningKeyError(Exception):
    """A key that cannot be read, is not Ed25519, or is of the wrong kind (bad usage)."""


# ---------------------------------------------------------------- keys


def key_id(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """The short name of a key pair: 16 hex digits of sha256 over the raw public key."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def public_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo)


def key_paths(prefix: str | os.PathLike[str]) -> tuple[Path, Path]:
    """`PREFIX` (private) and `PREFIX.pub` (public)."""
    text = os.fspath(prefix)
    return Path(text), Path(text + PUBLIC_SUFFIX)


def write_key_pair(prefix: str | os.PathLike[str], force: bool = False) -> Ed25519PrivateKey:
    """A new key pair written to `PREFIX` (mode 0600) and `PREFIX.pub` (mode 0644); an
    existing file is refused unless `force`. Each file is written whole or not at all."""
    private_path, public_path = key_paths(prefix)
    if not os.fspath(prefix) or private_path.is_dir() or os.fspath(prefix).endswith(os.sep):
        raise SigningKeyError(f"`{os.fspath(prefix)}` is a directory: give a file prefix, "
                              "e.g. `keys/csdsl`")
    if not force:
        for path in (private_path, public_path):
            if path.exists() or path.is_symlink():
                raise SigningKeyError(f"`{path}` exists; use --force to overwrite it")
    key = Ed25519PrivateKey.generate()
    try:
        private_path.parent.mkdir(parents=True, exist_ok=True)
        _write_file(private_path, private_pem(key), 0o600)
        _write_file(public_path, public_pem(key), 0o644)
    except OSError as exc:
        raise SigningKeyError(f"cannot write `{exc.filename or prefix}`: "
                              f"{exc.strerror or exc}") from None
    return key


def _write_file(path: Path, content: bytes, mode: int) -> None:
    """Write through a temporary file created with `mode` (never readable by others on
    the way), then rename it over `path`."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, mode)  # whatever the umask
            os.write(fd, content)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _read_key_file(path: str | os.PathLike[str], what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise SigningKeyError(f"cannot read the {what} `{os.fspath(path)}`: "
                              f"{exc.strerror or exc}") from None


def load_private_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """The signing key in `path` (`csdsl compile --sign PATH`): an unencrypted PEM (or DER)
    Ed25519 private key, as `csdsl keygen` writes."""
    content = _read_key_file(path, "private key")
    name = os.fspath(path)
    try:
        if content.lstrip().startswith(b"-----BEGIN"):
            if b"PUBLIC KEY-----" in content and b"PRIVATE KEY-----" not in content:
                raise SigningKeyError(f"`{name}` is a public key: --sign takes the private "
                                      f"key (`csdsl keygen -o PREFIX` writes it as PREFIX)")
            key = serialization.load_pem_private_key(content, password=None)
        else:
            key = serialization.load_der_private_key(content, password=None)
    except TypeError:  # encrypted
        raise SigningKeyError(f"`{name}`: encrypted private keys are not supported; "
                              "give an unencrypted PEM key") from None
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise SigningKeyError(f"`{name}` is not a private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"`{name}` is not an Ed25519 key (a "
                              f"{type(key).__name__.lstrip('_')}); make one with `csdsl keygen`")
    return key


def public_key(source: object) -> Ed25519PublicKey:
    """The verify key a host gave: a path to a public key file, its content (PEM, DER or
    the 32 raw bytes), or an `Ed25519PublicKey`."""
    if isinstance(source, Ed25519PublicKey):
        return source
    if isinstance(source, Ed25519PrivateKey):
        raise SigningKeyError("a private key was given to verify with: give its public key "
                              "(`PREFIX.pub`); hosts need never hold a private key")
    if isinstance(source, str | os.PathLike):
        name = os.fspath(source)
        return _public_from_bytes(_read_key_file(source, "verify key"), f"`{name}`")
    if isinstance(source, bytes | bytearray | memoryview):
        return _public_from_bytes(bytes(source), "the verify key")
    raise SigningKeyError(f"a verify key is a path, bytes or an Ed25519PublicKey, not a "
                          f"{type(source).__name__}")


def _public_from_bytes(content: bytes, name: str) -> Ed25519PublicKey:
    try:
        if content.lstrip().startswith(b"-----BEGIN"):
            if b"PRIVATE KEY-----" in content:
                raise SigningKeyError(f"{name} is a private key: verify with the public key "
                                      "(`PREFIX.pub`); hosts need never hold a private key")
            key = serialization.load_pem_public_key(content)
        elif len(content) == 32:
            key = Ed25519PublicKey.from_public_bytes(content)
        else:
            key = serialization.load_der_public_key(content)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise SigningKeyError(f"{name} is not a public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"{name} is not an Ed25519 key (a "
                              f"{type(key).__name__.lstrip('_')}); make one with `csdsl keygen`")
    return key


# ---------------------------------------------------------------- signing


def signed_bytes(data: Mapping[str, Any]) -> bytes:
    """What a signature signs: the canonical JSON of the artifact data without its
    `signature` (sorted keys, separators `,` and `:`, UTF-8, no NaN)."""
    body = {k: v for k, v in data.items() if k != SIGNATURE_FIELD}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)
    return text.encode("utf-8")


def sign_artifact(artifact: Artifact, key: Ed25519PrivateKey) -> Artifact:
    """The artifact with a signature by `key` (any signature it had is replaced)."""
    # sign what a host will parse back from the written text, not the model's dump
    data = json.loads(msgspec.structs.replace(artifact, signature=None).to_json())
    value = base64.b64encode(key.sign(signed_bytes(data))).decode("ascii")
    return msgspec.structs.replace(
        artifact, signature=Signature(alg=ALGORITHM, key_id=key_id(key), value=value)
    )


def verify_data(data: Any, key: Ed25519PublicKey, origin: str = "artifact") -> None:
    """Refuse (`ArtifactError`) artifact JSON data that is unsigned or whose signature by
    `key` does not verify. Cheap: it runs before the hash and the validation."""
    if not isinstance(data, dict):
        raise ArtifactError(f"{origin}: not a csdsl artifact (expected a JSON object)")
    signature = data.get(SIGNATURE_FIELD)
    if signature is None:
        raise ArtifactError(
            f"{origin}: not signed, and a signature is required (a verify key was given): "
            "compile it with `csdsl compile --sign KEY`"
        )
    if not isinstance(signature, dict) or set(signature) != {"alg", "key_id", "value"}:
        raise ArtifactError(f"{origin}: malformed signature: expected an object with "
                            "`alg`, `key_id` and `value`")
    if signature["alg"] != ALGORITHM:
        raise ArtifactError(f"{origin}: signature algorithm `{signature['alg']}` is not "
                            f"supported (only {ALGORITHM})")
    expected = key_id(key)
    if signature["key_id"] != expected:
        raise ArtifactError(f"{origin}: signed by another key ({signature['key_id']}), "
                            f"not the verify key ({expected})")
    try:
        value = base64.b64decode(str(signature["value"]), validate=True)
    except (binascii.Error, ValueError):
        raise ArtifactError(f"{origin}: malformed signature: `value` is not base64") from None
    try:
        if _verifies(key, value, _quick_signed_bytes(data)):
            return
        message = signed_bytes(data)
    except RecursionError:
        raise ArtifactError(f"{origin}: nests too deeply: not an artifact the compiler "
                            "wrote") from None
    except (TypeError, ValueError, msgspec.EncodeError) as exc:  # not JSON data
        raise ArtifactError(f"{origin}: not JSON data ({exc})") from None
    if not _verifies(key, value, message):
        raise ArtifactError(
            f"{origin}: the signature does not verify: the artifact was changed after it "
            f"was signed (key {expected})"
        ) from None


def _quick_signed_bytes(data: Mapping[str, Any]) -> bytes:
    """`signed_bytes` by msgspec, 5x faster: the same bytes but for floats written with an
    exponent (`1e16`, not `1e+16`), where the exact bytes decide. Either verifying proves
    the content: the signed text decodes to the data at hand."""
    body = {k: v for k, v in data.items() if k != SIGNATURE_FIELD}
    return msgspec.json.encode(body, order="sorted")


def _verifies(key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def signature_check(verify_key: object) -> Callable[[Any, str], None]:
    """`verify_data` bound to a verify key, read once (a `SigningKeyError` now if bad)."""
    key = public_key(verify_key)

    def check(data: Any, origin: str) -> None:
        verify_data(data, key, origin)

    return check
