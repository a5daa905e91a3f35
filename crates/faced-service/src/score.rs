//! Similarity → Baidu score (0–100), calibrated per embedder.
//!
//! Baidu's 80 means "same person" at a false-accept rate of about 1e-4. We keep that meaning:
//! for each embedder the cosine similarities at FAR 1e-2, 1e-3 and 1e-4 were measured on the
//! labelled photos of `shared/data/faces` (`faced eval`, see `docs/CALIBRATION.md`) and mapped
//! to 60, 70 and 80; the score is piecewise linear between those anchors, 0 at cosine 0 and
//! below, 100 at cosine 1.

/// Measured anchors of one embedder.
#[derive(Debug, Clone, Copy)]
pub struct Calibration {
    /// Embedder id the anchors belong to.
    pub embedder_id: &'static str,
    /// Cosine at FAR 1e-2 (→ score 60).
    pub cos_far_1e2: f32,
    /// Cosine at FAR 1e-3 (→ score 70).
    pub cos_far_1e3: f32,
    /// Cosine at FAR 1e-4 (→ score 80).
    pub cos_far_1e4: f32,
}

/// The calibrations of every embedder this build knows.
pub const CALIBRATIONS: &[Calibration] = &[
    Calibration {
        embedder_id: "faceplugin-0.0.1/fr_feature/bgr-sim5-mirror",
        cos_far_1e2: 0.2484,
        cos_far_1e3: 0.3431,
        cos_far_1e4: 0.4243,
    },
    // The clean pack (docs/CALIBRATION-clean.md): dlib's embeddings are not centred, so even
    // impostors have cosines near 0.84 and the anchors sit high.
    Calibration {
        embedder_id: "face-api-1.7.15/dlib-resnet29/mesh5-mirror",
        cos_far_1e2: 0.9116,
        cos_far_1e3: 0.9305,
        cos_far_1e4: 0.9462,
    },
];

/// The calibration of an embedder, if it has been measured.
pub fn calibration_for(embedder_id: &str) -> Option<&'static Calibration> {
    CALIBRATIONS.iter().find(|c| c.embedder_id == embedder_id)
}

impl Calibration {
    /// The Baidu score of a cosine similarity, rounded to 2 decimals.
    pub fn score(&self, cosine: f32) -> f32 {
        let anchors = [
            (0.0, 0.0),
            (self.cos_far_1e2, 60.0),
            (self.cos_far_1e3, 70.0),
            (self.cos_far_1e4, 80.0),
            (1.0, 100.0),
        ];
        let c = cosine.clamp(0.0, 1.0);
        let score = anchors
            .windows(2)
            .find(|w| c <= w[1].0)
            .map(|w| {
                let ((c0, s0), (c1, s1)) = (w[0], w[1]);
                s0 + (c - c0) / (c1 - c0).max(1e-6) * (s1 - s0)
            })
            .unwrap_or(100.0);
        (score * 100.0).round() / 100.0
    }

    /// The smallest cosine that reaches `score` (for thresholds given as scores).
    pub fn cosine_for(&self, score: f32) -> f32 {
        let mut lo = 0.0f32;
        let mut hi = 1.0f32;
        for _ in 0..40 {
            let mid = (lo + hi) / 2.0;
            if self.score(mid) >= score {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        hi
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_map_to_their_scores_and_the_map_is_monotone() {
        let c = CALIBRATIONS[0];
        assert_eq!(c.score(c.cos_far_1e4), 80.0);
        assert_eq!(c.score(c.cos_far_1e3), 70.0);
        assert_eq!(c.score(c.cos_far_1e2), 60.0);
        assert_eq!(c.score(1.0), 100.0);
        assert_eq!(c.score(-0.5), 0.0);
        let mut last = -1.0;
        for i in 0..=1000 {
            let s = c.score(i as f32 / 1000.0);
            assert!(s >= last);
            last = s;
        }
    }
}
