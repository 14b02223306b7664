"""Test harness: a real ``docker-registry``, a token server, a notification sink, images.

Nothing here imports Hoister; these helpers are the independent side that Hoister's
registry code is checked against.
"""

from tests.support.images import Blob, Image, build_artifact, build_image, build_index
from tests.support.notifications import NotificationSink
from tests.support.registry import RegistryServer
from tests.support.tokenserver import TokenAuth, TokenRequest, TokenServer

__all__ = [
    "Blob",
    "Image",
    "NotificationSink",
    "RegistryServer",
    "TokenAuth",
    "TokenRequest",
    "TokenServer",
    "build_artifact",
    "build_image",
    "build_index",
]
