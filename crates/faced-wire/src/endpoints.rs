//! The face endpoints: each parses its parameters into a service request and writes the
//! answer. The order of checks is the gateway's: path, credentials, permission, body size,
//! body format, parameters, then the work.

use axum::body::{to_bytes, Body as HttpBody};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::IntoResponse;
use faced_errors::ErrorCode;
use faced_service::controls::{ControlLevel, Controls};
use faced_service::image_input::{ImageRef, ImageType};
use faced_service::limits::{
    self, is_valid_id, MAX_GROUPS_PER_SEARCH, MAX_REQUEST_BYTES, MAX_USER_INFO_BYTES,
};
use faced_service::{
    unix_now, AddMode, AddUserRequest, DetectRequest, FaceFields, FaceOrder, MatchImage,
    MultiSearchRequest, SearchRequest,
};
use serde::Serialize;

use crate::access::{authorise, Credentials};
use crate::envelope::Envelope;
use crate::params::{parse_body, Body, Params};
use crate::signature::body_matches_content_md5;
use crate::AppState;

/// The v3 endpoints this server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    Detect,
    Match,
    Search,
    MultiSearch,
    UserAdd,
    UserUpdate,
    UserGet,
    UserCopy,
    UserDelete,
    FaceDelete,
    FaceGetlist,
    GroupAdd,
    GroupDelete,
    GroupGetlist,
    GroupGetusers,
}

/// Each endpoint's path after `/rest/2.0/face/v3/`, which is also its name in permissions.
const APIS: &[(&str, Api)] = &[
    ("detect", Api::Detect),
    ("match", Api::Match),
    ("search", Api::Search),
    ("multi-search", Api::MultiSearch),
    ("faceset/user/add", Api::UserAdd),
    ("faceset/user/update", Api::UserUpdate),
    ("faceset/user/get", Api::UserGet),
    ("faceset/user/copy", Api::UserCopy),
    ("faceset/user/delete", Api::UserDelete),
    ("faceset/face/delete", Api::FaceDelete),
    ("faceset/face/getlist", Api::FaceGetlist),
    ("faceset/group/add", Api::GroupAdd),
    ("faceset/group/delete", Api::GroupDelete),
    ("faceset/group/getlist", Api::GroupGetlist),
    ("faceset/group/getusers", Api::GroupGetusers),
];

/// The name of every endpoint, as permissions and quotas spell it.
pub const API_NAMES: [&str; APIS.len()] = {
    let mut names = [""; APIS.len()];
    let mut i = 0;
    while i < APIS.len() {
        names[i] = APIS[i].0;
        i += 1;
    }
    names
};

/// Any path that is not an endpoint: Baidu's `3 Unsupported openapi method`.
pub async fn unknown_path(State(state): State<AppState>) -> Envelope {
    Envelope::error(
        ErrorCode::UnsupportedOpenapiMethod,
        state.log_ids.next(),
        unix_now(),
    )
}

/// `POST /rest/2.0/face/v3/{api}`.
pub async fn face_v3(
    State(state): State<AppState>,
    Path(api): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: HttpBody,
) -> impl IntoResponse {
    let (log_id, timestamp) = (state.log_ids.next(), unix_now());
    let credentials = Credentials {
        method: &method,
        uri: &uri,
        headers: &headers,
    };
    let answer = handle(&state, &api, &credentials, body).await;
    if let Err(code) = &answer {
        tracing::debug!(api, log_id, code = code.code(), "request refused");
    }
    match answer {
        Ok(result) => Envelope::success(log_id, timestamp, result),
        Err(code) => Envelope::error(code, log_id, timestamp),
    }
}

async fn handle(
    state: &AppState,
    api: &str,
    credentials: &Credentials<'_>,
    body: HttpBody,
) -> Result<serde_json::Value, ErrorCode> {
    let name = api.trim_end_matches('/');
    let api = APIS
        .iter()
        .find(|(path, _)| *path == name)
        .map(|(_, api)| *api)
        .ok_or(ErrorCode::UnsupportedOpenapiMethod)?;
    // The body is read before any refusal so that a refused client's connection stays usable:
    // answering while it is still sending would make the server drop the connection under it.
    // Its size error still ranks after credentials and quotas, as at Baidu's gateway.
    let bytes = to_bytes(body, MAX_REQUEST_BYTES).await;
    let app = authorise(state, credentials, name).await?;
    state.service.admit(&app, name).await?;
    let bytes = bytes.map_err(|_| ErrorCode::ParamImageFormatError)?;
    if credentials.is_signed() && !body_matches_content_md5(credentials.headers, &bytes) {
        return Err(ErrorCode::IamCertificationFailed);
    }
    let body = parse_body(&bytes)?;
    let service = &state.service;
    let app_id = app.app_id.as_str();
    if api == Api::Match {
        let images = match_images(body)?;
        return json(service.match_faces(app_id, images).await?);
    }
    let Body::Object(p) = body else {
        return Err(ErrorCode::RequestBodyNotJson);
    };
    match api {
        Api::Detect => json(service.detect(app_id, detect_request(&p)?).await?),
        Api::Search => json(service.search(app_id, search_request(&p)?).await?),
        Api::MultiSearch => json(
            service
                .multi_search(app_id, multi_search_request(&p)?)
                .await?,
        ),
        Api::UserAdd => json(service.add_user(app_id, add_user_request(&p)?).await?),
        Api::UserUpdate => {
            let create_if_missing = p
                .optional("action_type")
                .is_some_and(|a| a.trim() == "REPLACE");
            json(
                service
                    .update_user(app_id, add_user_request(&p)?, create_if_missing)
                    .await?,
            )
        }
        Api::UserGet => {
            let (user, group) = (user_id(&p)?, group_or_all(&p)?);
            json(service.user_get(app_id, &group, &user).await?)
        }
        Api::UserCopy => {
            let user = user_id(&p)?;
            let src = group_id(&p, "src_group_id")?;
            let dst = id_list(&p, "dst_group_id", ErrorCode::GroupIdFormatError)?;
            empty(service.user_copy(app_id, &user, &src, dst).await)
        }
        Api::UserDelete => {
            let (user, group) = (user_id(&p)?, group_or_all(&p)?);
            empty(service.user_delete(app_id, &group, &user).await)
        }
        Api::FaceDelete => {
            let (user, group) = (user_id(&p)?, group_id(&p, "group_id")?);
            let token = p.required("face_token")?;
            if !limits::is_valid_face_token(&token) {
                return Err(ErrorCode::ParamFaceTokenFormatError);
            }
            empty(service.face_delete(app_id, &group, &user, &token).await)
        }
        Api::FaceGetlist => {
            let (user, group) = (user_id(&p)?, group_id(&p, "group_id")?);
            json(service.face_list(app_id, &group, &user).await?)
        }
        Api::GroupAdd => empty(service.group_add(app_id, &group_id(&p, "group_id")?).await),
        Api::GroupDelete => empty(
            service
                .group_delete(app_id, &group_id(&p, "group_id")?)
                .await,
        ),
        Api::GroupGetlist => {
            let (start, length) = paging(&p)?;
            json(service.group_list(app_id, start, length).await?)
        }
        Api::GroupGetusers => {
            let group = group_id(&p, "group_id")?;
            let (start, length) = paging(&p)?;
            json(service.group_users(app_id, &group, start, length).await?)
        }
        Api::Match => Err(ErrorCode::RequestBodyNotJson),
    }
}

/// Endpoints whose success carries `result: null`.
fn empty(outcome: Result<(), ErrorCode>) -> Result<serde_json::Value, ErrorCode> {
    outcome.map(|()| serde_json::Value::Null)
}

fn json(value: impl Serialize) -> Result<serde_json::Value, ErrorCode> {
    serde_json::to_value(value).map_err(|_| ErrorCode::SystemError)
}

/// `image` + `image_type`: absent → 222001, present but empty → 222013 ("image empty").
fn image(p: &Params) -> Result<ImageRef, ErrorCode> {
    let data = p.text("image").ok_or(ErrorCode::ParamIsNull)?;
    if data.trim().is_empty() {
        return Err(ErrorCode::ParamImageFormatError);
    }
    let kind = p.required("image_type")?;
    let kind = ImageType::parse(kind.trim()).ok_or(ErrorCode::ParamImageTypeFormatError)?;
    Ok(ImageRef { data, kind })
}

/// `face_sort_type`: 1 = nearest the centre first, anything else = largest first (no seed
/// code names this parameter, so an unknown value falls back to the default).
fn face_order(p: &Params) -> FaceOrder {
    match p.optional("face_sort_type").as_deref().map(str::trim) {
        Some("1") => FaceOrder::CentreFirst,
        _ => FaceOrder::LargestFirst,
    }
}

const FACE_TYPES: &[(&str, ())] = &[
    ("LIVE", ()),
    ("IDCARD", ()),
    ("WATERMARK", ()),
    ("CERT", ()),
    ("INFRARED", ()),
];
const MATCH_FACE_TYPES: &[(&str, ())] = &[
    ("LIVE", ()),
    ("IDCARD", ()),
    ("WATERMARK", ()),
    ("CERT", ()),
    ("INFRARED", ()),
    ("HYBRID", ()),
];
const LEVELS: &[(&str, ControlLevel)] = &ControlLevel::ALL;

/// `quality_control`, `liveness_control` and `spoofing_control`. A bad spoofing level is
/// reported as a liveness-control format error: Baidu documents no code of its own for it,
/// and spoofing is the liveness family's check [U].
fn controls(p: &Params) -> Result<Controls, ErrorCode> {
    let quality = quality_control(p)?;
    let level = |key: &str| {
        p.choice(
            key,
            ControlLevel::None,
            LEVELS,
            ErrorCode::ParamLivenessControlFormatError,
        )
    };
    Ok(Controls {
        quality,
        liveness: level("liveness_control")?,
        spoofing: level("spoofing_control")?,
    })
}

fn quality_control(p: &Params) -> Result<ControlLevel, ErrorCode> {
    p.choice(
        "quality_control",
        ControlLevel::None,
        LEVELS,
        ErrorCode::ParamQualityControlFormatError,
    )
}

/// The `face_field` list of detect (current and legacy spellings, spec §5.1); an unknown
/// name is 222017.
fn face_fields(p: &Params) -> Result<FaceFields, ErrorCode> {
    let mut fields = FaceFields::default();
    for name in p
        .optional("face_field")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let wanted = &mut fields.attributes;
        match name {
            "landmark" => {
                fields.landmark = true;
                fields.landmark72 = true;
            }
            "landmark72" => fields.landmark72 = true,
            "landmark150" => fields.landmark150 = true,
            "quality" => fields.quality = true,
            "age" => wanted.age = true,
            "beauty" => wanted.beauty = true,
            "expression" => wanted.expression = true,
            "face_shape" | "faceshape" => wanted.face_shape = true,
            "gender" => wanted.gender = true,
            "glasses" => wanted.glasses = true,
            "eye_status" => wanted.eye_status = true,
            "emotion" => wanted.emotion = true,
            "face_type" | "facetype" => wanted.face_type = true,
            "mask" => wanted.mask = true,
            "spoofing" => wanted.spoofing = true,
            // Legacy values with no model behind them: accepted and ignored (spec §5.1).
            "race" | "parsing" => {}
            _ => return Err(ErrorCode::ParamFaceFieldFormatError),
        }
    }
    Ok(fields)
}

fn detect_request(p: &Params) -> Result<DetectRequest, ErrorCode> {
    let image = image(p)?;
    let fields = face_fields(p)?;
    let max_faces = p.uint(
        "max_face_num",
        1,
        1..=limits::DETECT_MAX_FACE_NUM,
        ErrorCode::ParamMaxFaceNumFormatError,
    )?;
    p.choice(
        "face_type",
        (),
        FACE_TYPES,
        ErrorCode::ParamFaceTypeFormatError,
    )?;
    // Detect's documented parameters do not list quality_control, but Baidu's detect drops
    // faces failing a control, so it is honoured here like multi-search's.
    let controls = controls(p)?;
    Ok(DetectRequest {
        image,
        max_faces: max_faces as usize,
        order: face_order(p),
        fields,
        controls,
    })
}

fn match_images(body: Body) -> Result<[MatchImage; 2], ErrorCode> {
    let Body::Array(items) = body else {
        return Err(ErrorCode::ImageCountIncorrect);
    };
    let [a, b]: [Params; 2] = items
        .try_into()
        .map_err(|_| ErrorCode::ImageCountIncorrect)?;
    let side = |p: &Params| -> Result<MatchImage, ErrorCode> {
        let image = image(p)?;
        p.choice(
            "face_type",
            (),
            MATCH_FACE_TYPES,
            ErrorCode::ParamFaceTypeFormatError,
        )?;
        let controls = controls(p)?;
        Ok(MatchImage {
            image,
            order: face_order(p),
            controls,
        })
    };
    Ok([side(&a)?, side(&b)?])
}

fn group_id(p: &Params, key: &str) -> Result<String, ErrorCode> {
    let id = p.required(key)?;
    if is_valid_id(&id) {
        Ok(id)
    } else {
        Err(ErrorCode::GroupIdFormatError)
    }
}

/// A comma-separated list of group ids in one parameter, duplicates dropped (first kept);
/// `bad` when any element is not a valid id.
fn id_list(p: &Params, key: &str, bad: ErrorCode) -> Result<Vec<String>, ErrorCode> {
    let raw = p.required(key)?;
    let mut ids: Vec<String> = Vec::new();
    for id in raw.split(',').map(str::trim) {
        if !is_valid_id(id) {
            return Err(bad);
        }
        if !ids.iter().any(|seen| seen == id) {
            ids.push(id.to_string());
        }
    }
    Ok(ids)
}

/// A group id that may also be `@ALL` (user/get, user/delete).
fn group_or_all(p: &Params) -> Result<String, ErrorCode> {
    match p.optional("group_id") {
        Some(all) if all.trim() == faced_library::ALL_GROUPS => {
            Ok(faced_library::ALL_GROUPS.to_string())
        }
        _ => group_id(p, "group_id"),
    }
}

fn user_id(p: &Params) -> Result<String, ErrorCode> {
    let id = p.required("user_id")?;
    if is_valid_id(&id) {
        Ok(id)
    } else {
        Err(ErrorCode::UidFormatError)
    }
}

fn group_list(p: &Params) -> Result<Vec<String>, ErrorCode> {
    let groups = id_list(p, "group_id_list", ErrorCode::ParamGroupIdListFormatError)?;
    if groups.len() > MAX_GROUPS_PER_SEARCH {
        return Err(ErrorCode::GroupListTooLarge);
    }
    Ok(groups)
}

fn search_request(p: &Params) -> Result<SearchRequest, ErrorCode> {
    let image = image(p)?;
    let group_ids = group_list(p)?;
    let controls = controls(p)?;
    let user_id = match p.optional("user_id") {
        Some(id) if is_valid_id(&id) => Some(id),
        Some(_) => return Err(ErrorCode::ParamUserIdFormatError),
        None => None,
    };
    let max_users = p.uint(
        "max_user_num",
        1,
        1..=limits::SEARCH_MAX_USER_NUM,
        ErrorCode::ParamMaxUserNumFormatError,
    )?;
    let match_threshold = p.uint(
        "match_threshold",
        0,
        0..=100,
        ErrorCode::ParamMatchThresholdFormatError,
    )?;
    Ok(SearchRequest {
        image,
        group_ids,
        user_id,
        max_users: max_users as usize,
        match_threshold: match_threshold as f32,
        order: face_order(p),
        controls,
    })
}

fn multi_search_request(p: &Params) -> Result<MultiSearchRequest, ErrorCode> {
    let image = image(p)?;
    let group_ids = group_list(p)?;
    let controls = controls(p)?;
    let max_faces = p.uint(
        "max_face_num",
        1,
        1..=limits::MULTI_SEARCH_MAX_FACE_NUM,
        ErrorCode::ParamMaxFaceNumFormatError,
    )?;
    let max_users = p.uint(
        "max_user_num",
        1,
        1..=limits::MULTI_SEARCH_MAX_USER_NUM,
        ErrorCode::ParamMaxUserNumFormatError,
    )?;
    let match_threshold = p.uint(
        "match_threshold",
        80,
        0..=100,
        ErrorCode::ParamMatchThresholdFormatError,
    )?;
    Ok(MultiSearchRequest {
        image,
        group_ids,
        max_faces: max_faces as usize,
        max_users: max_users as usize,
        match_threshold: match_threshold as f32,
        controls,
    })
}

fn add_user_request(p: &Params) -> Result<AddUserRequest, ErrorCode> {
    let image = image(p)?;
    let group_id = group_id(p, "group_id")?;
    let user_id = user_id(p)?;
    let user_info = p.text("user_info");
    if user_info
        .as_ref()
        .is_some_and(|info| info.len() > MAX_USER_INFO_BYTES)
    {
        return Err(ErrorCode::UserInfoFormatError);
    }
    let controls = controls(p)?;
    // `REPLACE` replaces the user's faces; anything else appends (Baidu's default).
    let mode = match p.optional("action_type").as_deref().map(str::trim) {
        Some("REPLACE") => AddMode::Replace,
        _ => AddMode::Append,
    };
    Ok(AddUserRequest {
        image,
        group_id,
        user_id,
        user_info,
        mode,
        order: face_order(p),
        controls,
    })
}

fn paging(p: &Params) -> Result<(usize, usize), ErrorCode> {
    let start = p.uint("start", 0, 0..=u32::MAX, ErrorCode::ParamStartFormatError)?;
    let length = p.uint(
        "length",
        limits::PAGE_DEFAULT_LENGTH,
        1..=limits::PAGE_MAX_LENGTH,
        ErrorCode::ParamLengthFormatError,
    )?;
    Ok((start as usize, length as usize))
}
