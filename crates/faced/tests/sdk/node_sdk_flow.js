// Drives the official Baidu Node SDK (`baidu-aip-sdk` from npm, version pinned by
// scripts/test) against a faced server.
//
// Usage: node node_sdk_flow.js BASE_URL APP_ID API_KEY SECRET_KEY SHARED_DATA_DIR
// The SDK is loaded from $FACED_NODE_SDK_DIR/node_modules/baidu-aip-sdk.
//
// The SDK hard-codes https://aip.baidubce.com (the token URL in src/auth/devAuth.js, the host
// in src/client/requestInfo.js); a deployment points that host name at faced (DNS or hosts
// file plus TLS). Here we use the SDK's own documented hook instead: every request, the token
// fetch included, goes through HttpClient.req, which hands its `request` options to the
// interceptor set with HttpClient.setRequestInterceptor. The interceptor replaces only the
// scheme, host and port at the front of the URL (and lengthens the client-side timeout, as
// CPU inference can take longer than the SDK's 10 s); the path, the doubled query string, the
// headers (`Host: aip.baidubce.com` included, as it would be behind DNS) and the body are
// exactly what the SDK built. Exits non-zero on the first failed expectation.
'use strict';

const fs = require('fs');
const path = require('path');

const BAIDU = 'https://aip.baidubce.com';
const [baseUrl, appId, apiKey, secretKey, data] = process.argv.slice(2, 7);
const sdkDir = process.env.FACED_NODE_SDK_DIR;
if (!sdkDir) {
    console.error('FACED_NODE_SDK_DIR is not set');
    process.exit(2);
}
const sdkPath = path.join(sdkDir, 'node_modules', 'baidu-aip-sdk');
const sdk = require(sdkPath);
const sdkVersion = require(path.join(sdkPath, 'package.json')).version;

const sent = [];
sdk.HttpClient.setRequestInterceptor(function (options) {
    if (typeof options.url === 'string' && options.url.startsWith(BAIDU)) {
        options.url = baseUrl + options.url.slice(BAIDU.length);
    }
    options.timeout = 300000;
    sent.push({url: options.url, headers: Object.assign({}, options.headers || {})});
    return options;
});

function b64(file) {
    return fs.readFileSync(file).toString('base64');
}

function expect(condition, what, answer) {
    if (!condition) {
        console.log('FAILED:', what, JSON.stringify(answer));
        process.exit(1);
    }
    console.log('ok:', what);
}

function sameJson(a, b) {
    return JSON.stringify(a) === JSON.stringify(b);
}

async function main() {
    console.log('baidu-aip-sdk', sdkVersion);
    const client = new sdk.face(appId, apiKey, secretKey);
    const faces = data + '/faces/lfw-deepfunneled/';
    const people = {
        ann: ['Ann_Veneman/Ann_Veneman_0001.jpg', 'Ann_Veneman/Ann_Veneman_0002.jpg'],
        colin: ['Colin_Powell/Colin_Powell_0001.jpg', 'Colin_Powell/Colin_Powell_0002.jpg'],
    };

    let answer = await client.groupAdd('node_group');
    expect(answer.error_code === 0, 'groupAdd', answer);
    expect(client.authType === 3 && client.devAccessToken.hasScope(),
        'the SDK chose access-token mode (scope has brain_all_scope)', client.devAccessToken);
    const tokenCall = sent[0];
    expect(tokenCall.url === baseUrl + '/oauth/2.0/token', 'the SDK POSTed its token request', sent);
    const call = sent[1];
    expect(call.url.includes('?aipSdk=node&access_token=') && call.url.endsWith('?aipSdk=node')
        && call.headers['Content-Type'] === 'application/x-www-form-urlencoded',
        'the SDK sent its doubled query and a JSON body labelled as a form', call);

    const tokens = {};
    for (const user of Object.keys(people)) {
        answer = await client.addUser(b64(faces + people[user][0]), 'BASE64', 'node_group', user,
            {user_info: user.toUpperCase(), face_sort_type: '1'});
        expect(answer.error_code === 0 && answer.result.face_token.length === 32, 'addUser ' + user, answer);
        tokens[user] = answer.result.face_token;
    }

    answer = await client.detect(b64(data + '/cases/size_1920x1080_couple.jpg'), 'BASE64',
        {max_face_num: '2', face_field: 'landmark'});
    expect(answer.error_code === 0 && answer.result.face_num === 2, 'detect', answer);
    const couple = answer.result.face_list.slice()
        .sort((a, b) => a.location.left - b.location.left);

    answer = await client.search(b64(faces + people.ann[1]), 'BASE64', 'node_group',
        {face_sort_type: '1', max_user_num: '2'});
    const top = answer.error_code === 0 ? answer.result.user_list[0] : {};
    expect(top.user_id === 'ann' && top.user_info === 'ANN' && top.score >= 80,
        'search finds Ann with her other photo', answer);

    answer = await client.match([
        {image: b64(faces + people.colin[0]), image_type: 'BASE64', face_sort_type: '1'},
        {image: b64(faces + people.colin[1]), image_type: 'BASE64', face_sort_type: '1'},
    ]);
    expect(answer.error_code === 0 && answer.result.score >= 80, 'match: same person', answer);

    // Library management.
    answer = await client.updateUser(b64(faces + people.ann[1]), 'BASE64', 'node_group', 'ann',
        {user_info: 'ANN2'});
    expect(answer.error_code === 0 && answer.result.face_token.length === 32, 'updateUser', answer);
    const annToken = answer.result.face_token;
    answer = await client.faceGetlist('ann', 'node_group');
    expect(answer.error_code === 0 && answer.result.face_list.length === 1
        && answer.result.face_list[0].face_token === annToken
        && /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(answer.result.face_list[0].ctime),
        'faceGetlist: update replaced the face', answer);
    const annFaces = answer.result.face_list;
    answer = await client.getUser('ann', 'node_group');
    expect(answer.error_code === 0 && sameJson(answer.result.user_list,
        [{user_info: 'ANN2', group_id: 'node_group'}]), 'getUser', answer);
    answer = await client.getGroupUsers('node_group');
    expect(answer.error_code === 0 && sameJson(answer.result.user_id_list, ['ann', 'colin']),
        'getGroupUsers', answer);
    answer = await client.getGroupUsers('node_group', {start: '1', length: '1'});
    expect(answer.error_code === 0 && sameJson(answer.result.user_id_list, ['colin']),
        'getGroupUsers paging', answer);

    answer = await client.groupAdd('node_copy');
    expect(answer.error_code === 0, 'groupAdd node_copy', answer);
    answer = await client.userCopy('ann', {src_group_id: 'node_group', dst_group_id: 'node_copy'});
    expect(answer.error_code === 0 && answer.result === null, 'userCopy', answer);
    answer = await client.faceGetlist('ann', 'node_copy');
    expect(answer.error_code === 0 && sameJson(answer.result.face_list, annFaces),
        'the copy has the same faces', answer);
    answer = await client.getUser('ann', '@ALL');
    expect(answer.error_code === 0 && answer.result.user_list.length === 2, 'getUser @ALL', answer);

    answer = await client.addUser(b64(faces + people.colin[1]), 'BASE64', 'node_group', 'colin',
        {face_sort_type: '1'});
    expect(answer.error_code === 0, 'addUser colin again', answer);
    const colinSecond = answer.result.face_token;
    answer = await client.faceDelete('colin', 'node_group', tokens.colin);
    expect(answer.error_code === 0 && answer.result === null, 'faceDelete', answer);
    answer = await client.faceGetlist('colin', 'node_group');
    expect(answer.error_code === 0 && answer.result.face_list.length === 1
        && answer.result.face_list[0].face_token === colinSecond, 'faceDelete removed one face', answer);
    answer = await client.faceDelete('colin', 'node_group', tokens.colin);
    expect(answer.error_code === 223106, 'faceDelete twice: 223106', answer);

    answer = await client.deleteUser('node_copy', 'ann');
    expect(answer.error_code === 0 && answer.result === null, 'deleteUser', answer);
    answer = await client.getUser('ann', 'node_copy');
    expect(answer.error_code === 223103, 'getUser after deleteUser: 223103', answer);

    // M:N search: enrol the left face of the couple by its face_token. (The SDK's older
    // mutilSearch builds a URL without the leading slash; faceMultiSearchV3 is the working one.)
    expect(typeof client.faceMultiSearchV3 === 'function', 'the SDK has faceMultiSearchV3', sdkVersion);
    answer = await client.addUser(couple[0].face_token, 'FACE_TOKEN', 'node_multi', 'left');
    expect(answer.error_code === 0, 'addUser by FACE_TOKEN', answer);
    answer = await client.faceMultiSearchV3(b64(data + '/cases/size_1920x1080_couple.jpg'), 'BASE64',
        'node_multi', {max_face_num: '2'});
    expect(answer.error_code === 0 && answer.result.face_num === 2, 'faceMultiSearchV3', answer);
    const byToken = {};
    for (const face of answer.result.face_list) {
        byToken[face.face_token] = face.user_list;
    }
    const leftUsers = byToken[couple[0].face_token] || [];
    expect(leftUsers.length === 1 && leftUsers[0].user_id === 'left' && leftUsers[0].score >= 80,
        'faceMultiSearchV3 finds the left face', answer);
    expect(sameJson(byToken[couple[1].face_token], []),
        'faceMultiSearchV3 reports the unknown face with an empty user_list', answer);

    for (const group of ['node_copy', 'node_multi']) {
        answer = await client.groupDelete(group);
        expect(answer.error_code === 0 && answer.result === null, 'groupDelete ' + group, answer);
    }
    answer = await client.getGrouplist({start: '0', length: '100'});
    expect(answer.error_code === 0 && sameJson(answer.result.group_id_list, ['node_group']),
        'getGrouplist after groupDelete', answer);
    answer = await client.groupDelete('node_copy');
    expect(answer.error_code === 223100 || answer.error_code === 223128,
        'groupDelete of a deleted group', answer);
    console.log('node sdk flow passed');
}

main().catch(function (error) {
    console.log('FAILED: exception', error && (error.stack || JSON.stringify(error)));
    process.exit(1);
});
