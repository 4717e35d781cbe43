"""The node image: built from Debian packages when missing, reused by tag, listed and removed."""

from __future__ import annotations

import time
from typing import Any

import pytest

from harness.backends.docker.image import (
    BASE_PACKAGES,
    ImageError,
    ImageRecipe,
    ensure_image,
    list_images,
    remove_images,
)

pytestmark = pytest.mark.docker


def test_image_is_reused_by_its_recipe_tag_and_listed(docker_client: Any, node_image: Any) -> None:
    assert node_image.tag == ImageRecipe().tag
    t0 = time.monotonic()
    again = ensure_image(docker_client, progress=lambda line: pytest.fail(f"rebuilt: {line}"))
    assert again.id == node_image.id and time.monotonic() - t0 < 5.0
    listed = {i.tag: i for i in list_images(docker_client)}
    assert node_image.tag in listed and set(listed[node_image.tag].packages) == set(BASE_PACKAGES)
    assert 50e6 < node_image.size < 400e6


def test_image_carries_debian_python_and_iptables_but_none_of_our_code(
    docker_client: Any, node_image: Any
) -> None:
    script = (
        "python3 -c 'import sys; assert sys.version_info >= (3, 11)' && iptables --version && "
        "ip -V && ps --version && test ! -e /opt/splitbrain && echo fine"
    )
    out = docker_client.containers.run(
        node_image.tag, ["sh", "-c", script], remove=True, network_disabled=True
    )
    assert out.decode().strip().endswith("fine")


def test_remove_only_touches_the_named_splitbrain_image(docker_client: Any, node_image: Any) -> None:
    image = docker_client.images.get(node_image.tag)
    image.tag("splitbrain-node", "rm-test")
    assert remove_images(docker_client, ["splitbrain-node:rm-test"]) == ["splitbrain-node:rm-test"]
    assert "splitbrain-node:rm-test" not in docker_client.images.get(node_image.tag).tags
    assert docker_client.images.get(node_image.tag).id == image.id  # the real tag is still there
    image.tag("splitbrain-node", "0123456789ab")  # a bare recipe hash names a tag of our repository
    assert remove_images(docker_client, ["0123456789ab"]) == ["splitbrain-node:0123456789ab"]
    assert docker_client.images.get(node_image.tag).tags == [node_image.tag]
    with pytest.raises(ImageError, match="not a splitbrain node image"):
        remove_images(docker_client, ["debian:nothing-here"])
