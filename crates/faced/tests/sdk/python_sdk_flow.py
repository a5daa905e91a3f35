"""Drives the official Baidu Python SDK (`baidu-aip` from PyPI) against a faced server.

Usage: python_sdk_flow.py BASE_URL APP_ID API_KEY SECRET_KEY SHARED_DATA_DIR

The SDK hard-codes https://aip.baidubce.com; a deployment points that host name at faced
(DNS or hosts file plus TLS). Here we rewrite the SDK's URL constants to the test server
instead, which changes nothing else about what the SDK sends. Exits non-zero on the first
failed expectation.
"""
import re
import sys

from aip import AipFace

from sdk_common import b64, expect, point_sdk_at


def main():
    base_url, app_id, api_key, secret_key, data = sys.argv[1:6]
    point_sdk_at(base_url)
    client = AipFace(app_id, api_key, secret_key)

    answer = client.groupAdd("sdk_group")
    expect(answer.get("error_code") == 0, "groupAdd", answer)
    expect(client._isCloudUser is False, "the SDK chose access-token mode (scope has brain_all_scope)", client._authObj)

    answer = client.getGroupList()
    expect(answer.get("error_code") == 0 and "sdk_group" in answer["result"]["group_id_list"], "getGroupList", answer)
    answer = client.getGroupList({"start": 0, "length": 1})
    expect(answer.get("error_code") == 0 and len(answer["result"]["group_id_list"]) == 1, "getGroupList paging", answer)

    people = {
        "ann": ["Ann_Veneman/Ann_Veneman_0001.jpg", "Ann_Veneman/Ann_Veneman_0002.jpg"],
        "colin": ["Colin_Powell/Colin_Powell_0001.jpg", "Colin_Powell/Colin_Powell_0002.jpg"],
    }
    faces = data + "/faces/lfw-deepfunneled/"
    tokens = {}
    for user, photos in people.items():
        answer = client.addUser(b64(faces + photos[0]), "BASE64", "sdk_group", user,
                                {"user_info": user.upper(), "face_sort_type": "1"})
        expect(answer.get("error_code") == 0 and len(answer["result"]["face_token"]) == 32, "addUser " + user, answer)
        tokens[user] = answer["result"]["face_token"]

    answer = client.detect(b64(data + "/cases/size_1920x1080_couple.jpg"), "BASE64",
                           {"max_face_num": "2", "face_field": "landmark"})
    expect(answer.get("error_code") == 0 and answer["result"]["face_num"] == 2, "detect", answer)
    couple = sorted(answer["result"]["face_list"], key=lambda f: f["location"]["left"])

    # Attributes through the SDK, as an integrator asks for them.
    answer = client.detect(b64(faces + people["ann"][0]), "BASE64",
                           {"face_field": "age,gender,expression,glasses,eye_status,emotion,mask,landmark150,quality",
                            "face_sort_type": "1"})
    face = answer.get("result", {}).get("face_list", [{}])[0] if answer.get("error_code") == 0 else {}
    expect(face.get("gender", {}).get("type") == "female" and isinstance(face.get("age"), int)
           and len(face.get("landmark150", {})) == 150 and face.get("mask", {}).get("type") == 0
           and "left_eye" in face.get("eye_status", {}) and "occlusion" in face.get("quality", {}),
           "detect with attributes", answer)
    answer = client.addUser(b64(faces + people["ann"][0]), "BASE64", "sdk_group", "ann_live",
                            {"liveness_control": "MAYBE", "face_sort_type": "1"})
    expect(answer.get("error_code") == 222020, "addUser with a bad liveness_control", answer)

    answer = client.search(b64(faces + people["ann"][1]), "BASE64", "sdk_group",
                           {"face_sort_type": "1", "max_user_num": "2"})
    top = answer.get("result", {}).get("user_list", [{}])[0] if answer.get("error_code") == 0 else {}
    expect(top.get("user_id") == "ann" and top.get("user_info") == "ANN" and top.get("score", 0) >= 80,
           "search finds Ann with her other photo", answer)

    answer = client.match([
        {"image": b64(faces + people["colin"][0]), "image_type": "BASE64", "face_sort_type": "1"},
        {"image": b64(faces + people["colin"][1]), "image_type": "BASE64", "face_sort_type": "1"},
    ])
    expect(answer.get("error_code") == 0 and answer["result"]["score"] >= 80, "match: same person", answer)
    answer = client.match([
        {"image": b64(faces + people["colin"][0]), "image_type": "BASE64"},
        {"image": b64(faces + people["ann"][0]), "image_type": "BASE64"},
    ])
    expect(answer.get("error_code") == 0 and answer["result"]["score"] < 80, "match: different people", answer)

    # Library management.
    answer = client.updateUser(b64(faces + people["ann"][1]), "BASE64", "sdk_group", "ann", {"user_info": "ANN2"})
    expect(answer.get("error_code") == 0 and len(answer["result"]["face_token"]) == 32, "updateUser", answer)
    ann_token = answer["result"]["face_token"]
    answer = client.faceGetlist("ann", "sdk_group")
    ok = answer.get("error_code") == 0 and [f["face_token"] for f in answer["result"]["face_list"]] == [ann_token]
    expect(ok and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", answer["result"]["face_list"][0]["ctime"]),
           "faceGetlist: updateUser replaced the face", answer)
    ann_faces = answer["result"]["face_list"]
    answer = client.getUser("ann", "sdk_group")
    expect(answer.get("error_code") == 0
           and answer["result"]["user_list"] == [{"user_info": "ANN2", "group_id": "sdk_group"}], "getUser", answer)
    answer = client.getGroupUsers("sdk_group")
    expect(answer.get("error_code") == 0 and answer["result"]["user_id_list"] == ["ann", "colin"], "getGroupUsers", answer)
    answer = client.getGroupUsers("sdk_group", {"start": "1", "length": "1"})
    expect(answer.get("error_code") == 0 and answer["result"]["user_id_list"] == ["colin"], "getGroupUsers paging", answer)

    answer = client.groupAdd("sdk_copy")
    expect(answer.get("error_code") == 0, "groupAdd sdk_copy", answer)
    answer = client.userCopy("ann", {"src_group_id": "sdk_group", "dst_group_id": "sdk_copy"})
    expect(answer.get("error_code") == 0 and answer.get("result") is None, "userCopy", answer)
    answer = client.faceGetlist("ann", "sdk_copy")
    expect(answer.get("error_code") == 0 and answer["result"]["face_list"] == ann_faces, "the copy has the same faces", answer)
    answer = client.getUser("ann", "@ALL")
    expect(answer.get("error_code") == 0 and [u["group_id"] for u in answer["result"]["user_list"]] == ["sdk_group", "sdk_copy"],
           "getUser @ALL", answer)

    answer = client.addUser(b64(faces + people["colin"][1]), "BASE64", "sdk_group", "colin", {"face_sort_type": "1"})
    expect(answer.get("error_code") == 0, "addUser colin again", answer)
    colin_second = answer["result"]["face_token"]
    answer = client.faceDelete("colin", "sdk_group", tokens["colin"])
    expect(answer.get("error_code") == 0 and answer.get("result") is None, "faceDelete", answer)
    answer = client.faceGetlist("colin", "sdk_group")
    expect(answer.get("error_code") == 0 and [f["face_token"] for f in answer["result"]["face_list"]] == [colin_second],
           "faceDelete removed one face", answer)
    answer = client.faceDelete("colin", "sdk_group", tokens["colin"])
    expect(answer.get("error_code") == 223106, "faceDelete twice: 223106", answer)

    answer = client.deleteUser("sdk_copy", "ann")
    expect(answer.get("error_code") == 0 and answer.get("result") is None, "deleteUser", answer)
    answer = client.getUser("ann", "sdk_copy")
    expect(answer.get("error_code") == 223103, "getUser after deleteUser: 223103", answer)

    # M:N search: the left face of the couple, enrolled by its face_token.
    answer = client.addUser(couple[0]["face_token"], "FACE_TOKEN", "sdk_multi", "left")
    expect(answer.get("error_code") == 0, "addUser by FACE_TOKEN", answer)
    answer = client.multiSearch(b64(data + "/cases/size_1920x1080_couple.jpg"), "BASE64", "sdk_multi",
                                {"max_face_num": "2"})
    expect(answer.get("error_code") == 0 and answer["result"]["face_num"] == 2, "multiSearch", answer)
    by_token = {f["face_token"]: f["user_list"] for f in answer["result"]["face_list"]}
    left = by_token.get(couple[0]["face_token"]) or [{}]
    expect(left[0].get("user_id") == "left" and left[0].get("score", 0) >= 80, "multiSearch finds the left face", answer)
    expect(by_token.get(couple[1]["face_token"]) == [], "multiSearch reports the unknown face with an empty user_list", answer)

    for group in ("sdk_copy", "sdk_multi"):
        answer = client.groupDelete(group)
        expect(answer.get("error_code") == 0 and answer.get("result") is None, "groupDelete " + group, answer)
    answer = client.getGroupList()
    expect(answer.get("error_code") == 0 and answer["result"]["group_id_list"] == ["sdk_group"],
           "getGroupList after groupDelete", answer)
    answer = client.groupDelete("sdk_copy")
    expect(answer.get("error_code") in (223100, 223128), "groupDelete of a deleted group", answer)

    # The 110 retry path: a token the server does not know makes the SDK fetch a new one
    # and retry the call once.
    client._authObj["access_token"] = "24.00000000000000000000000000000000.2592000.1.282335-" + app_id
    stale = client._authObj["access_token"]
    answer = client.getGroupList()
    expect(answer.get("error_code") == 0, "110 makes the SDK refresh its token and retry", answer)
    expect(client._authObj["access_token"] != stale, "the SDK holds a new token", client._authObj)
    print("python sdk flow passed")


if __name__ == "__main__":
    main()
