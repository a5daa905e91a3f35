//! Face attributes: age, gender, emotion, expression, eye state, glasses, mask, face shape,
//! face type, the proportion score reported as beauty, and the two anti-spoofing scores.
//!
//! Nothing here runs unless asked: [`Wanted`] names the attributes a request needs and
//! [`crate::Engine::attributes`] runs only the networks and measures those need, so a
//! detect without `face_field` pays for none of them. Every value is computed from the
//! image: by a network where the package registries hold one ([`nets`]), else by geometry of
//! the 468-point mesh ([`shape`]) or by appearance statistics of the aligned face
//! ([`appearance`]). `docs/ATTRIBUTES.md` gives each one's method, model, licence and
//! measured accuracy.

pub mod appearance;
pub mod nets;
pub mod shape;

use image::RgbImage;

use crate::engine::AnalysedFace;
use crate::geometry::Point;
use crate::EngineError;

pub use nets::AttributeNets;

/// Which attributes to compute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wanted {
    /// Age in years.
    pub age: bool,
    /// Male or female.
    pub gender: bool,
    /// Seven emotions.
    pub emotion: bool,
    /// None, smile or laugh.
    pub expression: bool,
    /// Openness of each eye.
    pub eye_status: bool,
    /// None, common or sun glasses.
    pub glasses: bool,
    /// Mask or not.
    pub mask: bool,
    /// One of five outline shapes.
    pub face_shape: bool,
    /// Photograph or drawing.
    pub face_type: bool,
    /// Proportion-and-symmetry score.
    pub beauty: bool,
    /// Edited or synthetic face probability.
    pub spoofing: bool,
    /// Single-image liveness (print or replay) score.
    pub liveness: bool,
}

impl Wanted {
    /// True when nothing is asked for.
    pub fn is_empty(&self) -> bool {
        *self == Wanted::default()
    }

    /// Whether one of the wanted attributes reads the 468-point mesh (age, gender, glasses,
    /// mask and face type use only the five alignment points; eye state too where the pack
    /// has an eye network).
    pub fn needs_mesh(&self, has_eye_network: bool) -> bool {
        self.emotion
            || self.expression
            || self.face_shape
            || self.beauty
            || self.spoofing
            || self.liveness
            || (self.eye_status && !has_eye_network)
    }
}

/// A class label (one of a fixed vocabulary) with its probability.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Labelled {
    /// The class, in Baidu's vocabulary (`"female"`, `"smile"`, `"sun"`, …).
    pub label: &'static str,
    /// Its probability in [0, 1].
    pub probability: f32,
}

/// Eye openness in [0, 1] (near 0: closed), per the subject's sides.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EyeStatus {
    /// The subject's left eye (image right).
    pub left_eye: f32,
    /// The subject's right eye (image left).
    pub right_eye: f32,
}

/// The attributes computed for one face; a field is `Some` exactly when it was wanted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attributes {
    /// Age in whole years.
    pub age: Option<u32>,
    /// `male` / `female`.
    pub gender: Option<Labelled>,
    /// One of [`nets::EMOTIONS`].
    pub emotion: Option<Labelled>,
    /// `none` / `smile` / `laugh`.
    pub expression: Option<Labelled>,
    /// Eye openness.
    pub eye_status: Option<EyeStatus>,
    /// `none` / `common` / `sun`.
    pub glasses: Option<Labelled>,
    /// Mask worn, and the probability of the answer given.
    pub mask: Option<(bool, f32)>,
    /// One of [`shape::FACE_SHAPES`].
    pub face_shape: Option<Labelled>,
    /// `human` / `cartoon`.
    pub face_type: Option<Labelled>,
    /// 0–100.
    pub beauty: Option<f32>,
    /// Probability the face is edited or synthetic, in [0, 1].
    pub spoofing: Option<f32>,
    /// Probability the face is live (not a print or a replay), in [0, 1].
    pub liveness: Option<f32>,
}

/// Happy probability above which the face smiles or laughs.
pub const SMILE_HAPPY_MIN: f32 = 0.4;
/// Mouth opening (inner-lip gap over mouth width) from which a smile is a laugh.
pub const LAUGH_OPENING_MIN: f32 = 0.16;
/// Computes the wanted attributes of one face; its mesh must be placed when
/// [`Wanted::needs_mesh`] says so.
pub(crate) fn compute(
    nets: &AttributeNets,
    image: &RgbImage,
    face: &AnalysedFace,
    wanted: &Wanted,
) -> Result<Attributes, EngineError> {
    let mesh = || {
        face.mesh.as_ref().ok_or_else(|| EngineError::Inference {
            model: "facemesh",
            message: "the mesh was not placed".into(),
        })
    };
    let mut out = Attributes::default();
    let [left, right, ..] = face.five.0;
    let roll = (right.y - left.y).atan2(right.x - left.x);
    if wanted.age || wanted.gender {
        let ag = nets.age_gender(image, &face.five.0)?;
        if wanted.age {
            out.age = Some(ag.age.round().max(0.0) as u32);
        }
        if wanted.gender {
            out.gender = Some(if ag.male > 0.5 {
                Labelled {
                    label: "male",
                    probability: ag.male,
                }
            } else {
                Labelled {
                    label: "female",
                    probability: 1.0 - ag.male,
                }
            });
        }
    }
    if wanted.emotion || wanted.expression {
        let emotions = nets.emotions(image, mesh()?, roll)?;
        if wanted.emotion {
            let (i, p) = emotions
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(i, p)| (i, *p))
                .unwrap_or((6, 1.0));
            out.emotion = Some(Labelled {
                label: nets::EMOTIONS[i],
                probability: p,
            });
        }
        if wanted.expression {
            out.expression = Some(expression(emotions[3], shape::mouth_opening(mesh()?)));
        }
    }
    if wanted.eye_status {
        out.eye_status = Some(eye_status(nets, image, face)?);
    }
    if wanted.glasses || wanted.mask || wanted.face_type {
        let features =
            appearance::appearance_features(image, face).ok_or_else(|| EngineError::Inference {
                model: "appearance",
                message: "degenerate landmarks".into(),
            })?;
        if wanted.glasses {
            let (class, probability) = appearance::glasses(&features);
            out.glasses = Some(Labelled {
                label: appearance::GLASSES[class],
                probability,
            });
        }
        if wanted.mask {
            let p = appearance::mask_probability(&features);
            out.mask = Some((p >= 0.5, if p >= 0.5 { p } else { 1.0 - p }));
        }
        if wanted.face_type {
            let p = appearance::cartoon_probability(&features);
            out.face_type = Some(if p >= 0.5 {
                Labelled {
                    label: "cartoon",
                    probability: p,
                }
            } else {
                Labelled {
                    label: "human",
                    probability: 1.0 - p,
                }
            });
        }
    }
    if wanted.face_shape {
        let (class, probability) = shape::face_shape(mesh()?);
        out.face_shape = Some(Labelled {
            label: shape::FACE_SHAPES[class],
            probability,
        });
    }
    if wanted.beauty {
        out.beauty = Some(shape::regularity_score(mesh()?));
    }
    if wanted.spoofing {
        out.spoofing = Some(1.0 - nets.real_face(image, mesh()?, roll)?);
    }
    if wanted.liveness {
        out.liveness = Some(nets.live(image, mesh()?, roll)?);
    }
    Ok(out)
}

/// None, smile or laugh from the emotion network's happy probability and the mouth's
/// opening: a happy face with lips apart laughs.
pub fn expression(happy: f32, opening: f32) -> Labelled {
    if happy < SMILE_HAPPY_MIN {
        Labelled {
            label: "none",
            probability: 1.0 - happy,
        }
    } else if opening >= LAUGH_OPENING_MIN {
        Labelled {
            label: "laugh",
            probability: happy,
        }
    } else {
        Labelled {
            label: "smile",
            probability: happy,
        }
    }
}

/// Openness of each eye: fr_eye's probability that it is open where the pack has fr_eye (the
/// default pack); else (the clean pack) the mesh's eye aspect ratio mapped linearly from
/// [`EYE_ASPECT_CLOSED`] (0) to [`EYE_ASPECT_OPEN`] (1), which separates open from closed
/// eyes worse on LFW-sized faces (see `docs/ATTRIBUTES.md`).
fn eye_status(
    nets: &AttributeNets,
    image: &RgbImage,
    face: &AnalysedFace,
) -> Result<EyeStatus, EngineError> {
    let openness = |first: usize, right: bool| -> Result<f32, EngineError> {
        let eye: [Point; 6] =
            std::array::from_fn(|i| face.landmarks.0.get(first + i).copied().unwrap_or_default());
        match (nets.eye_open(image, &eye)?, &face.mesh) {
            (Some(open), _) => Ok(open),
            (None, Some(mesh)) => Ok(eye_aspect_openness(shape::eye_aspect(mesh, right))),
            (None, None) => Err(EngineError::Inference {
                model: "facemesh",
                message: "the mesh was not placed".into(),
            }),
        }
    };
    // iBUG 36–41 is the image-left eye (the subject's right), 42–47 the other.
    Ok(EyeStatus {
        right_eye: openness(36, true)?,
        left_eye: openness(42, false)?,
    })
}

/// Eye aspect ratio of a shut eye (openness 0): below the 5th percentile of open eyes on LFW
/// (0.164, `attributes_measure -- stats`).
pub const EYE_ASPECT_CLOSED: f32 = 0.10;
/// Eye aspect ratio of a fully open eye (openness 1): about the median of open eyes (0.23).
pub const EYE_ASPECT_OPEN: f32 = 0.22;

/// The eye aspect ratio mapped linearly to [0, 1].
pub fn eye_aspect_openness(aspect: f32) -> f32 {
    ((aspect - EYE_ASPECT_CLOSED) / (EYE_ASPECT_OPEN - EYE_ASPECT_CLOSED)).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expression_follows_happiness_then_the_mouth() {
        assert_eq!(expression(0.2, 0.3).label, "none");
        assert_eq!(expression(0.9, 0.02).label, "smile");
        assert_eq!(expression(0.9, 0.3).label, "laugh");
        assert!((expression(0.2, 0.0).probability - 0.8).abs() < 1e-6);
    }
}
