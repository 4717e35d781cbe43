"""The node image: a Debian root filesystem built locally with mmdebstrap, cached by its recipe hash.

No container registry is reachable from these machines, so nothing can be pulled. Instead the image is
made from Debian packages (``mmdebstrap --variant=minbase --include=python3,iptables,...``) and handed
to the engine with ``docker import``. The tag is a hash of the recipe (suite, variant, package list,
dpkg options): a run reuses an image whose tag exists and builds one otherwise, so changing the package
list can never silently reuse a stale image. Nothing of the project is baked in — the source tree is
bind-mounted read-only at run time — so editing the code never needs a rebuild.

Documentation, man pages and locales are left out with dpkg path filters (copyright files kept): they
are a third of the size and no node reads them.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.backends.docker import labels as L
from harness.backends.docker.mirror import host_sources, mirror_lines

Progress = Callable[[str], None]

REPOSITORY = "splitbrain-node"
BASE_PACKAGES: tuple[str, ...] = ("python3", "iptables", "iproute2", "procps")
THIRD_PARTY_PACKAGES: tuple[str, ...] = ("etcd-server", "etcd-client", "redis-server")
_DPKG_OPTS: tuple[str, ...] = (
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/locale/*",
    "path-exclude=/usr/share/info/*",
)
_APT_OPTS: tuple[str, ...] = ('APT::Install-Recommends "false"',)
_RECIPE_VERSION = 1  # bump when the build procedure changes in a way the fields below do not capture
_LOCK = Path(tempfile.gettempdir()) / "splitbrain-image-build.lock"


class ImageError(RuntimeError):
    """The node image could not be built, found or removed; the message says what to do."""


def _quiet(_: str) -> None:
    """A progress sink that discards messages."""


@dataclass(frozen=True, slots=True)
class ImageRecipe:
    """What goes into a node image; its hash is the image tag."""

    suite: str = "bookworm"
    variant: str = "minbase"
    packages: tuple[str, ...] = BASE_PACKAGES
    dpkg_opts: tuple[str, ...] = field(default=_DPKG_OPTS)
    apt_opts: tuple[str, ...] = field(default=_APT_OPTS)

    def digest(self) -> str:
        """A short stable hash of the recipe (package order does not matter)."""
        doc = {
            "v": _RECIPE_VERSION,
            "suite": self.suite,
            "variant": self.variant,
            "packages": sorted(set(self.packages)),
            "dpkg": list(self.dpkg_opts),
            "apt": list(self.apt_opts),
        }
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:12]

    @property
    def tag(self) -> str:
        """The image reference, ``splitbrain-node:<hash>``."""
        return f"{REPOSITORY}:{self.digest()}"

    def with_packages(self, extra: Sequence[str]) -> ImageRecipe:
        """This recipe with ``extra`` packages added (e.g. third-party servers)."""
        return ImageRecipe(self.suite, self.variant, tuple(sorted(set(self.packages) | set(extra))),
                           self.dpkg_opts, self.apt_opts)

    def mmdebstrap_argv(self, output: str, mirrors: Sequence[str]) -> list[str]:
        """The mmdebstrap command line writing a tarball to ``output``."""
        argv = ["mmdebstrap", f"--variant={self.variant}",
                "--include=" + ",".join(sorted(set(self.packages)))]
        argv += [f"--dpkgopt={o}" for o in self.dpkg_opts]
        argv += [f"--aptopt={o}" for o in self.apt_opts]
        return [*argv, self.suite, output, *mirrors]


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """A node image present in the engine."""

    tag: str
    id: str
    size: int  # bytes
    created: str
    packages: tuple[str, ...]


def _info(image: Any) -> ImageInfo:
    """An ImageInfo from a docker SDK image object."""
    tags = [t for t in image.tags if t.startswith(REPOSITORY + ":")] or list(image.tags) or ["<none>"]
    lab = image.labels or {}
    return ImageInfo(
        tag=tags[0],
        id=image.short_id,
        size=int(image.attrs.get("Size", 0)),
        created=str(image.attrs.get("Created", "")),
        packages=tuple(p for p in lab.get(L.IMAGE_PACKAGES, "").split(",") if p),
    )


def find_image(client: Any, recipe: ImageRecipe) -> ImageInfo | None:
    """The image built from ``recipe``, if the engine has it."""
    import docker.errors  # type: ignore[import-untyped]

    try:
        return _info(client.images.get(recipe.tag))
    except docker.errors.ImageNotFound:
        return None


def list_images(client: Any) -> list[ImageInfo]:
    """Every splitbrain node image in the engine, newest first."""
    images = client.images.list(filters={"label": L.IMAGE})
    return sorted((_info(i) for i in images), key=lambda i: i.created, reverse=True)


def remove_images(client: Any, refs: Sequence[str] = (), *, all_images: bool = False) -> list[str]:
    """Remove the named node images (tags or ids), or all of them; returns what was removed."""
    import docker.errors

    ours = list_images(client)
    if all_images:
        targets = [i.tag for i in ours]
    else:
        raw = client.images.list(filters={"label": L.IMAGE})
        known = {t for img in raw for t in img.tags} | {t.split(":", 1)[1] for img in raw for t in img.tags}
        ids = [img.id.replace("sha256:", "") for img in raw]
        unknown = [r for r in refs if r not in known and not any(
            len(r.replace("sha256:", "")) >= 6 and i.startswith(r.replace("sha256:", "")) for i in ids)]
        if unknown:
            raise ImageError(f"not a splitbrain node image: {', '.join(unknown)}; "
                             f"present: {', '.join(i.tag for i in ours) or 'none'}")
        # a bare recipe hash ("4bb482e120cc") names the tag in our repository; anything else is used as is
        targets = [f"{REPOSITORY}:{r}" if r in known and ":" not in r else r for r in refs]
    removed = []
    for ref in targets:
        try:
            client.images.remove(ref, force=True)
            removed.append(ref)
        except docker.errors.ImageNotFound:
            pass
        except docker.errors.APIError as e:
            raise ImageError(f"cannot remove image {ref}: {e.explanation or e}") from e
    return removed


def ensure_mmdebstrap(progress: Progress = _quiet) -> str:
    """Path of mmdebstrap, installing it from Debian's packages when missing and we are root."""
    found = shutil.which("mmdebstrap")
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise ImageError(
            "mmdebstrap is needed to build the node image; install it (apt-get install mmdebstrap)"
        )
    progress("installing mmdebstrap (apt-get update && apt-get install mmdebstrap)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "update"],
                 ["apt-get", "install", "-y", "--no-install-recommends", "mmdebstrap"]):
        done = subprocess.run(argv, check=False, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            tail = "\n".join(done.stderr.splitlines()[-5:])
            raise ImageError(f"{' '.join(argv)} failed ({done.returncode}):\n{tail}")
    found = shutil.which("mmdebstrap")
    if not found:
        raise ImageError("mmdebstrap is still missing after apt-get install")
    return found


def ensure_image(client: Any, recipe: ImageRecipe | None = None, progress: Progress = _quiet,
                 cancel: BuildCancel | None = None) -> ImageInfo:
    """The image for ``recipe`` (default: the base node image), building it first when absent."""
    recipe = recipe or ImageRecipe()
    have = find_image(client, recipe)
    if have is not None:
        return have
    return build_image(client, recipe, progress, cancel=cancel)


def build_image(client: Any, recipe: ImageRecipe | None = None, progress: Progress = _quiet,
                *, force: bool = False, cancel: BuildCancel | None = None) -> ImageInfo:
    """Build the node image with mmdebstrap and ``docker import`` it under ``recipe.tag``.

    Builds are serialised with a lock file so two runs starting together build once; the second one
    finds the image when it gets the lock. The tarball goes to a temporary file first so that a failed
    bootstrap can never leave a truncated image under the real tag.
    """
    recipe = recipe or ImageRecipe()
    with _build_lock():
        have = find_image(client, recipe)
        if have is not None and not force:
            return have
        ensure_mmdebstrap(progress)
        mirrors = mirror_lines(recipe.suite, host_sources())
        started = time.monotonic()
        progress(f"building {recipe.tag} from Debian {recipe.suite} packages: {', '.join(recipe.packages)}"
                 + (f" (mirror from host apt config: {len(mirrors)} entries)" if mirrors else ""))
        with tempfile.TemporaryDirectory(prefix="splitbrain-image-") as tmp:
            tarball = os.path.join(tmp, "rootfs.tar")
            for line in _run_streaming(recipe.mmdebstrap_argv(tarball, mirrors), cancel or BuildCancel()):
                progress(f"[{time.monotonic() - started:5.1f}s] {line}")
            size = os.path.getsize(tarball)
            progress(f"[{time.monotonic() - started:5.1f}s] importing {size / 1e6:.0f} MB into the engine")
            changes = [
                f"LABEL {L.IMAGE}={recipe.digest()}",
                f"LABEL {L.IMAGE_PACKAGES}={','.join(sorted(set(recipe.packages)))}",
                "ENV PYTHONDONTWRITEBYTECODE=1",
                'CMD ["python3"]',
            ]
            repo, tag = recipe.tag.split(":", 1)
            if cancel is not None and cancel.cancelled:
                raise ImageError("image build cancelled")
            client.api.import_image_from_file(tarball, repository=repo, tag=tag, changes=changes)
        progress(f"[{time.monotonic() - started:5.1f}s] built {recipe.tag}")
    info = find_image(client, recipe)
    if info is None:
        raise ImageError(f"docker import finished but {recipe.tag} is not in the engine")
    if have is not None and have.id != info.id:
        _drop_untagged(client, have.id)
    return info


def _drop_untagged(client: Any, image_id: str) -> None:
    """Remove a rebuilt image's predecessor, which lost its tag; kept if containers still use it."""
    import docker.errors

    try:
        client.images.remove(image_id, noprune=False)
    except docker.errors.APIError:
        pass


class BuildCancel:
    """Lets another thread stop a running build (Ctrl-C while the runner waits for the image).

    The build runs in a worker thread; without this, an interrupted run would wait for mmdebstrap to
    finish before the process could exit.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[str] | None = None
        self.cancelled = False

    def attach(self, proc: subprocess.Popen[str]) -> None:
        """Remember the running bootstrap process (killed at once if cancel came first)."""
        with self._lock:
            self._proc = proc
            if self.cancelled:
                proc.kill()

    def cancel(self) -> None:
        """Stop the build: kill the bootstrap process if one runs."""
        with self._lock:
            self.cancelled = True
            if self._proc is not None and self._proc.poll() is None:
                self._proc.kill()


def _run_streaming(argv: list[str], cancel: BuildCancel, heartbeat: float = 10.0) -> Iterator[str]:
    """Run ``argv``, yielding its stderr lines as they come; raise ImageError on failure or cancel.

    When the process is quiet for ``heartbeat`` seconds (unpacking takes a while on a busy machine)
    the last line is yielded again marked "still running", so a watcher can tell slow from stuck.
    """
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "LC_ALL": "C.UTF-8"})
    cancel.attach(proc)
    stderr = proc.stderr
    assert stderr is not None
    lines: list[str] = []
    inbox: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for raw in stderr:
            inbox.put(raw.rstrip())
        inbox.put(None)

    threading.Thread(target=pump, name="mmdebstrap-stderr", daemon=True).start()
    try:
        while True:
            try:
                line = inbox.get(timeout=heartbeat)
            except queue.Empty:
                yield f"{lines[-1] if lines else argv[0]} (still running)"
                continue
            if line is None:
                break
            if line:
                lines.append(line)
                yield line
    finally:
        if proc.poll() is None:
            proc.kill()
        rc = proc.wait()
    if cancel.cancelled:
        raise ImageError("image build cancelled")
    if rc != 0:
        tail = "\n".join(lines[-8:])
        raise ImageError(f"mmdebstrap failed with exit code {rc}:\n{tail}")


class _build_lock:
    """An exclusive advisory lock on a well-known file (context manager)."""

    def __enter__(self) -> None:
        self._fh = open(_LOCK, "a+")
        fcntl.flock(self._fh, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self._fh, fcntl.LOCK_UN)
        self._fh.close()
