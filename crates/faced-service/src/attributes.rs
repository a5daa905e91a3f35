//! The engine's face attributes in Baidu's JSON shapes (§5.1), and the `face_field` choice
//! that says which of them a response carries.

use faced_engine::attributes::{Attributes, Labelled, Wanted};
use faced_engine::facemesh::Mesh;
use serde::{Deserialize, Serialize};

use crate::faces::XY;

/// A `{type, probability}` pair (gender, expression, glasses, emotion, face_shape,
/// face_type).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypeProbability {
    /// The class in Baidu's vocabulary.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its probability, two decimals.
    pub probability: f32,
}

/// `mask`: `type` is an integer (1 = wearing a mask).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MaskJson {
    /// 0 or 1.
    #[serde(rename = "type")]
    pub kind: u8,
    /// Probability of the answer given.
    pub probability: f32,
}

/// `eye_status`: openness per eye in [0, 1], near 0 closed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EyeStatusJson {
    /// The subject's left eye.
    pub left_eye: f32,
    /// The subject's right eye.
    pub right_eye: f32,
}

/// `liveness` of a face: the single-image liveness score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LivenessJson {
    /// Probability the face is live, [0, 1].
    pub livemapscore: f32,
}

/// Every attribute a face can carry, as stored with the face and as returned (each `None`
/// when not computed or not asked for). Serialized flat into the face object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AttributesJson {
    /// Whole years.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age: Option<u32>,
    /// 0–100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beauty: Option<f32>,
    /// none / smile / laugh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<TypeProbability>,
    /// square / triangle / oval / heart / round.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub face_shape: Option<TypeProbability>,
    /// male / female.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<TypeProbability>,
    /// none / common / sun.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub glasses: Option<TypeProbability>,
    /// The 72 points (with `face_field=landmark` or `landmark72`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landmark72: Option<Vec<XY>>,
    /// The 150 named points, in Baidu's group order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landmark150: Option<serde_json::Map<String, serde_json::Value>>,
    /// Eye openness.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eye_status: Option<EyeStatusJson>,
    /// One of the seven emotions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emotion: Option<TypeProbability>,
    /// human / cartoon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub face_type: Option<TypeProbability>,
    /// Mask worn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mask: Option<MaskJson>,
    /// Probability the face is edited or synthetic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spoofing: Option<f32>,
    /// Single-image liveness (returned under a liveness control).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness: Option<LivenessJson>,
}

use crate::controls::two_places;

fn labelled(l: Labelled) -> TypeProbability {
    TypeProbability {
        kind: l.label.to_string(),
        probability: two_places(l.probability),
    }
}

fn point(p: faced_engine::geometry::Point) -> XY {
    XY {
        x: two_places(p.x),
        y: two_places(p.y),
    }
}

impl AttributesJson {
    /// The engine's attributes (and the dense landmark sets, when a mesh is given) in
    /// Baidu's shapes.
    pub fn of(a: &Attributes, mesh: Option<&Mesh>, fields: &FaceFields) -> Self {
        let landmark72 = mesh.filter(|_| fields.landmark72).map(|m| {
            faced_engine::landmark_sets::landmark72(m)
                .into_iter()
                .map(point)
                .collect()
        });
        let landmark150 = mesh.filter(|_| fields.landmark150).map(|m| {
            faced_engine::landmark_sets::landmark150(m)
                .into_iter()
                .map(|(name, p)| (name, serde_json::json!(point(p))))
                .collect()
        });
        AttributesJson {
            age: a.age,
            beauty: a.beauty.map(two_places),
            expression: a.expression.map(labelled),
            face_shape: a.face_shape.map(labelled),
            gender: a.gender.map(labelled),
            glasses: a.glasses.map(labelled),
            landmark72,
            landmark150,
            eye_status: a.eye_status.map(|e| EyeStatusJson {
                left_eye: two_places(e.left_eye),
                right_eye: two_places(e.right_eye),
            }),
            emotion: a.emotion.map(labelled),
            face_type: a.face_type.map(labelled),
            mask: a.mask.map(|(worn, p)| MaskJson {
                kind: u8::from(worn),
                probability: two_places(p),
            }),
            spoofing: a.spoofing.map(two_places),
            liveness: a.liveness.map(|s| LivenessJson {
                livemapscore: two_places(s),
            }),
        }
    }

    /// Every field of `self`, and those it lacks from `earlier` (the same face measured by
    /// an earlier request).
    pub fn or(self, earlier: AttributesJson) -> AttributesJson {
        AttributesJson {
            age: self.age.or(earlier.age),
            beauty: self.beauty.or(earlier.beauty),
            expression: self.expression.or(earlier.expression),
            face_shape: self.face_shape.or(earlier.face_shape),
            gender: self.gender.or(earlier.gender),
            glasses: self.glasses.or(earlier.glasses),
            landmark72: self.landmark72.or(earlier.landmark72),
            landmark150: self.landmark150.or(earlier.landmark150),
            eye_status: self.eye_status.or(earlier.eye_status),
            emotion: self.emotion.or(earlier.emotion),
            face_type: self.face_type.or(earlier.face_type),
            mask: self.mask.or(earlier.mask),
            spoofing: self.spoofing.or(earlier.spoofing),
            liveness: self.liveness.or(earlier.liveness),
        }
    }

    /// Only what `fields` asks for (a stored face may carry more than this request wants);
    /// liveness is shown when `with_liveness` (a liveness control was set).
    pub fn shown(&self, fields: &FaceFields, with_liveness: bool) -> Self {
        let w = &fields.attributes;
        AttributesJson {
            age: self.age.filter(|_| w.age),
            beauty: self.beauty.filter(|_| w.beauty),
            expression: self.expression.clone().filter(|_| w.expression),
            face_shape: self.face_shape.clone().filter(|_| w.face_shape),
            gender: self.gender.clone().filter(|_| w.gender),
            glasses: self.glasses.clone().filter(|_| w.glasses),
            landmark72: self.landmark72.clone().filter(|_| fields.landmark72),
            landmark150: self.landmark150.clone().filter(|_| fields.landmark150),
            eye_status: self.eye_status.filter(|_| w.eye_status),
            emotion: self.emotion.clone().filter(|_| w.emotion),
            face_type: self.face_type.clone().filter(|_| w.face_type),
            mask: self.mask.filter(|_| w.mask),
            spoofing: self.spoofing.filter(|_| w.spoofing),
            liveness: self.liveness.filter(|_| with_liveness),
        }
    }
}

/// The `face_field` values of a detect request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaceFields {
    /// Return the 4-point `landmark`.
    pub landmark: bool,
    /// Return `landmark72` (Baidu returns it with `landmark` too).
    pub landmark72: bool,
    /// Return `landmark150`.
    pub landmark150: bool,
    /// Return the `quality` object (measured only when asked for or when a quality control
    /// needs it).
    pub quality: bool,
    /// The attributes asked for (computed only then).
    pub attributes: Wanted,
}

impl FaceFields {
    /// Whether the 468-point mesh is needed for these fields.
    pub fn needs_mesh(&self) -> bool {
        self.landmark72 || self.landmark150 || !self.attributes.is_empty()
    }
}
