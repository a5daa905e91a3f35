"""The official Baidu Python SDK falling back to bce-auth-v1 request signing.

Usage: python_sdk_signed.py BASE_URL APP_ID API_KEY SECRET_KEY SHARED_DATA_DIR

The SDK signs its requests instead of using an access token when the token call returns no
`brain_all_scope`. We point its token URL at a path that answers an error object, so it signs
every call, and check that faced verifies those signatures (and refuses a wrong secret with 14).
"""
import sys

from aip import AipFace
from aip import base as aip_base

from sdk_common import b64, expect, point_sdk_at


def main():
    base_url, app_id, api_key, secret_key, data = sys.argv[1:6]
    point_sdk_at(base_url)
    # No token from here: the SDK gets an error object and signs requests instead.
    aip_base.AipBase._AipBase__accessTokenUrl = base_url + "/oauth/2.0/no-token-here"
    client = AipFace(app_id, api_key, secret_key)
    answer = client.groupAdd("signed_group")
    expect(client._isCloudUser is True, "the SDK signs requests (no token scope)", client._authObj)
    expect(answer.get("error_code") == 0, "groupAdd with a bce-auth-v1 signature", answer)
    answer = client.getGroupList({"start": 0, "length": 10})
    expect(answer.get("error_code") == 0 and "signed_group" in answer["result"]["group_id_list"], "getGroupList signed", answer)
    photo = b64(data + "/cases/idphoto_358x441.jpg")
    answer = client.detect(photo, "BASE64", {"max_face_num": "1"})
    expect(answer.get("error_code") == 0 and answer["result"]["face_num"] == 1, "detect signed", answer)

    wrong = AipFace(app_id, api_key, secret_key[:-1] + ("A" if secret_key[-1] != "A" else "B"))
    answer = wrong.getGroupList()
    expect(answer == {"error_code": 14, "error_msg": "IAM Certification failed"}, "a wrong secret answers 14", answer)
    stranger = AipFace(app_id, "no_such_api_key", secret_key)
    answer = stranger.getGroupList()
    expect(answer.get("error_code") == 14, "an unknown API key answers 14", answer)
    print("python sdk signed flow passed")


if __name__ == "__main__":
    main()
