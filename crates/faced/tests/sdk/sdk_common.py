"""Helpers shared by the Python SDK flows: point the official SDK at a faced server, read
photos, and stop at the first failed expectation."""
import base64
import sys

from aip import AipFace
from aip import base as aip_base

BAIDU = "https://aip.baidubce.com"


def point_sdk_at(base_url):
    """Rewrites the SDK's hard-coded URL constants to the test server (a deployment would
    point the aip.baidubce.com host name at faced instead); nothing else the SDK sends changes."""
    for cls in (AipFace, aip_base.AipBase):
        for name, value in list(vars(cls).items()):
            if isinstance(value, str) and value.startswith(BAIDU):
                setattr(cls, name, base_url + value[len(BAIDU):])


def b64(path):
    with open(path, "rb") as f:
        return base64.b64encode(f.read()).decode()


def expect(condition, what, answer):
    if not condition:
        print("FAILED:", what, answer)
        sys.exit(1)
    print("ok:", what)
