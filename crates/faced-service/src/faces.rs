//! Detect, match, search and enrol: the face use-cases and their results in Baidu's shapes.

use std::sync::Arc;

use faced_engine::detect::FaceOrder;
use faced_engine::{AnalysedFace, Engine};
use faced_errors::ErrorCode;
use faced_library::{AddFace, AddMode, MultiSearchQuery, SearchHit, SearchQuery};
use image::RgbImage;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::attributes::AttributesJson;
pub use crate::attributes::FaceFields;
use crate::controls::{
    check_liveness, check_quality, check_spoofing, ControlLevel, Controls, QualityJson,
};
use crate::image_input::ImageRef;
use crate::limits::TRANSIENT_FACE_TOKEN_SECS;
use crate::service::{unix_now, FaceService, Probe};

/// A point of a landmark list.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct XY {
    /// Pixels from the left edge.
    pub x: f32,
    /// Pixels from the top edge.
    pub y: f32,
}

/// Baidu's face box: top-left corner, size and in-plane rotation.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Location {
    /// Pixels from the left edge.
    pub left: f32,
    /// Pixels from the top edge.
    pub top: f32,
    /// Box width.
    pub width: f32,
    /// Box height.
    pub height: f32,
    /// Clockwise rotation of the face, whole degrees.
    pub rotation: i32,
}

/// Head pose in degrees.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Angle {
    /// Left/right turn.
    pub yaw: f32,
    /// Up/down nod.
    pub pitch: f32,
    /// In-plane tilt.
    pub roll: f32,
}

/// One face of a detect result (fields in Baidu's order).
#[derive(Debug, Clone, Serialize)]
pub struct FaceJson {
    /// Token naming this face for an hour (or for good once registered).
    pub face_token: String,
    /// Where it is.
    pub location: Location,
    /// Detector confidence.
    pub face_probability: f32,
    /// Head pose.
    pub angle: Angle,
    /// The attributes asked for with `face_field` (and `liveness` under a liveness control).
    #[serde(flatten)]
    pub attributes: AttributesJson,
    /// Occlusion, blur, illumination and completeness (with `face_field=quality`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quality: Option<QualityJson>,
    /// Eye, eye, nose tip, mouth centre (with `face_field=landmark`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub landmark: Option<Vec<XY>>,
}

/// A parsed detect request.
#[derive(Debug, Clone)]
pub struct DetectRequest {
    /// The image.
    pub image: ImageRef,
    /// At most this many faces.
    pub max_faces: usize,
    /// Which faces first.
    pub order: FaceOrder,
    /// Optional fields asked for.
    pub fields: FaceFields,
    /// Faces failing these controls are dropped from the list.
    pub controls: Controls,
}

/// Detect's result.
#[derive(Debug, Clone, Serialize)]
pub struct DetectResult {
    /// Faces returned.
    pub face_num: usize,
    /// The faces.
    pub face_list: Vec<FaceJson>,
}

/// One side of a match.
#[derive(Debug, Clone)]
pub struct MatchImage {
    /// The image.
    pub image: ImageRef,
    /// Which face when several.
    pub order: FaceOrder,
    /// The face must pass these controls, else the failing check's code.
    pub controls: Controls,
}

/// A `{face_token}` entry of match's result.
#[derive(Debug, Clone, Serialize)]
pub struct TokenOnly {
    /// The face used.
    pub face_token: String,
}

/// Match's result.
#[derive(Debug, Clone, Serialize)]
pub struct MatchResult {
    /// Calibrated similarity, 0–100.
    pub score: f32,
    /// The two faces in request order.
    pub face_list: Vec<TokenOnly>,
}

/// A parsed search request.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    /// The probe image.
    pub image: ImageRef,
    /// Groups to search (validated, ≤ 10).
    pub group_ids: Vec<String>,
    /// Restrict to this user.
    pub user_id: Option<String>,
    /// Users returned at most.
    pub max_users: usize,
    /// Minimum score returned.
    pub match_threshold: f32,
    /// Which probe face when several.
    pub order: FaceOrder,
    /// The probe must pass these controls, else the failing check's code.
    pub controls: Controls,
}

/// One user found by search.
#[derive(Debug, Clone, Serialize)]
pub struct UserMatch {
    /// Its group.
    pub group_id: String,
    /// The user.
    pub user_id: String,
    /// Stored info.
    pub user_info: String,
    /// Calibrated similarity of its best face, 0–100.
    pub score: f32,
}

/// Search's result.
#[derive(Debug, Clone, Serialize)]
pub struct SearchResult {
    /// The probe face.
    pub face_token: String,
    /// Best users first.
    pub user_list: Vec<UserMatch>,
}

/// A parsed user/add request.
#[derive(Debug, Clone)]
pub struct AddUserRequest {
    /// The face image.
    pub image: ImageRef,
    /// Target group (created when missing).
    pub group_id: String,
    /// Target user (created when missing).
    pub user_id: String,
    /// Replaces the stored info when given.
    pub user_info: Option<String>,
    /// APPEND or REPLACE.
    pub mode: AddMode,
    /// Which face when several.
    pub order: FaceOrder,
    /// The face must pass these controls to be registered, else the failing check's code.
    pub controls: Controls,
}

/// user/add's result.
#[derive(Debug, Clone, Serialize)]
pub struct AddUserResult {
    /// The registered face's token.
    pub face_token: String,
    /// Where the face was.
    pub location: Location,
}

/// Which enrolment endpoint is registering a face.
#[derive(Debug, Clone, Copy)]
enum Enrol {
    /// `user/add`: APPEND or REPLACE per the request, group created when missing.
    Add,
    /// `user/update`: replace the user's faces; the user must exist unless `create_if_missing`.
    Update { create_if_missing: bool },
}

/// A parsed multi-search request.
#[derive(Debug, Clone)]
pub struct MultiSearchRequest {
    /// The photo.
    pub image: ImageRef,
    /// Groups to search (validated, ≤ 10).
    pub group_ids: Vec<String>,
    /// Faces searched at most (largest first).
    pub max_faces: usize,
    /// Users returned per face at most.
    pub max_users: usize,
    /// Minimum score returned.
    pub match_threshold: f32,
    /// Faces failing these controls are left out.
    pub controls: Controls,
}

/// One face of a multi-search result.
#[derive(Debug, Clone, Serialize)]
pub struct MultiSearchFace {
    /// The face.
    pub face_token: String,
    /// Where it is.
    pub location: Location,
    /// Users over the threshold, best first (empty when none).
    pub user_list: Vec<UserMatch>,
}

/// Multi-search's result.
#[derive(Debug, Clone, Serialize)]
pub struct MultiSearchResult {
    /// Faces searched.
    pub face_num: usize,
    /// Per face, its matches.
    pub face_list: Vec<MultiSearchFace>,
}

/// A face of a picture with its embedding and token.
struct EmbeddedFace {
    face: AnalysedFace,
    embedding: Vec<f32>,
    face_token: String,
    summary: FaceSummary,
}

impl FaceService {
    /// Baidu `detect`: every face (up to `max_faces`) with token, box, probability and pose,
    /// and `quality` when asked; faces failing `quality_control` are dropped. The quality is
    /// measured only when the field or a control asks for it.
    pub async fn detect(
        &self,
        app_id: &str,
        req: DetectRequest,
    ) -> Result<DetectResult, ErrorCode> {
        let controls = req.controls;
        let (bytes, image) = match self.load(app_id, &req.image).await? {
            Probe::Picture { bytes, image } => (bytes, image),
            Probe::Stored(stored) => {
                let seen = FaceSummary::of_stored(&stored)?;
                let face_list = match judge(controls, &seen) {
                    Ok(()) => vec![face_json(&stored.face_token, &seen, &req.fields, controls)],
                    Err(
                        code @ (ErrorCode::QualityControlError
                        | ErrorCode::LivenessControlItemError),
                    ) => return Err(code),
                    Err(_) => Vec::new(),
                };
                return Ok(DetectResult {
                    face_num: face_list.len(),
                    face_list,
                });
            }
        };
        let (max, order) = (req.max_faces, req.order);
        let needs = Needs::of(&req.fields, controls);
        let faces = self
            .infer(move |engine| embed_faces(engine, &bytes, &image, max, order, &needs))
            .await?;
        if faces.is_empty() {
            return Err(ErrorCode::PicNotHasFace);
        }
        // Baidu drops the faces that fail the control; none left is an empty list.
        let faces: Vec<EmbeddedFace> = faces
            .into_iter()
            .filter(|f| judge(controls, &f.summary).is_ok())
            .collect();
        self.remember(app_id, &faces).await?;
        let face_list: Vec<FaceJson> = faces
            .iter()
            .map(|f| face_json(&f.face_token, &f.summary, &req.fields, controls))
            .collect();
        Ok(DetectResult {
            face_num: face_list.len(),
            face_list,
        })
    }

    /// Baidu `match`: the calibrated similarity of the chosen face of each image.
    pub async fn match_faces(
        &self,
        app_id: &str,
        images: [MatchImage; 2],
    ) -> Result<MatchResult, ErrorCode> {
        let [a, b] = images;
        let (a, b) = tokio::try_join!(
            self.probe_embedding(app_id, &a.image, a.order, a.controls),
            self.probe_embedding(app_id, &b.image, b.order, b.controls)
        )?;
        let cosine = faced_engine::embed::cosine(&a.1, &b.1);
        Ok(MatchResult {
            score: self.calibration.score(cosine),
            face_list: vec![TokenOnly { face_token: a.0 }, TokenOnly { face_token: b.0 }],
        })
    }

    /// Baidu `search`: the users whose best face is most like the probe's.
    pub async fn search(
        &self,
        app_id: &str,
        req: SearchRequest,
    ) -> Result<SearchResult, ErrorCode> {
        for group in &req.group_ids {
            let (app, group) = (app_id.to_string(), group.clone());
            if !self
                .store(move |lib| Ok(lib.group_exists(&app, &group)))
                .await?
            {
                return Err(ErrorCode::GroupNotExist);
            }
        }
        let (face_token, embedding) = self
            .probe_embedding(app_id, &req.image, req.order, req.controls)
            .await?;
        let query = SearchQuery {
            app_id: app_id.to_string(),
            group_ids: req.group_ids.clone(),
            user_id: req.user_id.clone(),
            embedding,
            model_id: self.engine.embedder_id().to_string(),
            max_users: req.max_users,
        };
        let hits = self.store(move |lib| lib.search(&query)).await?;
        let user_list = self.users_over(hits, req.match_threshold);
        if user_list.is_empty() {
            return Err(ErrorCode::MatchUserNotFound);
        }
        Ok(SearchResult {
            face_token,
            user_list,
        })
    }

    /// Baidu `faceset/user/add`: registers the chosen face of the image under a user.
    pub async fn add_user(
        &self,
        app_id: &str,
        req: AddUserRequest,
    ) -> Result<AddUserResult, ErrorCode> {
        self.enrol(app_id, req, Enrol::Add).await
    }

    async fn enrol(
        &self,
        app_id: &str,
        req: AddUserRequest,
        how: Enrol,
    ) -> Result<AddUserResult, ErrorCode> {
        let (bytes, image) = match self.load(app_id, &req.image).await? {
            Probe::Picture { bytes, image } => (bytes, image),
            Probe::Stored(stored) => {
                let seen = FaceSummary::of_stored(&stored)?;
                judge(req.controls, &seen)?;
                let face = (stored.face_token, stored.embedding, seen);
                return self.register(app_id, &req, how, face, None).await;
            }
        };
        let order = req.order;
        let (margin, crops) = (self.config.face_crop_margin, self.config.store_face_crops);
        let for_work = image.clone();
        // Registered faces always carry their quality, liveness and spoofing scores, so that
        // their face_token can stand in for the photo under any control later.
        let mut needs = Needs::of(&FaceFields::default(), req.controls);
        needs.quality = true;
        needs.attributes.liveness = true;
        needs.attributes.spoofing = true;
        let (face, crop) = self
            .infer(move |engine| {
                let face = embed_faces(engine, &bytes, &for_work, 1, order, &needs)?
                    .into_iter()
                    .next();
                let crop = match (&face, crops) {
                    (Some(f), true) => engine
                        .face_crop(&for_work, &f.face.detection.bbox, margin, 400)
                        .map(|c| c.jpeg),
                    _ => None,
                };
                Ok((face, crop))
            })
            .await?;
        let face = face.ok_or(ErrorCode::PicNotHasFace)?;
        judge(req.controls, &face.summary)?;
        let face = (face.face_token, face.embedding, face.summary);
        self.register(app_id, &req, how, face, crop).await
    }

    /// Baidu `faceset/user/update`: the user's faces in the group become this one face;
    /// 223103 when the user is absent, unless `create_if_missing` (`action_type=REPLACE`).
    pub async fn update_user(
        &self,
        app_id: &str,
        req: AddUserRequest,
        create_if_missing: bool,
    ) -> Result<AddUserResult, ErrorCode> {
        self.check_groups(app_id, std::slice::from_ref(&req.group_id))
            .await?;
        self.enrol(app_id, req, Enrol::Update { create_if_missing })
            .await
    }

    /// Baidu `multi-search`: a 1:N search for each face of the photo (up to `max_faces`).
    pub async fn multi_search(
        &self,
        app_id: &str,
        req: MultiSearchRequest,
    ) -> Result<MultiSearchResult, ErrorCode> {
        self.check_groups(app_id, &req.group_ids).await?;
        let controls = req.controls;
        let faces: Vec<(String, Vec<f32>, FaceSummary)> = match self
            .load(app_id, &req.image)
            .await?
        {
            Probe::Stored(stored) => {
                let seen = FaceSummary::of_stored(&stored)?;
                judge(controls, &seen)?;
                vec![(stored.face_token, stored.embedding, seen)]
            }
            Probe::Picture { bytes, image } => {
                let max = req.max_faces;
                let order = FaceOrder::LargestFirst;
                let needs = Needs::of(&FaceFields::default(), controls);
                let found = self
                    .infer(move |engine| embed_faces(engine, &bytes, &image, max, order, &needs))
                    .await?;
                // Faces failing the control are left out; when none passes, the
                // largest face's failure is the answer (it says why nothing was searched).
                if let Some(first) = found.first() {
                    if !found.iter().any(|f| judge(controls, &f.summary).is_ok()) {
                        judge(controls, &first.summary)?;
                    }
                }
                let found: Vec<EmbeddedFace> = found
                    .into_iter()
                    .filter(|f| judge(controls, &f.summary).is_ok())
                    .collect();
                self.remember(app_id, &found).await?;
                found
                    .into_iter()
                    .map(|f| (f.face_token, f.embedding, f.summary))
                    .collect()
            }
        };
        if faces.is_empty() {
            return Err(ErrorCode::PicNotHasFace);
        }
        let query = MultiSearchQuery {
            app_id: app_id.to_string(),
            group_ids: req.group_ids.clone(),
            user_id: None,
            embeddings: faces
                .iter()
                .map(|(_, embedding, _)| embedding.clone())
                .collect(),
            model_id: self.engine.embedder_id().to_string(),
            max_users: req.max_users,
        };
        let per_face = self.store(move |lib| lib.search_many(&query)).await?;
        let face_list: Vec<MultiSearchFace> = faces
            .iter()
            .zip(per_face)
            .map(|((face_token, _, seen), hits)| MultiSearchFace {
                face_token: face_token.clone(),
                location: seen.location,
                user_list: self.users_over(hits, req.match_threshold),
            })
            .collect();
        if face_list.iter().all(|f| f.user_list.is_empty()) {
            return Err(ErrorCode::MatchUserNotFound);
        }
        Ok(MultiSearchResult {
            face_num: face_list.len(),
            face_list,
        })
    }

    /// 223100 (or 223128) unless every group exists; cheap, so it runs before any inference.
    async fn check_groups(&self, app_id: &str, groups: &[String]) -> Result<(), ErrorCode> {
        let (app, groups) = (app_id.to_string(), groups.to_vec());
        self.store(move |lib| groups.iter().try_for_each(|g| lib.check_group(&app, g)))
            .await
    }

    /// Hits as Baidu users, keeping those whose score reaches the threshold.
    fn users_over(&self, hits: Vec<SearchHit>, threshold: f32) -> Vec<UserMatch> {
        hits.into_iter()
            .map(|hit| UserMatch {
                group_id: hit.group_id,
                user_id: hit.user_id,
                user_info: hit.user_info,
                score: self.calibration.score(hit.similarity),
            })
            .filter(|u| u.score >= threshold)
            .collect()
    }

    /// Stores `(face_token, embedding, summary)` under the request's user.
    async fn register(
        &self,
        app_id: &str,
        req: &AddUserRequest,
        how: Enrol,
        (face_token, embedding, seen): (String, Vec<f32>, FaceSummary),
        crop_jpeg: Option<Vec<u8>>,
    ) -> Result<AddUserResult, ErrorCode> {
        let add = AddFace {
            meta: seen.to_meta(),
            app_id: app_id.to_string(),
            group_id: req.group_id.clone(),
            user_id: req.user_id.clone(),
            user_info: req.user_info.clone(),
            face_token: face_token.clone(),
            embedding,
            model_id: self.engine.embedder_id().to_string(),
            crop_jpeg,
            mode: req.mode,
            create_group_if_missing: true,
            now: unix_now(),
        };
        self.store(move |lib| match how {
            Enrol::Add => lib.add_face(add),
            Enrol::Update { create_if_missing } => lib.update_user_faces(add, create_if_missing),
        })
        .await?;
        Ok(AddUserResult {
            face_token,
            location: seen.location,
        })
    }

    /// The face_token and embedding of the chosen face of an image (or of a stored token).
    async fn probe_embedding(
        &self,
        app_id: &str,
        image: &ImageRef,
        order: FaceOrder,
        controls: Controls,
    ) -> Result<(String, Vec<f32>), ErrorCode> {
        match self.load(app_id, image).await? {
            Probe::Stored(stored) => {
                if controls != Controls::default() {
                    judge(controls, &FaceSummary::of_stored(&stored)?)?;
                }
                Ok((stored.face_token, stored.embedding))
            }
            Probe::Picture { bytes, image } => {
                let needs = Needs::of(&FaceFields::default(), controls);
                let faces = self
                    .infer(move |engine| embed_faces(engine, &bytes, &image, 1, order, &needs))
                    .await?;
                let face = faces.first().ok_or(ErrorCode::PicNotHasFace)?;
                judge(controls, &face.summary)?;
                self.remember(app_id, &faces).await?;
                let face = faces.into_iter().next().ok_or(ErrorCode::PicNotHasFace)?;
                Ok((face.face_token, face.embedding))
            }
        }
    }

    /// Keeps the tokens of faces just seen usable for an hour.
    async fn remember(&self, app_id: &str, faces: &[EmbeddedFace]) -> Result<(), ErrorCode> {
        let app = app_id.to_string();
        let model = self.engine.embedder_id().to_string();
        let tokens: Vec<(String, Vec<f32>, FaceSummary)> = faces
            .iter()
            .map(|f| (f.face_token.clone(), f.embedding.clone(), f.summary.clone()))
            .collect();
        let now = unix_now();
        let expires = now + TRANSIENT_FACE_TOKEN_SECS;
        self.store(move |lib| {
            for (token, embedding, summary) in tokens {
                // The same photo gives the same token: keep what an earlier request measured
                // of it (a plain detect must not erase a liveness score taken before).
                let earlier = lib
                    .lookup_face(&app, &token, now)?
                    .and_then(|stored| FaceSummary::of_stored(&stored).ok());
                let meta = summary.keeping_measures_of(earlier).to_meta();
                lib.remember_transient(&app, &token, &embedding, &model, expires, meta.as_deref())?;
            }
            Ok(())
        })
        .await
    }
}

/// What to measure of each face beyond its box, landmarks and embedding.
#[derive(Debug, Clone, Copy, Default)]
struct Needs {
    /// The quality object.
    quality: bool,
    /// The attributes to compute (liveness and spoofing included when a control needs them).
    attributes: faced_engine::attributes::Wanted,
    /// The fields the response shows (which dense landmark sets to read off the mesh).
    fields: FaceFields,
}

impl Needs {
    /// What a request with these fields and controls needs measured: nothing a request did
    /// not ask for, directly or through a control.
    fn of(fields: &FaceFields, controls: Controls) -> Self {
        let mut attributes = fields.attributes;
        attributes.liveness |= controls.liveness != ControlLevel::None;
        attributes.spoofing |= controls.spoofing != ControlLevel::None;
        Needs {
            quality: fields.quality || controls.quality != ControlLevel::None,
            attributes,
            fields: *fields,
        }
    }
}

/// Finds up to `max` faces and embeds each, measuring what `needs` says (one worker, one
/// call).
fn embed_faces(
    engine: &Engine,
    bytes: &Arc<Vec<u8>>,
    image: &Arc<RgbImage>,
    max: usize,
    order: FaceOrder,
    needs: &Needs,
) -> Result<Vec<EmbeddedFace>, ErrorCode> {
    let engine_fault = |e: faced_engine::EngineError| {
        tracing::error!(error = %e, "engine fault");
        ErrorCode::SystemBusyBackendConnect1
    };
    let faces = engine.analyse(image, max, order).map_err(engine_fault)?;
    faces
        .into_iter()
        .map(|mut face| {
            let embedding = engine.embed(image, &face).map_err(engine_fault)?;
            let face_token = face_token_of(bytes, &face);
            let mut summary = FaceSummary::of(&face);
            if needs.quality {
                summary.quality = Some(QualityJson::of(&faced_engine::quality::assess(
                    image, &face,
                )));
            }
            if needs.fields.needs_mesh() || !needs.attributes.is_empty() {
                summary.attributes = face_attributes(engine, image, &mut face, needs);
            }
            Ok(EmbeddedFace {
                summary,
                face,
                embedding,
                face_token,
            })
        })
        .collect()
}

/// The attributes `needs` asks for in Baidu's shapes; `None` (logged) when the engine cannot
/// measure this face (degenerate points), so one odd face does not fail a multi-face detect.
fn face_attributes(
    engine: &Engine,
    image: &RgbImage,
    face: &mut AnalysedFace,
    needs: &Needs,
) -> Option<AttributesJson> {
    let measured = engine
        .attributes(image, face, &needs.attributes)
        .and_then(|computed| {
            if needs.fields.landmark72 || needs.fields.landmark150 {
                engine.add_mesh(image, face)?;
            }
            Ok(computed)
        });
    match measured {
        Ok(computed) => Some(AttributesJson::of(
            &computed,
            face.mesh.as_ref(),
            &needs.fields,
        )),
        Err(e) => {
            tracing::warn!(error = %e, "face attributes not measured");
            None
        }
    }
}

/// Same image, same face → same token: a digest of the file's bytes and the face's box.
fn face_token_of(bytes: &[u8], face: &AnalysedFace) -> String {
    let b = face.detection.bbox;
    let mut hasher = Sha256::new();
    hasher.update(bytes);
    for v in [b.x1, b.y1, b.x2, b.y2] {
        hasher.update((v.round() as i32).to_le_bytes());
    }
    hex::encode(&hasher.finalize()[..16])
}

fn location_of(face: &AnalysedFace) -> Location {
    let b = face.detection.bbox;
    Location {
        left: b.x1,
        top: b.y1,
        width: b.width(),
        height: b.height(),
        rotation: face.pose.roll.round() as i32,
    }
}

fn face_json(
    face_token: &str,
    seen: &FaceSummary,
    fields: &FaceFields,
    controls: Controls,
) -> FaceJson {
    let with_liveness = controls.liveness != ControlLevel::None;
    FaceJson {
        face_token: face_token.to_string(),
        location: seen.location,
        face_probability: seen.face_probability,
        angle: seen.angle,
        attributes: seen
            .attributes
            .as_ref()
            .map(|a| a.shown(fields, with_liveness))
            .unwrap_or_default(),
        quality: if fields.quality { seen.quality } else { None },
        landmark: fields.landmark.then(|| seen.landmark.clone()),
    }
}

/// Whether a face passes the controls: the failing check's code (quality first, then
/// liveness, then spoofing; see [`crate::controls`]). A control asked of a stored face whose
/// measure was never taken (a face_token from a request that neither asked for it nor set
/// the control: without the photo it cannot be measured now, and letting it through
/// unchecked would silently void the control) is 223118 (`quality control error`) for
/// quality and 223119 (`liveness control item error`) for liveness and spoofing.
fn judge(controls: Controls, seen: &FaceSummary) -> Result<(), ErrorCode> {
    if controls.quality != ControlLevel::None {
        match &seen.quality {
            Some(q) => check_quality(controls.quality, q)?,
            None => return Err(ErrorCode::QualityControlError),
        }
    }
    let attributes = seen.attributes.as_ref();
    if controls.liveness != ControlLevel::None {
        let score = attributes
            .and_then(|a| a.liveness)
            .ok_or(ErrorCode::LivenessControlItemError)?;
        check_liveness(controls.liveness, score.livemapscore)?;
    }
    if controls.spoofing != ControlLevel::None {
        let score = attributes
            .and_then(|a| a.spoofing)
            .ok_or(ErrorCode::LivenessControlItemError)?;
        check_spoofing(controls.spoofing, score)?;
    }
    Ok(())
}

/// What detect reports of a face, kept with its embedding (the library's `meta`) so a
/// face_token can stand in for the photo in detect, multi-search and enrolment results.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct FaceSummary {
    location: Location,
    face_probability: f32,
    angle: Angle,
    /// Eye, eye, nose tip, mouth centre.
    landmark: Vec<XY>,
    /// The quality, when it was measured (asked for, a control was set, or the face was
    /// registered); absent in metas written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    quality: Option<QualityJson>,
    /// The attributes measured of the face (liveness and spoofing scores included), by the
    /// requests that saw it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    attributes: Option<AttributesJson>,
}

impl FaceSummary {
    fn of(face: &AnalysedFace) -> Self {
        let pose = face.pose;
        let [le, re, nose, ml, mr] = face.five.0;
        let xy = |x: f32, y: f32| XY { x, y };
        FaceSummary {
            location: location_of(face),
            face_probability: face.detection.score,
            angle: Angle {
                yaw: pose.yaw,
                pitch: pose.pitch,
                roll: pose.roll,
            },
            landmark: vec![
                xy(le.x, le.y),
                xy(re.x, re.y),
                xy(nose.x, nose.y),
                xy((ml.x + mr.x) / 2.0, (ml.y + mr.y) / 2.0),
            ],
            quality: None,
            attributes: None,
        }
    }

    /// This summary with whatever it lacks taken from an earlier one of the same face.
    fn keeping_measures_of(mut self, earlier: Option<FaceSummary>) -> Self {
        if let Some(earlier) = earlier {
            self.quality = self.quality.or(earlier.quality);
            self.attributes = match (self.attributes, earlier.attributes) {
                (Some(new), Some(old)) => Some(new.or(old)),
                (new, old) => new.or(old),
            };
        }
        self
    }

    fn to_meta(&self) -> Option<String> {
        serde_json::to_string(self).ok()
    }

    /// The summary stored with a face; 222203 when there is none (the photo is needed).
    fn of_stored(stored: &faced_library::StoredFace) -> Result<Self, ErrorCode> {
        stored
            .meta
            .as_deref()
            .and_then(|m| serde_json::from_str(m).ok())
            .ok_or(ErrorCode::ImageCheckFail)
    }
}
