//! Every error code `faced` can answer with, and its exact Baidu message.
//!
//! `faced` speaks the Baidu AI Face API v3 wire format, and Baidu clients (the
//! official SDKs and hand-written integrations) react to `error_code` values and
//! sometimes compare `error_msg` strings verbatim. A code with a slightly wrong
//! message, or a message duplicated with a typo "fixed" in one place, breaks
//! those clients. This crate is therefore the **single place** where codes and
//! messages live: every other crate names an [`ErrorCode`] variant and asks it
//! for [`ErrorCode::code`], [`ErrorCode::message`] and [`ErrorCode::envelope`];
//! nobody else writes a code number or a message string literal.
//!
//! The whole table is one `macro_rules!` invocation (see `error_codes!` in the
//! source), so the enum, the lookups and [`ErrorCode::ALL`] cannot drift apart.
//! Messages are byte-exact copies of Baidu's, typos included (`network not
//! availablel`, `image_url_download_fail`, `pic not has face`). Sources: the
//! Baidu error-code table (`shared/spec/error-codes-seed.md`) and §8 of
//! `shared/spec/baidu-face-v3-api.md`; the unit tests re-read the seed table and
//! check this crate against it.

#![warn(missing_docs)]

use std::fmt;

/// Which JSON envelope carries an error code on the wire.
///
/// Baidu answers gateway/authentication failures with a bare two-key object and
/// service failures with the full v3 envelope; clients parse both, but a
/// compatible server must pick the same shape Baidu does (spec §1.5, §8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Envelope {
    /// Two keys only: `{"error_code":..,"error_msg":..}` (gateway, flow-control
    /// and authentication codes 3, 4, 6, 14, 17, 18, 19, 100, 110, 111).
    Gateway,
    /// The full v3 envelope: `error_code, error_msg, log_id, timestamp, cached,
    /// result` with `result: null`.
    Full,
}

/// Generates [`ErrorCode`] and all of its per-code lookups from one table.
///
/// Each row is `Variant = code, "message", Kind;` where `Kind` is an
/// [`Envelope`] variant name. The code doubles as the enum discriminant, so a
/// duplicated code is a compile error.
macro_rules! error_codes {
    ($(
        $(#[$meta:meta])*
        $variant:ident = $code:literal, $msg:literal, $kind:ident;
    )+) => {
        /// A Baidu Face API error code, one variant per code `faced` knows.
        ///
        /// Handlers return these instead of numbers so that the code, the exact
        /// message and the envelope shape always come from the same table row.
        /// The discriminant is the wire code itself.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u32)]
        pub enum ErrorCode {
            $(
                $(#[$meta])*
                $variant = $code,
            )+
        }

        impl ErrorCode {
            /// Every known code, in table order, so tests and tooling (docs,
            /// conformance checks) can enumerate the catalogue.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),+];

            /// The numeric `error_code` sent on the wire (always a JSON integer).
            pub const fn code(self) -> u32 {
                self as u32
            }

            /// The exact `error_msg` Baidu sends for this code, typos preserved,
            /// because clients may compare it verbatim.
            pub const fn message(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $msg,)+
                }
            }

            /// Looks a wire code up, so responses from an upstream Baidu service
            /// or test fixtures can be mapped back; `None` for unknown codes.
            pub const fn from_code(code: u32) -> Option<ErrorCode> {
                match code {
                    $($code => Some(ErrorCode::$variant),)+
                    _ => None,
                }
            }

            /// Which JSON envelope this code is answered with on the wire.
            pub const fn envelope(self) -> Envelope {
                match self {
                    $(ErrorCode::$variant => Envelope::$kind,)+
                }
            }
        }
    };
}

error_codes! {
    // ----- §8.1 gateway, flow control and authentication (two-key envelope) -----

    /// Unknown API path or method. Not in the seed table; from spec §8.1
    /// (generic Baidu gateway table).
    UnsupportedOpenapiMethod = 3, "Unsupported openapi method", Gateway;
    /// Cluster-wide capacity exceeded; our global overload guard.
    OpenApiRequestLimitReached = 4, "Open api request limit reached", Gateway;
    /// Credentials are valid but the app lacks rights to this endpoint.
    NoPermissionToAccessData = 6, "no permission to access data", Gateway;
    /// `bce-auth-v1` signature verification failed. Not in the seed table; from
    /// spec §8.1 (JAVA SDK / JDOC18).
    IamCertificationFailed = 14, "IAM Certification failed", Gateway;
    /// The app's daily quota for this endpoint is exhausted.
    DailyRequestLimitReached = 17, "Open api daily request limit reached", Gateway;
    /// Per-account, per-endpoint QPS limit exceeded (spec §1.11).
    QpsLimitReached = 18, "Open api qps request limit reached", Gateway;
    /// The app's lifetime request quota is exhausted.
    TotalRequestLimitReached = 19, "Open api total request limit reached", Gateway;
    /// No usable `access_token` parameter and no `Authorization` header.
    AccessTokenMissing = 100, "Invalid parameter", Gateway;
    /// Token unknown or revoked; SDKs refresh their token only on this code.
    AccessTokenInvalid = 110, "Access token invalid or no longer valid", Gateway;
    /// Token older than its `expires_in`.
    AccessTokenExpired = 111, "Access token expired", Gateway;

    // ----- §8.6 H5 video liveness (v1 faceliveness endpoints) -----

    /// Face backend failed while verifying a liveness video.
    RtseFaceServiceError = 216430, "rtse/face service error", Full;
    /// Speech-recognition backend failed.
    VoiceServiceError = 216431, "voice service error", Full;
    /// Video-parsing backend unreachable.
    VideoServiceCallFail = 216432, "video service call fail", Full;
    /// Video-parsing backend reported an error.
    VideoServiceError = 216433, "video service error", Full;
    /// The video was judged not live (the image endpoints use 223120).
    VideoLivenessCheckFail = 216434, "liveness check fail", Full;
    /// The spoken/recognised code differs from the issued session code.
    CodeDigitError = 216500, "code digit error", Full;
    /// No face found in the video.
    VideoFaceNotFound = 216501, "not found face", Full;
    /// `session_id` unknown, expired or already used.
    SessionLapse = 216502, "session lapse", Full;
    /// Session store unreachable.
    RedisConnectError = 216505, "redis connect error", Full;
    /// Session store operation failed.
    RedisOperationError = 216506, "redis operation error", Full;
    /// More than one face in the video.
    VideoManyFaces = 216507, "found many faces", Full;
    /// The video cannot be parsed or has an unsupported format.
    VideoInfoNotFound = 216508, "not found video info", Full;
    /// The audio is unintelligible (too quiet or noisy).
    VoiceNotIdentifiable = 216509, "voice can not identify", Full;
    /// Face quality in the video too low. The seed gives a Chinese message
    /// followed by the concrete reason (`illumiantion`, `angle`, `blur`,
    /// `occlusion`, `too large`); this is the Chinese base text only — callers
    /// that know the reason append it themselves.
    VideoFaceQualityPoor = 216908, "视频中人脸质量较差", Full;

    // ----- §8.2 parameter errors -----

    /// A required parameter is missing or empty (message literally `param[]`).
    ParamIsNull = 222001, "param[] is null", Full;
    /// `start` is not a non-negative integer.
    ParamStartFormatError = 222002, "param[start] format error", Full;
    /// `length` is not an integer in range.
    ParamLengthFormatError = 222003, "param[length] format error", Full;
    /// `op_app_id_list` malformed (private statistics API; reserved).
    ParamOpAppIdListFormatError = 222004, "param[op_app_id_list] format error", Full;
    /// `group_id_list` has an empty, over-long or badly formed entry.
    ParamGroupIdListFormatError = 222005, "param[group_id_list] format error", Full;
    /// A group id is not `[0-9A-Za-z_]{1,48}`.
    GroupIdFormatError = 222006, "group_id format error", Full;
    /// A user id is not `[0-9A-Za-z_]{1,48}` (library endpoints).
    UidFormatError = 222007, "uid format error", Full;
    /// Legacy `face_id` malformed (reserved; face tokens use 222025).
    FaceIdFormatError = 222008, "face_id format error", Full;
    /// Legacy v2 `quality_conf` malformed (reserved; see also 223112).
    QualityConfFormatError = 222009, "quality_conf format error", Full;
    /// `user_info` is not a string or is too long.
    UserInfoFormatError = 222010, "user_info format error", Full;
    /// Legacy `uid_list` malformed (reserved).
    ParamUidListFormatError = 222011, "param[uid_list] format error", Full;
    /// `op_app_id` malformed (legacy/private; reserved).
    ParamOpAppIdFormatError = 222012, "param[op_app_id] format error", Full;
    /// `image` empty, not valid base64, or too large once encoded.
    ParamImageFormatError = 222013, "param[image] format error", Full;
    /// App id malformed.
    ParamAppIdFormatError = 222014, "param[app_id] format error", Full;
    /// `image_type` is not `BASE64`, `URL` or `FACE_TOKEN`.
    ParamImageTypeFormatError = 222015, "param[image_type] format error", Full;
    /// `max_face_num` not an integer or out of range.
    ParamMaxFaceNumFormatError = 222016, "param[max_face_num] format error", Full;
    /// `face_field` not a comma-separated list of known fields.
    ParamFaceFieldFormatError = 222017, "param[face_field] format error", Full;
    /// `user_id` filter malformed (search endpoints).
    ParamUserIdFormatError = 222018, "param[user_id] format error", Full;
    /// `quality_control` not `NONE`/`LOW`/`NORMAL`/`HIGH`.
    ParamQualityControlFormatError = 222019, "param[quality_control] format error", Full;
    /// `liveness_control` not `NONE`/`LOW`/`NORMAL`/`HIGH`.
    ParamLivenessControlFormatError = 222020, "param[liveness_control] format error", Full;
    /// `max_user_num` not an integer or out of range.
    ParamMaxUserNumFormatError = 222021, "param[max_user_num] format error", Full;
    /// `id_card_number` malformed.
    ParamIdCardNumberFormatError = 222022, "param[id_card_number] format error", Full;
    /// `name` (identity verification) malformed.
    ParamNameFormatError = 222023, "param[name] format error", Full;
    /// `face_type` not in the allowed set.
    ParamFaceTypeFormatError = 222024, "param[face_type] format error", Full;
    /// `face_token` is not `[0-9A-Za-z_]{1,64}`.
    ParamFaceTokenFormatError = 222025, "param[face_token] format error", Full;
    /// `max_star_num` malformed (legacy celebrity API; reserved).
    ParamMaxStarNumFormatError = 222026, "param[max_star_num] format error", Full;
    /// Session-code length range invalid (`min_code_length` > `max_code_length`).
    CodeLengthParamError = 222027, "code length param error", Full;
    /// `min_code_length` not an integer or out of range.
    ParamMinCodeLengthFormatError = 222028, "param[min_code_length] format error", Full;
    /// `max_code_length` not an integer or out of range.
    ParamMaxCodeLengthFormatError = 222029, "param[max_code_length] format error", Full;
    /// `match_threshold` not an integer in 0..=100.
    ParamMatchThresholdFormatError = 222030, "param[match_threshold] format error", Full;

    // ----- §8.3 request, image and processing errors -----

    /// The body of a JSON endpoint is not parseable JSON.
    RequestBodyNotJson = 222200, "request body should be json format", Full;
    /// An internal backend call failed (retryable).
    NetworkNotAvailable = 222201, "network not available", Full;
    /// No face detected in the image.
    PicNotHasFace = 222202, "pic not has face", Full;
    /// The image cannot be decoded, has an unsupported format, or the face
    /// cannot be parsed.
    ImageCheckFail = 222203, "image check fail", Full;
    /// Downloading an `image_type=URL` image failed.
    ImageUrlDownloadFail = 222204, "image_url_download_fail", Full;
    /// A second "backend call failed" code; Baidu's message really ends in
    /// `availablel` (sic) and clients may match it verbatim.
    NetworkNotAvailableTypo = 222205, "network not availablel", Full;
    /// Feature/retrieval backend failure.
    RtseServiceFail = 222206, "rtse service return fail", Full;
    /// 1:N search found no candidate above `match_threshold`.
    MatchUserNotFound = 222207, "match user is not found", Full;
    /// Wrong number of images (match needs 2; faceverify allows a fixed set).
    ImageCountIncorrect = 222208, "the number of image is incorrect", Full;
    /// FACE_TOKEN unknown, or unregistered and older than one hour.
    FaceTokenNotExist = 222209, "face token not exist", Full;
    /// The user already holds the maximum number of faces (20) in the group.
    UserFaceLimitExceeded = 222210, "the number of user's faces is beyond the limit", Full;
    /// Storing a new face failed.
    AddFaceFail = 222300, "add face fail", Full;
    /// Loading stored face data failed.
    GetFaceFail = 222301, "get face fail", Full;
    /// Unexpected internal error.
    SystemError = 222302, "system error", Full;
    /// Loading stored face data failed (second source; same message as 222301).
    GetFaceFailSecondary = 222303, "get face fail", Full;
    /// The decoded image is larger than 1920x1080.
    ImageSizeTooLarge = 222304, "image size is too large", Full;

    // ----- §8.5 identity verification (police data source) -----

    /// Reference ID photo missing or unusable.
    PolicePictureNoneOrLowQuality = 222350, "police picture is none or low quality", Full;
    /// ID number and name do not match, or the ID number is unknown.
    IdNumberNameMismatch = 222351, "id number and name not match or id number not exist", Full;
    /// The data source rejected the name.
    PoliceNameFormatError = 222352, "name format error", Full;
    /// The data source rejected the ID number (checksum etc.).
    IdNumberFormatError = 222353, "id number format error", Full;
    /// The ID number is absent from the data source.
    IdNumberNotExist = 222354, "id number not exist", Full;
    /// The ID number is valid but has no reference photo.
    PolicePictureNotExist = 222355, "police picture not exist", Full;
    /// The submitted face is unusable (unclear, several faces, > 600 KB).
    PersonPictureLowQuality = 222356, "person picture is low quality", Full;
    /// The data source's own validation failed.
    InvalidNameOrIdNumber = 222360, "invalid name or id number", Full;
    /// Connection to the identity data source failed. The seed lists this code
    /// twice (`system busy` in the general table, `network not available` in
    /// the police table); spec §8.5 picks `network not available`.
    PoliceNetworkNotAvailable = 222361, "network not available", Full;

    // ----- §8.3 the 2229xx "system busy" family (all retryable) -----

    /// Parameter-validation subsystem failed to initialise (1 of 4).
    SystemBusyParamCheckInit1 = 222901, "system busy", Full;
    /// Parameter-validation subsystem failed to initialise (2 of 4).
    SystemBusyParamCheckInit2 = 222902, "system busy", Full;
    /// Parameter-validation subsystem failed to initialise (3 of 4).
    SystemBusyParamCheckInit3 = 222903, "system busy", Full;
    /// Parameter-validation subsystem failed to initialise (4 of 4).
    SystemBusyParamCheckInit4 = 222904, "system busy", Full;
    /// Interface failed to initialise (1 of 4).
    SystemBusyInterfaceInit1 = 222905, "system busy", Full;
    /// Interface failed to initialise (2 of 4).
    SystemBusyInterfaceInit2 = 222906, "system busy", Full;
    /// Cache layer failure (1 of 3); our cache faults.
    SystemBusyCache1 = 222907, "system busy", Full;
    /// Cache layer failure (2 of 3).
    SystemBusyCache2 = 222908, "system busy", Full;
    /// Cache layer failure (3 of 3).
    SystemBusyCache3 = 222909, "system busy", Full;
    /// Data-store failure (1 of 3); our database faults.
    SystemBusyDataStore1 = 222910, "system busy", Full;
    /// Data-store failure (2 of 3).
    SystemBusyDataStore2 = 222911, "system busy", Full;
    /// Data-store failure (3 of 3).
    SystemBusyDataStore3 = 222912, "system busy", Full;
    /// Interface failed to initialise (3 of 4).
    SystemBusyInterfaceInit3 = 222913, "system busy", Full;
    /// Interface failed to initialise (4 of 4).
    SystemBusyInterfaceInit4 = 222914, "system busy", Full;
    /// Backend connection failed (1 of 2); our model-worker connection faults.
    SystemBusyBackendConnect1 = 222915, "system busy", Full;
    /// Backend connection failed (2 of 2).
    SystemBusyBackendConnect2 = 222916, "system busy", Full;

    // ----- §8.4 face library, quality and liveness -----

    /// The referenced group does not exist.
    GroupNotExist = 223100, "group is not exist", Full;
    /// Creating a group whose id already exists.
    GroupAlreadyExist = 223101, "group is already exist", Full;
    /// The user already exists (e.g. in the copy destination group).
    UserAlreadyExist = 223102, "user is already exist", Full;
    /// The user does not exist in the group.
    UserNotExist = 223103, "user is not exist", Full;
    /// Too many groups in `group_id_list`.
    GroupListTooLarge = 223104, "group_list is too large", Full;
    /// The same face is already registered in this group.
    FaceAlreadyExist = 223105, "face is already exist", Full;
    /// The face_token is not registered under that user/group.
    FaceNotExist = 223106, "face is not exist", Full;
    /// Too many entries in `uid_list` (legacy; reserved).
    UidListTooLarge = 223110, "uid_list is too large", Full;
    /// The copy destination group does not exist.
    DstGroupNotExist = 223111, "dst group is not exist", Full;
    /// `quality_conf` malformed (library flavour; same message as 222009).
    QualityConfInvalid = 223112, "quality_conf format error", Full;
    /// Occlusion failure without a specific face part.
    FaceCovered = 223113, "face is covered", Full;
    /// Blur above the quality level's limit.
    FaceFuzzy = 223114, "face is fuzzy", Full;
    /// Illumination below the quality level's limit.
    FaceLightNotGood = 223115, "face light is not good", Full;
    /// Completeness below the quality level's limit.
    IncompleteFace = 223116, "incomplete face", Full;
    /// Too many apps in `app_list` (legacy; reserved).
    AppListTooLarge = 223117, "app_list is too large", Full;
    /// A quality-control item could not be evaluated or is invalid.
    QualityControlError = 223118, "quality control error", Full;
    /// A liveness-control item is invalid.
    LivenessControlItemError = 223119, "liveness control item error", Full;
    /// Image liveness score below the level's threshold.
    LivenessCheckFail = 223120, "liveness check fail", Full;
    /// Left-eye occlusion above the quality level's limit.
    LeftEyeOccluded = 223121, "left eye is occlusion", Full;
    /// Right-eye occlusion above the quality level's limit.
    RightEyeOccluded = 223122, "right eye is occlusion", Full;
    /// Left-cheek occlusion above the quality level's limit.
    LeftCheekOccluded = 223123, "left cheek is occlusion", Full;
    /// Right-cheek occlusion above the quality level's limit.
    RightCheekOccluded = 223124, "right cheek is occlusion", Full;
    /// Chin-contour occlusion above the quality level's limit.
    ChinContourOccluded = 223125, "chin contour is occlusion", Full;
    /// Nose occlusion above the quality level's limit.
    NoseOccluded = 223126, "nose is occlusion", Full;
    /// Mouth occlusion above the quality level's limit.
    MouthOccluded = 223127, "mouth is occlusion", Full;
    /// The group is still being deleted; operations on it must wait.
    GroupDeleting = 223128, "group was deleting", Full;
    /// Head pose too far from frontal. NOT from the seed table: the code is
    /// seen only in third-party code (spec §1.8, §8.4) and no message is
    /// documented, so this English message is our own choice.
    FaceNotFrontal = 223129, "face is not frontal", Full;
    /// The face looks edited or synthetic: its `spoofing` score is above the
    /// `spoofing_control` level's threshold. NOT from the seed table: the code is seen only
    /// in third-party lists (spec §8.4) and no message is documented, so this English message
    /// is our own choice.
    SpoofingCheckFail = 223131, "spoofing check fail", Full;
}

impl ErrorCode {
    /// Whether this code is answered with the two-key gateway envelope
    /// (`{"error_code":..,"error_msg":..}`) instead of the full v3 envelope.
    pub const fn is_gateway(self) -> bool {
        matches!(self.envelope(), Envelope::Gateway)
    }
}

impl fmt::Display for ErrorCode {
    /// `"{code} {message}"`, the form used in logs and `anyhow` chains.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code(), self.message())
    }
}

/// Lets an [`ErrorCode`] travel through `?` and `Box<dyn Error>` chains.
impl std::error::Error for ErrorCode {}

/// The wire code, for code that builds JSON by hand.
impl From<ErrorCode> for u32 {
    fn from(code: ErrorCode) -> u32 {
        code.code()
    }
}

/// Serialises as the bare integer code, which is what `error_code` holds.
impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u32(self.code())
    }
}

/// Accepts the integer code; unknown codes are rejected rather than guessed.
impl<'de> serde::Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = <u32 as serde::Deserialize>::deserialize(deserializer)?;
        ErrorCode::from_code(code)
            .ok_or_else(|| serde::de::Error::custom(format_args!("unknown error code {code}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet, HashSet};

    /// The Baidu seed table, read at test time so this crate is checked
    /// against the original rather than against a copy of itself.
    const SEED_PATH: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/spec/error-codes-seed.md"
    );

    /// Codes that are in the enum but not in the seed table, with why.
    const NOT_IN_SEED: &[u32] = &[
        3,      // spec §8.1, generic gateway table
        14,     // spec §8.1, JAVA SDK / JDOC18
        223129, // spec §1.8 / §8.4, third-party only; message is ours
        223131, // spec §1.8 / §8.4 (spoofing_control), third-party only; message is ours
    ];

    /// Every `| <digits> | <message> |` row of the seed, grouped by code.
    fn seed_rows() -> BTreeMap<u32, BTreeSet<String>> {
        let text = std::fs::read_to_string(SEED_PATH).expect("read seed table");
        let mut rows: BTreeMap<u32, BTreeSet<String>> = BTreeMap::new();
        for line in text.lines() {
            let line = line.trim();
            if !line.starts_with('|') {
                continue;
            }
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            // cells[0] is the empty text before the leading '|'.
            let (Some(code), Some(msg)) = (cells.get(1), cells.get(2)) else {
                continue;
            };
            if code.is_empty() || !code.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            rows.entry(code.parse().expect("numeric code"))
                .or_default()
                .insert((*msg).to_owned());
        }
        rows
    }

    #[test]
    fn count_of_codes() {
        // 119 distinct seed codes + 3, 14, 223129 and 223131.
        assert_eq!(ErrorCode::ALL.len(), 123);
    }

    #[test]
    fn seed_has_119_distinct_codes() {
        assert_eq!(seed_rows().len(), 119);
    }

    #[test]
    fn every_seed_code_is_in_the_enum_with_its_message() {
        for (code, msgs) in seed_rows() {
            let ec = ErrorCode::from_code(code)
                .unwrap_or_else(|| panic!("seed code {code} missing from ErrorCode"));
            match code {
                222361 => {
                    let expected: BTreeSet<String> = ["network not available", "system busy"]
                        .into_iter()
                        .map(String::from)
                        .collect();
                    assert_eq!(msgs, expected, "222361 seed rows changed");
                    assert_eq!(ec.message(), "network not available");
                }
                216908 => {
                    assert_eq!(msgs.len(), 1);
                    let seed = msgs.iter().next().expect("one message");
                    // Seed: base text + " (返回信息中包含具体原因)" placeholder.
                    assert!(seed.starts_with(ec.message()), "216908: {seed}");
                    assert_eq!(ec.message(), "视频中人脸质量较差");
                }
                _ => {
                    assert_eq!(msgs.len(), 1, "seed lists {code} with {msgs:?}");
                    let seed = msgs.iter().next().expect("one message");
                    assert_eq!(ec.message(), seed, "message of {code}");
                }
            }
        }
    }

    #[test]
    fn codes_outside_seed_are_exactly_the_documented_extras() {
        let seed = seed_rows();
        let extra: BTreeSet<u32> = ErrorCode::ALL
            .iter()
            .map(|c| c.code())
            .filter(|c| !seed.contains_key(c))
            .collect();
        assert_eq!(extra, NOT_IN_SEED.iter().copied().collect());
    }

    #[test]
    fn codes_are_unique() {
        let codes: HashSet<u32> = ErrorCode::ALL.iter().map(|c| c.code()).collect();
        assert_eq!(codes.len(), ErrorCode::ALL.len());
        let variants: HashSet<ErrorCode> = ErrorCode::ALL.iter().copied().collect();
        assert_eq!(variants.len(), ErrorCode::ALL.len());
    }

    #[test]
    fn from_code_round_trips() {
        for &c in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_code(c.code()), Some(c));
        }
        for unknown in [0, 1, 2, 5, 13, 15, 222000, 222362, 223130, 223132, u32::MAX] {
            assert_eq!(ErrorCode::from_code(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn gateway_set_is_exact() {
        let gateway: BTreeSet<u32> = ErrorCode::ALL
            .iter()
            .filter(|c| c.is_gateway())
            .map(|c| c.code())
            .collect();
        let expected: BTreeSet<u32> = [3, 4, 6, 14, 17, 18, 19, 100, 110, 111].into();
        assert_eq!(gateway, expected);
        for &c in ErrorCode::ALL {
            let want = if c.is_gateway() {
                Envelope::Gateway
            } else {
                Envelope::Full
            };
            assert_eq!(c.envelope(), want);
        }
    }

    #[test]
    fn byte_exact_messages() {
        use ErrorCode::*;
        for (c, m) in [
            (NetworkNotAvailableTypo, "network not availablel"),
            (ImageUrlDownloadFail, "image_url_download_fail"),
            (PicNotHasFace, "pic not has face"),
            (QpsLimitReached, "Open api qps request limit reached"),
            (NoPermissionToAccessData, "no permission to access data"),
            (
                AccessTokenInvalid,
                "Access token invalid or no longer valid",
            ),
            (IamCertificationFailed, "IAM Certification failed"),
            (UnsupportedOpenapiMethod, "Unsupported openapi method"),
            (PoliceNetworkNotAvailable, "network not available"),
            (
                UserFaceLimitExceeded,
                "the number of user's faces is beyond the limit",
            ),
        ] {
            assert_eq!(c.message(), m);
        }
    }

    #[test]
    fn display_is_code_space_message() {
        assert_eq!(
            ErrorCode::PicNotHasFace.to_string(),
            "222202 pic not has face"
        );
        assert_eq!(
            ErrorCode::AccessTokenExpired.to_string(),
            "111 Access token expired"
        );
        let boxed: Box<dyn std::error::Error> = Box::new(ErrorCode::GroupDeleting);
        assert_eq!(boxed.to_string(), "223128 group was deleting");
    }

    #[test]
    fn u32_conversion_matches_code() {
        assert_eq!(u32::from(ErrorCode::FaceTokenNotExist), 222209);
        assert_eq!(ErrorCode::SystemBusyCache1.code(), 222907);
    }
}
