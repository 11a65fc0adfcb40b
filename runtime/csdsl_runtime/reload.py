"""A compiled artifact that a long-running host reloads, keeping the last good one.

    source = ArtifactSource("build/spec.json", verify_key="keys/csdsl.pub")
    if source.current is None:            # the first load failed: nothing to run yet
        raise source.last_error
    ...
    if source.poll():                     # the file changed and the new one is good
        log.info("now running %s", source.current.spec_hash)
    elif source.last_error:               # it changed and was refused: still the old one
        log.warning("kept the last good artifact: %s", source.last_error)

A new artifact is taken only when it loads completely: it reads, parses, verifies (with
a verify key: is signed by that key), has the right hash and format and validates.
Otherwise `current` stays the artifact loaded before, `last_error` says why the new one
was refused, and a warning goes to the `csdsl_runtime.reload` logger.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from csdsl_runtime.artifact import Artifact
from csdsl_runtime.loader import ArtifactError, load

log = logging.getLogger(__name__)

_Stamp = tuple[int, int, int] | None


class ArtifactSource:
    """The artifact at `path`, reloaded on demand; the last good one is kept.

    `verify_key` (as `load` takes it) is read once, here: a key that cannot be read is a
    `signing.SigningKeyError` at once, a host's configuration error. The first load is
    attempted here too; if it fails, `current` is None and `last_error` says why.
    """

    def __init__(self, path: str | os.PathLike[str], verify_key: object = None) -> None:
        self.path = Path(path)
        self._key: object = None
        if verify_key is not None:
            from csdsl_runtime.signing import public_key

            self._key = public_key(verify_key)
        self.current: Artifact | None = None
        """The artifact a host runs: the last one that loaded (None before any did)."""
        self.last_error: ArtifactError | None = None
        """Why the last attempt was refused; None after one that succeeded."""
        self._stamp: _Stamp = None
        self._lock = threading.Lock()
        self.reload()

    def reload(self) -> bool:
        """Load the file again. True if a new artifact was taken (the first one, or one
        with another `spec_hash` or signature); False if the file was refused (then
        `current` is unchanged and `last_error` says why) or holds the same artifact
        (then `current` stays the same object)."""
        with self._lock:
            self._stamp = self._stat()
            try:
                artifact = load(self.path, verify_key=self._key)
            except ArtifactError as exc:
                self.last_error = exc
                kept = ("no artifact loaded yet" if self.current is None
                        else f"keeping {self.current.spec_hash[:19]}")
                log.warning("artifact refused: %s; %s", exc, kept)
                return False
            self.last_error = None
            previous = self.current
            if previous is not None and (previous.spec_hash, previous.signature) == (
                    artifact.spec_hash, artifact.signature):
                return False  # the same artifact: the object a host holds stays current
            self.current = artifact
            return True

    def poll(self) -> bool:
        """`reload` if the file changed since the last attempt (its modification time,
        size or inode: `csdsl compile` replaces the file whole), else False at the cost of
        one `stat`."""
        if self._stat() == self._stamp:
            return False
        return self.reload()

    def _stat(self) -> _Stamp:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def __repr__(self) -> str:
        current = self.current.spec_hash[:19] if self.current is not None else None
        return f"ArtifactSource({str(self.path)!r}, current={current!r})"
