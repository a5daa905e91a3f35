//! Baidu's control levels (`quality_control`, `liveness_control`, `spoofing_control`) and
//! the one table of each control's thresholds, with the checks that turn a face's measures
//! into the error code of its first failing item.
//!
//! Precedence between the controls: quality first, then liveness (223120), then spoofing
//! (223131): a face too dark or blurred to judge is reported as such before its liveness
//! score, which it makes meaningless.
//!
//! Precedence when several checks fail (Baidu does not document one): completeness (223116),
//! then illumination (223115), then blur (223114), then occlusion. The broad problems come
//! first because they make the finer measures meaningless (an occlusion score of a face half
//! outside the picture, or in the dark, says little). When [`COVERED_REGIONS`] or more regions
//! fail at once the face as a whole is covered (a mask, a hand, a scarf over the lower face)
//! and the answer is the aggregate `223113 face is covered`; otherwise the most occluded
//! failing region is reported; ties go to the lower code (left eye 223121, right eye 223122, left
//! cheek 223123, right cheek 223124, chin 223125, nose 223126, mouth 223127).

use faced_engine::quality::{Quality, Region};
use faced_errors::ErrorCode;
use serde::{Deserialize, Serialize};

/// `NONE` / `LOW` / `NORMAL` / `HIGH`, the values of every `*_control` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ControlLevel {
    /// No check (Baidu's default).
    #[default]
    None,
    /// Lenient.
    Low,
    /// Recommended.
    Normal,
    /// Strict.
    High,
}

impl ControlLevel {
    /// Every level with its wire spelling (the parser's table).
    pub const ALL: [(&'static str, ControlLevel); 4] = [
        ("NONE", ControlLevel::None),
        ("LOW", ControlLevel::Low),
        ("NORMAL", ControlLevel::Normal),
        ("HIGH", ControlLevel::High),
    ];
}

/// The limits of one quality level: a face fails when an occlusion value or the blur is
/// *above* its limit, or the illumination or completeness *below* its limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QualityLimits {
    /// Largest occlusion of each region.
    pub occlusion_max: f32,
    /// Smallest illumination (0–255).
    pub illumination_min: f32,
    /// Largest blur.
    pub blur_max: f32,
    /// Smallest completeness (0 or 1).
    pub completeness_min: u8,
}

/// Spec §1.8, the only place these numbers live.
pub const QUALITY_LIMITS: [(ControlLevel, QualityLimits); 3] = [
    (
        ControlLevel::Low,
        QualityLimits {
            occlusion_max: 0.8,
            illumination_min: 20.0,
            blur_max: 0.8,
            completeness_min: 0,
        },
    ),
    (
        ControlLevel::Normal,
        QualityLimits {
            occlusion_max: 0.6,
            illumination_min: 40.0,
            blur_max: 0.6,
            completeness_min: 0,
        },
    ),
    (
        ControlLevel::High,
        QualityLimits {
            occlusion_max: 0.2,
            illumination_min: 100.0,
            blur_max: 0.2,
            completeness_min: 1,
        },
    ),
];

/// The limits of a level; `None` for `NONE` (no check).
pub fn quality_limits(level: ControlLevel) -> Option<QualityLimits> {
    QUALITY_LIMITS
        .iter()
        .find(|(l, _)| *l == level)
        .map(|(_, limits)| *limits)
}

/// The three controls a request may set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Controls {
    /// `quality_control`.
    pub quality: ControlLevel,
    /// `liveness_control`.
    pub liveness: ControlLevel,
    /// `spoofing_control`.
    pub spoofing: ControlLevel,
}

/// Spec §1.8: a face fails `liveness_control` when its single-image liveness score is
/// *below* the level's threshold (223120).
pub const LIVENESS_THRESHOLDS: [(ControlLevel, f32); 3] = [
    (ControlLevel::Low, 0.05),
    (ControlLevel::Normal, 0.3),
    (ControlLevel::High, 0.9),
];

/// A face fails `spoofing_control` when its `spoofing` score is *above* the level's threshold
/// (223131). Baidu's values are unpublished [U]; the spec says `LOW` uses the lowest
/// threshold and `HIGH` the highest, which is followed here. The values are the 90th, 97th
/// and 99.5th percentiles of the spoofing score on 600 genuine LFW photos, so each level
/// rejects about 10 %, 3 % and 0.5 % of genuine photos (`docs/ATTRIBUTES.md`, *spoofing*).
pub const SPOOFING_THRESHOLDS: [(ControlLevel, f32); 3] = [
    (ControlLevel::Low, 0.52),
    (ControlLevel::Normal, 0.60),
    (ControlLevel::High, 0.70),
];

fn threshold(table: &[(ControlLevel, f32); 3], level: ControlLevel) -> Option<f32> {
    table.iter().find(|(l, _)| *l == level).map(|(_, t)| *t)
}

/// Ok when a face with this liveness score passes `level`, else 223120.
pub fn check_liveness(level: ControlLevel, score: f32) -> Result<(), ErrorCode> {
    match threshold(&LIVENESS_THRESHOLDS, level) {
        Some(t) if score < t => Err(ErrorCode::LivenessCheckFail),
        _ => Ok(()),
    }
}

/// Ok when a face with this spoofing score passes `level`, else 223131.
pub fn check_spoofing(level: ControlLevel, score: f32) -> Result<(), ErrorCode> {
    match threshold(&SPOOFING_THRESHOLDS, level) {
        Some(t) if score > t => Err(ErrorCode::SpoofingCheckFail),
        _ => Ok(()),
    }
}

/// Baidu's `quality.occlusion` object.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OcclusionJson {
    /// The subject's left eye (image right).
    pub left_eye: f32,
    /// The subject's right eye (image left).
    pub right_eye: f32,
    /// Nose.
    pub nose: f32,
    /// Mouth.
    pub mouth: f32,
    /// The subject's left cheek.
    pub left_cheek: f32,
    /// The subject's right cheek.
    pub right_cheek: f32,
    /// Chin.
    pub chin_contour: f32,
}

/// Baidu's `quality` object of a face (§5), as returned and as stored with the face.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct QualityJson {
    /// Per-region occlusion, 0–1.
    pub occlusion: OcclusionJson,
    /// 0 sharp … 1 blurred.
    pub blur: f32,
    /// Mean grey level of the face, 0–255 (whole number).
    pub illumination: f32,
    /// 1 when the face lies wholly inside the image.
    pub completeness: u8,
}

/// Two decimals, as Baidu's responses show them (checks use the rounded value the client sees).
pub(crate) fn two_places(v: f32) -> f32 {
    (v * 100.0).round() / 100.0
}

impl QualityJson {
    /// The engine's measures in Baidu's shape.
    pub fn of(q: &Quality) -> Self {
        let o = |r| two_places(q.occlusion.get(r));
        QualityJson {
            occlusion: OcclusionJson {
                left_eye: o(Region::LeftEye),
                right_eye: o(Region::RightEye),
                nose: o(Region::Nose),
                mouth: o(Region::Mouth),
                left_cheek: o(Region::LeftCheek),
                right_cheek: o(Region::RightCheek),
                chin_contour: o(Region::ChinContour),
            },
            blur: two_places(q.blur),
            illumination: q.illumination.round(),
            completeness: u8::from(q.complete),
        }
    }

    /// Occlusion values with their codes, in code order (the tie-break order).
    fn occlusions(&self) -> [(f32, ErrorCode); 7] {
        let o = &self.occlusion;
        [
            (o.left_eye, ErrorCode::LeftEyeOccluded),
            (o.right_eye, ErrorCode::RightEyeOccluded),
            (o.left_cheek, ErrorCode::LeftCheekOccluded),
            (o.right_cheek, ErrorCode::RightCheekOccluded),
            (o.chin_contour, ErrorCode::ChinContourOccluded),
            (o.nose, ErrorCode::NoseOccluded),
            (o.mouth, ErrorCode::MouthOccluded),
        ]
    }
}

/// Failing regions (any of the seven) from which a face counts as covered as a whole (223113)
/// rather than occluded in one place: three regions at once is more than one object over one
/// feature.
pub const COVERED_REGIONS: usize = 3;

/// Ok when the face passes `level`, else the code of the failing check (module docs give the
/// precedence).
pub fn check_quality(level: ControlLevel, q: &QualityJson) -> Result<(), ErrorCode> {
    let Some(limits) = quality_limits(level) else {
        return Ok(());
    };
    if q.completeness < limits.completeness_min {
        return Err(ErrorCode::IncompleteFace);
    }
    if q.illumination < limits.illumination_min {
        return Err(ErrorCode::FaceLightNotGood);
    }
    if q.blur > limits.blur_max {
        return Err(ErrorCode::FaceFuzzy);
    }
    let failing: Vec<(f32, ErrorCode)> = q
        .occlusions()
        .into_iter()
        .filter(|(v, _)| *v > limits.occlusion_max)
        .collect();
    if failing.len() >= COVERED_REGIONS {
        return Err(ErrorCode::FaceCovered);
    }
    let worst = failing
        .into_iter()
        .fold(None::<(f32, ErrorCode)>, |best, (v, code)| match best {
            Some((b, _)) if b >= v => best,
            _ => Some((v, code)),
        });
    match worst {
        Some((_, code)) => Err(code),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> QualityJson {
        QualityJson {
            occlusion: OcclusionJson {
                left_eye: 0.0,
                right_eye: 0.0,
                nose: 0.0,
                mouth: 0.0,
                left_cheek: 0.0,
                right_cheek: 0.0,
                chin_contour: 0.0,
            },
            blur: 0.0,
            illumination: 150.0,
            completeness: 1,
        }
    }

    #[test]
    fn the_table_follows_the_spec_and_none_checks_nothing() {
        assert_eq!(quality_limits(ControlLevel::None), None);
        let normal = quality_limits(ControlLevel::Normal).expect("normal");
        assert_eq!(normal.occlusion_max, 0.6);
        assert_eq!(normal.illumination_min, 40.0);
        let mut awful = good();
        awful.completeness = 0;
        awful.illumination = 0.0;
        awful.blur = 1.0;
        assert_eq!(check_quality(ControlLevel::None, &awful), Ok(()));
    }

    #[test]
    fn each_limit_is_strict_and_the_precedence_is_fixed() {
        let mut q = good();
        q.blur = 0.6;
        assert_eq!(
            check_quality(ControlLevel::Normal, &q),
            Ok(()),
            "at the limit"
        );
        q.blur = 0.61;
        assert_eq!(
            check_quality(ControlLevel::Normal, &q),
            Err(ErrorCode::FaceFuzzy)
        );
        q.illumination = 39.0;
        assert_eq!(
            check_quality(ControlLevel::Normal, &q),
            Err(ErrorCode::FaceLightNotGood)
        );
        q.completeness = 0;
        assert_eq!(
            check_quality(ControlLevel::Normal, &q),
            Err(ErrorCode::FaceLightNotGood),
            "completeness 0 passes NORMAL (its minimum is 0)"
        );
        assert_eq!(
            check_quality(ControlLevel::High, &q),
            Err(ErrorCode::IncompleteFace)
        );
    }

    #[test]
    fn liveness_and_spoofing_follow_their_tables() {
        assert_eq!(check_liveness(ControlLevel::None, 0.0), Ok(()));
        assert_eq!(check_liveness(ControlLevel::Low, 0.06), Ok(()));
        assert_eq!(
            check_liveness(ControlLevel::Normal, 0.29),
            Err(ErrorCode::LivenessCheckFail)
        );
        assert_eq!(check_liveness(ControlLevel::High, 0.9), Ok(()));
        assert_eq!(check_spoofing(ControlLevel::None, 1.0), Ok(()));
        assert_eq!(
            check_spoofing(ControlLevel::Low, 0.55),
            Err(ErrorCode::SpoofingCheckFail)
        );
        assert_eq!(check_spoofing(ControlLevel::High, 0.65), Ok(()));
    }

    #[test]
    fn the_most_occluded_failing_region_is_reported() {
        let mut q = good();
        q.occlusion.mouth = 0.9;
        q.occlusion.left_cheek = 0.7;
        assert_eq!(
            check_quality(ControlLevel::Normal, &q),
            Err(ErrorCode::MouthOccluded)
        );
        assert_eq!(
            check_quality(ControlLevel::Low, &q),
            Err(ErrorCode::MouthOccluded)
        );
        q.occlusion.mouth = 0.7;
        assert_eq!(
            check_quality(ControlLevel::Normal, &q),
            Err(ErrorCode::LeftCheekOccluded),
            "a tie goes to the lower code"
        );
        q.occlusion.chin_contour = 0.65;
        assert_eq!(
            check_quality(ControlLevel::Normal, &q),
            Err(ErrorCode::FaceCovered),
            "three failing regions: the face is covered"
        );
        q.occlusion.chin_contour = 0.0;
        q.occlusion.mouth = 0.5;
        q.occlusion.left_cheek = 0.5;
        assert_eq!(check_quality(ControlLevel::Normal, &q), Ok(()));
        assert_eq!(
            check_quality(ControlLevel::High, &q),
            Err(ErrorCode::LeftCheekOccluded)
        );
    }
}
