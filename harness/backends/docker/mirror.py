"""Which Debian mirror the image build uses: the one the host's apt already trusts.

No registry is reachable from these machines, only Debian's package archive through whatever mirror
the host is configured for. Reading that from ``/etc/apt/sources.list*`` at build time (instead of
writing a host name into the code) keeps the build working behind a mirror, a proxy or a snapshot,
and keeps the image's packages on the same point release as the host's.

Both apt formats are understood: one-line ``sources.list`` entries and deb822 ``*.sources`` stanzas.
Files apt itself ignores (any other suffix, e.g. ``foo.list.disabled``) are ignored here too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class AptSource:
    """One (uri, suite, components) entry of the host's apt configuration."""

    uri: str
    suite: str
    components: tuple[str, ...]

    def line(self) -> str:
        """The one-line ``deb`` form that mmdebstrap accepts as a MIRROR argument."""
        return " ".join(["deb", self.uri, self.suite, *self.components])


def parse_one_line(text: str) -> list[AptSource]:
    """Entries of a one-line-format ``sources.list`` (``deb [opts] uri suite comp...``); deb-src skipped."""
    out: list[AptSource] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        if words[0] != "deb":
            continue
        words = words[1:]
        if words and words[0].startswith("["):
            # options may contain spaces: skip to the word that closes the bracket
            while words and not words[0].endswith("]"):
                words = words[1:]
            words = words[1:]
        if len(words) < 2:
            continue
        out.append(AptSource(words[0], words[1], tuple(words[2:])))
    return out


def parse_deb822(text: str) -> list[AptSource]:
    """Entries of a deb822 ``*.sources`` file (stanzas of Types/URIs/Suites/Components; Enabled: no
    skipped)."""
    out: list[AptSource] = []
    for stanza in _stanzas(text):
        if stanza.get("enabled", "yes").lower() == "no":
            continue
        if "deb" not in stanza.get("types", "").split():
            continue
        comps = tuple(stanza.get("components", "").split())
        for uri in stanza.get("uris", "").split():
            for suite in stanza.get("suites", "").split():
                out.append(AptSource(uri, suite, comps))
    return out


def _stanzas(text: str) -> Iterable[dict[str, str]]:
    """deb822 paragraphs as lower-cased field -> value (continuation lines joined)."""
    fields: dict[str, str] = {}
    last = ""
    for raw in text.splitlines() + [""]:
        if raw.startswith("#"):
            continue
        if not raw.strip():
            if fields:
                yield fields
            fields, last = {}, ""
            continue
        if raw[0] in " \t" and last:
            fields[last] += " " + raw.strip()
            continue
        if ":" in raw:
            key, value = raw.split(":", 1)
            last = key.strip().lower()
            fields[last] = value.strip()


def host_sources(root: Path = Path("/")) -> list[AptSource]:
    """Every ``deb`` entry the host's apt reads (sources.list and sources.list.d/*.list|*.sources)."""
    apt = root / "etc" / "apt"
    out: list[AptSource] = []
    main = apt / "sources.list"
    if main.is_file():
        out += parse_one_line(main.read_text(errors="replace"))
    d = apt / "sources.list.d"
    if d.is_dir():
        for f in sorted(d.iterdir()):
            if f.suffix == ".list":
                out += parse_one_line(f.read_text(errors="replace"))
            elif f.suffix == ".sources":
                out += parse_deb822(f.read_text(errors="replace"))
    return out


def mirror_lines(suite: str, sources: Iterable[AptSource]) -> list[str]:
    """The host entries for ``suite`` and its updates/security suites, as mmdebstrap MIRROR arguments.

    Empty when the host has none (e.g. it is not a Debian ``suite`` machine): mmdebstrap then picks its
    own default mirror for that suite.
    """
    wanted = {suite, f"{suite}-updates", f"{suite}-security"}
    seen: list[str] = []
    for src in sources:
        if src.suite in wanted and "main" in src.components:
            line = AptSource(src.uri, src.suite, ("main",)).line()
            if line not in seen:
                seen.append(line)
    return seen
