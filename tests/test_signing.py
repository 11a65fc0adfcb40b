"""Signed artifacts: `csdsl keygen`, `compile --sign`, `run --verify-key`, the host API and
the reloading host that keeps its last good artifact (issue 8, part 3)."""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from csdsl_runtime import ArtifactError, ArtifactSource, load, load_data, signing
from csdsl_runtime import artifact as A
from csdsl_runtime.artifact import meaning_hash
from tests import clikit
from tests.rtkit import ASOF, compile_spec_text
from tests.test_runtime import RULES, drop_data

ROOT = Path(__file__).resolve().parent.parent
OTHER_RULE = 'rule other { when arr > 5  then cta risk "Other" }\n'


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    """A key pair: the prefix (private key); `.pub` beside it."""
    prefix = tmp_path / "keys" / "csdsl"
    signing.write_key_pair(prefix)
    return prefix


def _pub(prefix: Path) -> Path:
    return Path(f"{prefix}.pub")


def _write(path: Path, artifact: A.Artifact) -> Path:
    path.write_text(artifact.to_json(), encoding="utf-8")
    return path


def _signed(tmp_path: Path, prefix: Path, rules: str = RULES, name: str = "spec.json") -> Path:
    artifact = compile_spec_text(tmp_path / name.removesuffix(".json"), rules)
    key = signing.load_private_key(prefix)
    return _write(tmp_path / name, signing.sign_artifact(artifact, key))


def _edited(path: Path, change: Callable[[dict[str, Any]], object], rehash: bool = True,
            name: str = "edited.json") -> Path:
    """A copy of the artifact changed as a forger would: its hash recomputed, so that
    only the signature can tell."""
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    if rehash:
        data["spec_hash"] = meaning_hash(data)
    out = path.with_name(name)
    out.write_text(A.canonical_json(data) + "\n", encoding="utf-8")
    return out


# ---------------------------------------------------------------- keygen


def test_keygen_writes_a_private_key_only_its_owner_reads_and_a_public_key(
        tmp_path: Path) -> None:
    done = clikit.csdsl("keygen", "-o", "keys/ops", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    private, public = tmp_path / "keys" / "ops", tmp_path / "keys" / "ops.pub"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert stat.S_IMODE(public.stat().st_mode) & 0o044 == 0o044  # readable by hosts
    assert private.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert public.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    key = signing.load_private_key(private)
    assert signing.key_id(signing.public_key(public)) == signing.key_id(key)
    assert signing.key_id(key) in done.stderr
    assert not [p for p in private.parent.iterdir() if p.name.endswith(".tmp")]


def test_keygen_refuses_to_overwrite_unless_forced(tmp_path: Path) -> None:
    assert clikit.csdsl("keygen", "-o", "k", cwd=tmp_path).returncode == 0
    before = (tmp_path / "k").read_bytes()
    again = clikit.csdsl("keygen", "-o", "k", cwd=tmp_path)
    assert again.returncode == 2 and "exists; use --force" in again.stderr
    assert (tmp_path / "k").read_bytes() == before
    (tmp_path / "k").unlink()  # only the public key left: still refused
    assert clikit.csdsl("keygen", "-o", "k", cwd=tmp_path).returncode == 2
    assert not (tmp_path / "k").exists()
    forced = clikit.csdsl("keygen", "-o", "k", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert stat.S_IMODE((tmp_path / "k").stat().st_mode) == 0o600


@pytest.mark.parametrize("argv", [("keygen",), ("keygen", "-o", "."), ("keygen", "-o", "d/")])
def test_keygen_bad_usage(tmp_path: Path, argv: tuple[str, ...]) -> None:
    (tmp_path / "d").mkdir()
    assert clikit.csdsl(*argv, cwd=tmp_path).returncode == 2


# ---------------------------------------------------------------- sign and verify


def test_signed_artifact_verifies_with_a_path_bytes_or_key_object(tmp_path: Path,
                                                                  keys: Path) -> None:
    path = _signed(tmp_path, keys)
    key = signing.public_key(_pub(keys))
    for verify_key in (_pub(keys), str(_pub(keys)), _pub(keys).read_bytes(), key,
                       key.public_bytes_raw()):
        artifact = load(path, verify_key=verify_key)
        assert artifact.signature is not None
        assert artifact.signature.key_id == signing.key_id(key)
    assert load(path).rules == artifact.rules  # a host without a key ignores the signature
    # the signature is over the content, not the layout: re-indented, it still verifies
    data = json.loads(path.read_text(encoding="utf-8"))
    (tmp_path / "indented.json").write_text(json.dumps(data, indent=4), encoding="utf-8")
    assert load(tmp_path / "indented.json", verify_key=key).signature == artifact.signature


def test_signature_adds_one_field_and_leaves_the_rest_byte_identical(tmp_path: Path,
                                                                     keys: Path) -> None:
    unsigned = compile_spec_text(tmp_path, RULES)
    text = unsigned.to_json()
    assert '"signature"' not in text and unsigned.format_version == A.FORMAT_VERSION == "1.2"
    signed = signing.sign_artifact(unsigned, signing.load_private_key(keys))
    data = json.loads(signed.to_json())
    assert set(data["signature"]) == {"alg", "key_id", "value"}
    assert data["signature"]["alg"] == "ed25519"
    assert len(base64.b64decode(data["signature"]["value"])) == 64
    del data["signature"]
    assert A.canonical_json(data) + "\n" == text
    assert signed.spec_hash == unsigned.spec_hash == signed.compute_hash()  # outside the hash
    # it signs exactly the documented bytes
    signing.public_key(_pub(keys)).verify(
        base64.b64decode(json.loads(signed.to_json())["signature"]["value"]),
        json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(),
    )


def test_signed_artifact_validates_against_the_checked_in_schema(tmp_path: Path,
                                                                 keys: Path) -> None:
    schema = json.loads((ROOT / "specs" / "artifact.schema.json").read_text(encoding="utf-8"))
    data = json.loads(_signed(tmp_path, keys).read_text(encoding="utf-8"))
    jsonschema.validate(data, schema)
    data["signature"]["extra"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)


def test_unsigned_artifact_is_refused(tmp_path: Path, keys: Path) -> None:
    path = _write(tmp_path / "spec.json", compile_spec_text(tmp_path, RULES))
    with pytest.raises(ArtifactError, match="not signed, and a signature is required"):
        load(path, verify_key=_pub(keys))
    assert load(path).rules  # still fine for a host that does not insist


def test_a_changed_byte_is_refused_even_with_the_hash_recomputed(tmp_path: Path,
                                                                  keys: Path) -> None:
    path = _signed(tmp_path, keys)

    def flip(data: dict[str, Any]) -> None:  # "Usage dropped" -> "Usage droppee"
        action = data["rules"][0]["actions"][0]
        action["title"] = action["title"].replace("dropped", "droppee")

    forged = _edited(path, flip)
    assert load(forged).rules[0].actions[0].title.startswith("Usage droppee")  # hash matches
    with pytest.raises(ArtifactError, match="the signature does not verify"):
        load(forged, verify_key=_pub(keys))


@pytest.mark.parametrize("field", ["format_version", "spec_hash"])
def test_the_unhashed_fields_are_signed_too(tmp_path: Path, keys: Path, field: str) -> None:
    path = _signed(tmp_path, keys)
    forged = _edited(path, lambda d: d.update({field: d[field][:-1] + "0"}), rehash=False)
    with pytest.raises(ArtifactError, match="the signature does not verify"):
        load(forged, verify_key=_pub(keys))


def test_a_signature_by_another_key_is_refused(tmp_path: Path, keys: Path) -> None:
    other = tmp_path / "other"
    signing.write_key_pair(other)
    path = _signed(tmp_path, other)
    with pytest.raises(ArtifactError, match="signed by another key"):
        load(path, verify_key=_pub(keys))
    # the key id is a hint outside what is signed: a forged one does not help
    expected = signing.key_id(signing.public_key(_pub(keys)))
    forged = _edited(path, lambda d: d["signature"].update(key_id=expected), rehash=False)
    with pytest.raises(ArtifactError, match="the signature does not verify"):
        load(forged, verify_key=_pub(keys))


def test_load_data_checks_the_signature_of_data_the_host_fetched(tmp_path: Path,
                                                                  keys: Path) -> None:
    data = json.loads(_signed(tmp_path, keys).read_text(encoding="utf-8"))
    assert load_data(data, verify_key=_pub(keys)).signature is not None
    data["rules"][0]["title"] = "Changed"
    data["spec_hash"] = meaning_hash(data)
    with pytest.raises(ArtifactError, match="the signature does not verify"):
        load_data(data, "fetched", verify_key=_pub(keys))
    del data["signature"]
    with pytest.raises(ArtifactError, match="not signed"):
        load_data(data, verify_key=_pub(keys))


def test_a_stripped_signature_is_refused(tmp_path: Path, keys: Path) -> None:
    stripped = _edited(_signed(tmp_path, keys), lambda d: d.pop("signature"), rehash=False)
    with pytest.raises(ArtifactError, match="not signed"):
        load(stripped, verify_key=_pub(keys))
    assert load(stripped).signature is None  # the hash never covered it


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.update(value="not base64!"), "not base64"),
        (lambda s: s.update(value=base64.b64encode(b"short").decode()), "does not verify"),
        (lambda s: s.update(alg="rsa"), "algorithm `rsa` is not supported"),
        (lambda s: s.pop("key_id"), "malformed signature"),
        (lambda s: s.update(extra=1), "malformed signature"),
    ],
)
def test_malformed_signatures_are_refused(tmp_path: Path, keys: Path,
                                          change: Callable[[dict[str, Any]], object],
                                          message: str) -> None:
    forged = _edited(_signed(tmp_path, keys), lambda d: change(d["signature"]), rehash=False)
    with pytest.raises(ArtifactError, match=message):
        load(forged, verify_key=_pub(keys))


def test_the_signature_is_checked_before_the_expensive_validation(tmp_path: Path,
                                                                   keys: Path) -> None:
    """A forged file is refused for its signature, whatever else is wrong with it: the
    hash, the format, the content are never looked at."""
    path = _signed(tmp_path, keys)
    forged = _edited(path, lambda d: d.update(format_version="9.0", rules=[{"op": "eval"}]),
                     rehash=False)
    with pytest.raises(ArtifactError, match="the signature does not verify"):
        load(forged, verify_key=_pub(keys))
    # deep nesting a forger adds is refused as such, not as a RecursionError
    deep = '{"format_version": "1.1", "rules": ' + "[" * 100_000 + "]" * 100_000 + "}"
    (tmp_path / "deep.json").write_text(deep, encoding="utf-8")
    with pytest.raises(ArtifactError, match=r"too deep|not signed"):
        load(tmp_path / "deep.json", verify_key=_pub(keys))
    # and a large forged artifact costs a serialisation, not a validation
    big = json.loads(path.read_text(encoding="utf-8"))
    big["rules"] = big["rules"] * 5_000  # 4 MB
    (tmp_path / "big.json").write_text(json.dumps(big), encoding="utf-8")
    started = time.perf_counter()
    with pytest.raises(ArtifactError, match="the signature does not verify"):
        load(tmp_path / "big.json", verify_key=_pub(keys))
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize(
    ("verify_key", "message"),
    [
        ("missing.pub", "cannot read the verify key"),
        ("csdsl", "is a private key"),  # the private key: hosts never need it
        (b"not a key", "is not a public key"),
        (Ed25519PrivateKey.generate(), "a private key was given"),
        (42, "not a int"),
    ],
)
def test_bad_verify_keys_are_the_hosts_mistake(tmp_path: Path, keys: Path, verify_key: object,
                                               message: str) -> None:
    path = _signed(tmp_path, keys)
    if isinstance(verify_key, str):
        verify_key = keys.parent / verify_key
    with pytest.raises(signing.SigningKeyError, match=message):
        load(path, verify_key=verify_key)


def test_verify_data_for_hosts_that_parse_the_json_themselves(tmp_path: Path,
                                                              keys: Path) -> None:
    data = json.loads(_signed(tmp_path, keys).read_text(encoding="utf-8"))
    key = signing.public_key(_pub(keys))
    signing.verify_data(data, key)
    assert load_data(data).signature is not None
    data["rules"][0]["priority"] = "low"
    with pytest.raises(ArtifactError, match="does not verify"):
        signing.verify_data(data, key)
    with pytest.raises(ArtifactError, match="not a csdsl artifact"):
        signing.verify_data([data], key)


# ---------------------------------------------------------------- the command lines


@pytest.fixture
def project(tmp_path: Path, keys: Path) -> Path:
    compile_spec_text(tmp_path, RULES)  # writes tmp/spec
    drop_data().write(tmp_path / "data")
    return tmp_path


def _run(project: Path, spec: str, *more: str, tool: str = "csdsl") -> clikit.Result:
    return clikit.run(tool, "run", spec, "--data", "data", "--as-of", ASOF.isoformat(),
                      "--quiet", *more, cwd=project)


def test_compile_sign_then_run_verify_key(project: Path, keys: Path) -> None:
    done = clikit.csdsl("compile", "spec", "-o", "build/spec.json", "--sign", str(keys),
                        cwd=project)
    assert done.returncode == 0, done.stderr
    key_id = signing.key_id(signing.load_private_key(keys))
    assert f"signed by key {key_id}" in done.stderr
    for tool in ("csdsl", "csdsl-runtime"):
        ran = _run(project, "build/spec.json", "--dry-run", "--verify-key", f"{keys}.pub",
                   tool=tool)
        assert ran.returncode == 0, ran.stderr
    ran = _run(project, "build/spec.json", "--verify-key", f"{keys}.pub")
    assert ran.returncode == 0 and "opened 1 CTAs" in ran.stdout, ran.stderr
    to_stdout = clikit.csdsl("compile", "spec", "-o", "-", "--sign", str(keys), cwd=project)
    assert to_stdout.returncode == 0
    assert json.loads(to_stdout.stdout)["signature"]["key_id"] == key_id


def test_run_verify_key_exit_statuses(project: Path, keys: Path) -> None:
    assert clikit.csdsl("compile", "spec", "-o", "unsigned.json", cwd=project).returncode == 0
    signed = _signed(project, keys, name="signed.json")
    _edited(signed, lambda d: d["rules"][0].update(priority="low"), name="forged.json")
    other = project / "other"
    signing.write_key_pair(other)
    pub = f"{keys}.pub"
    cases = [
        (("signed.json", "--verify-key", pub), 0, ""),
        (("signed.json",), 0, ""),  # no key: the signature is not needed
        (("unsigned.json", "--verify-key", pub), 1, "not signed"),
        (("forged.json", "--verify-key", pub), 1, "does not verify"),
        (("signed.json", "--verify-key", f"{other}.pub"), 1, "signed by another key"),
        (("spec", "--verify-key", pub), 2, "needs a signed compiled artifact"),
        (("spec/main.cs", "--verify-key", pub), 2, "needs a signed compiled artifact"),
        (("signed.json", "--verify-key", "missing.pub"), 2, "cannot read the verify key"),
        (("signed.json", "--verify-key", str(keys)), 2, "is a private key"),
        (("missing.json", "--verify-key", pub), 2, "no such file"),
    ]
    for args, status, message in cases:
        for tool in ("csdsl", "csdsl-runtime"):
            if tool == "csdsl-runtime" and args[0].startswith("spec"):
                continue  # the runtime alone compiles nothing: a spec is no file it runs
            ran = _run(project, *args, "--dry-run", tool=tool)
            assert ran.returncode == status, (tool, args, ran.stderr)
            assert message in ran.stderr, (tool, args, ran.stderr)
            assert "Traceback" not in ran.stderr and "internal error" not in ran.stderr


def test_run_verify_key_refuses_a_spec_before_compiling_it(project: Path, keys: Path) -> None:
    (project / "spec" / "main.cs").write_text("rule broken {", encoding="utf-8")
    ran = _run(project, "spec", "--verify-key", f"{keys}.pub")
    assert ran.returncode == 2 and "needs a signed compiled artifact" in ran.stderr
    assert "error[" not in ran.stderr  # no diagnostics: it was not compiled


@pytest.mark.parametrize(
    ("key", "message"),
    [("csdsl.pub", "is a public key: --sign takes the private key"),
     ("missing", "cannot read the private key")],
)
def test_compile_sign_bad_keys(project: Path, keys: Path, key: str, message: str) -> None:
    done = clikit.csdsl("compile", "spec", "-o", "out.json", "--sign", str(keys.parent / key),
                        cwd=project)
    assert done.returncode == 2 and message in done.stderr
    assert not (project / "out.json").exists()


def test_compile_sign_refuses_a_key_of_another_algorithm(project: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    (project / "ec.pem").write_bytes(pem)
    done = clikit.csdsl("compile", "spec", "-o", "out.json", "--sign", "ec.pem", cwd=project)
    assert done.returncode == 2 and "is not an Ed25519 key" in done.stderr


# ---------------------------------------------------------------- a host that reloads


def test_reloading_host_keeps_the_last_good_artifact(tmp_path: Path, keys: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    live = tmp_path / "live.json"
    first = _signed(tmp_path, keys, name="first.json")
    os.replace(first, live)
    source = ArtifactSource(live, verify_key=f"{keys}.pub")
    good = source.current
    assert good is not None and source.last_error is None
    assert not source.reload()  # the same artifact again: nothing new taken
    assert not source.poll()  # unchanged file: not even read

    def update(path: Path) -> None:
        os.replace(path, live)  # as `csdsl compile` writes: a whole new file

    # tampered (and re-hashed): refused, the last good one kept, and why
    update(_edited(live, lambda d: d["rules"][0].update(priority="low"), name="tampered.json"))
    with caplog.at_level(logging.WARNING, logger="csdsl_runtime.reload"):
        assert not source.poll()
    assert source.current is good
    assert source.last_error is not None and "does not verify" in str(source.last_error)
    assert "keeping sha256:" in caplog.text

    # unsigned: refused too
    _write(live, compile_spec_text(tmp_path / "unsigned", OTHER_RULE))
    assert not source.reload()
    assert source.current is good and "not signed" in str(source.last_error)

    # not even JSON (a half-written file), then gone: still the last good one
    live.write_text('{"format_version": ', encoding="utf-8")
    assert not source.reload() and source.current is good
    live.unlink()
    assert not source.poll() and source.current is good
    assert "cannot read" in str(source.last_error)

    # a good, new signed artifact: taken
    update(_signed(tmp_path, keys, OTHER_RULE, name="second.json"))
    assert source.poll()
    assert source.current is not None and source.current is not good
    assert [r.name for r in source.current.rules] == ["other"]
    assert source.last_error is None


def test_reloading_host_without_a_first_good_artifact(tmp_path: Path, keys: Path) -> None:
    live = _write(tmp_path / "live.json", compile_spec_text(tmp_path, RULES))  # unsigned
    source = ArtifactSource(live, verify_key=_pub(keys))
    assert source.current is None and "not signed" in str(source.last_error)
    os.replace(_signed(tmp_path, keys, name="signed.json"), live)
    assert source.reload() and source.current is not None and source.last_error is None
    # without a key, any artifact that loads is taken
    plain = ArtifactSource(_write(tmp_path / "plain.json", compile_spec_text(tmp_path, RULES)))
    assert plain.current is not None and plain.current.signature is None


def test_reloading_host_reads_its_key_once_and_refuses_a_bad_one(tmp_path: Path) -> None:
    with pytest.raises(signing.SigningKeyError, match="cannot read the verify key"):
        ArtifactSource(tmp_path / "live.json", verify_key=tmp_path / "missing.pub")


def test_the_readme_signing_example_runs(tmp_path: Path) -> None:
    text = (ROOT / "runtime" / "README.md").read_text(encoding="utf-8")
    (code,) = [c for c in re.findall(r"```py\n(.*?)```", text, re.S) if "ArtifactSource" in c]
    keys = tmp_path / "keys" / "csdsl"
    (tmp_path / "build").mkdir()
    signing.write_key_pair(keys)
    _signed(tmp_path, keys, name="build/spec.json")
    namespace: dict[str, object] = {}
    saved = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(compile(code, "runtime/README.md", "exec"), namespace)
    finally:
        os.chdir(saved)
    source = namespace["source"]
    assert isinstance(source, ArtifactSource) and source.current == namespace["artifact"]
