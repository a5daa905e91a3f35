//! Face detection with the Ultra-Light-Fast detector (RFB, 320×240).
//!
//! The network already decodes its prior boxes; we resize the whole frame to 320×240 (as the
//! package's script does, aspect ratio ignored), feed B,G,R scaled by `(v−127)/128`, keep
//! scores ≥ the threshold and merge overlaps with score-sorted IoU non-maximum suppression.
//!
//! At 320×240 a face narrower than ~32 px of a 640 px frame is lost. For larger frames a second
//! pass runs the same network, cut before its built-in box decoding, on 640×640 tiles of the
//! frame (scaled to at most 1280 px) with priors generated for that size; only its small boxes
//! (< 48 px of network input, at a stricter threshold) are kept, since at large scales it fires
//! on hair and skin. The two passes are merged by NMS (`examples/smallest_face.rs` measures it).

use std::path::Path;

use image::RgbImage;

use crate::backend::{Network, Tensor4, TractNetwork};
use crate::geometry::{sample_rgb, to_planar, Affine, BBox, Border};
use crate::EngineError;

const INPUT_W: u32 = 320;
const INPUT_H: u32 = 240;
/// Side of the square input of the small-face pass.
const SMALL_SIDE: u32 = 640;
/// Frames whose longer side is at least this get the small-face pass.
const SMALL_PASS_MIN_SIDE: u32 = 400;
/// The small-face pass works on the frame scaled to at most this longer side, in tiles.
const SMALL_PASS_MAX_SIDE: u32 = 1280;
/// Overlap of neighbouring tiles, more than the largest box kept, so no face is cut in all.
const SMALL_TILE_OVERLAP: u32 = 64;
/// Boxes of the small-face pass larger than this (network pixels) are dropped.
const SMALL_MAX_BOX: f32 = 48.0;
/// The network's raw class logits and box regressions, before its decoding.
const RAW_OUTPUTS: [&str; 2] = ["461", "462"];

/// Tuning of the detector; the defaults are the measured ones.
#[derive(Debug, Clone, Copy)]
pub struct DetectorConfig {
    /// Minimum face score kept.
    pub score_threshold: f32,
    /// Overlap above which the weaker of two boxes is dropped.
    pub nms_iou: f32,
    /// Minimum score of the small-face pass.
    pub small_face_threshold: f32,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self {
            score_threshold: 0.65,
            nms_iou: 0.4,
            small_face_threshold: 0.8,
        }
    }
}

/// One face found: its box in image pixels and the detector's confidence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    /// Box in image pixels, clamped to the image.
    pub bbox: BBox,
    /// Face probability in [0, 1].
    pub score: f32,
}

/// Which faces come first when a photo holds several (Baidu's `face_sort_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FaceOrder {
    /// Largest area first.
    #[default]
    LargestFirst,
    /// Nearest to the image centre first.
    CentreFirst,
}

/// How hard the small-face pass looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmallFaces {
    /// The whole frame in one 640×640 tile: faces down to ~3 % of the longer side.
    Coarse,
    /// Also 640×640 tiles of the frame at up to 1280 px: faces down to ~24 px in full HD.
    All,
}

/// The loaded detector network.
pub struct Detector {
    net: Box<dyn Network>,
    small: Box<dyn Network>,
    small_priors: Vec<[f32; 4]>,
    config: DetectorConfig,
}

impl Detector {
    /// Loads `fr_detect.onnx`.
    pub fn load(path: &Path, config: DetectorConfig) -> Result<Self, EngineError> {
        let net = TractNetwork::load_onnx(
            "fr_detect",
            path,
            &[1, 3, INPUT_H as usize, INPUT_W as usize],
        )?;
        let side = SMALL_SIDE as usize;
        let small = TractNetwork::load_onnx_with_outputs(
            "fr_detect/raw",
            path,
            &[1, 3, side, side],
            &RAW_OUTPUTS,
        )?;
        let small_priors = priors(SMALL_SIDE, SMALL_SIDE);
        Ok(Self {
            net: Box::new(net),
            small: Box::new(small),
            small_priors,
            config,
        })
    }

    /// Finds every face, strongest first.
    pub fn detect(&self, image: &RgbImage) -> Result<Vec<Detection>, EngineError> {
        self.detect_with(image, SmallFaces::All)
    }

    /// Finds faces, with the small-face pass limited to `small` (the fine tiles cost several
    /// network runs on large frames and only matter when faces under ~40 px are wanted).
    pub fn detect_with(
        &self,
        image: &RgbImage,
        small: SmallFaces,
    ) -> Result<Vec<Detection>, EngineError> {
        let (w, h) = image.dimensions();
        let frame = BBox {
            x1: 0.0,
            y1: 0.0,
            x2: w as f32,
            y2: h as f32,
        };
        let rgb = sample_rgb(
            image,
            &Affine::rect_to_grid(&frame, INPUT_W, INPUT_H),
            INPUT_W,
            INPUT_H,
            Border::Replicate,
        );
        let data = to_planar(&rgb, INPUT_W, INPUT_H, true, |v| (v - 127.0) / 128.0);
        let outputs = self.net.run(Tensor4 {
            shape: vec![1, 3, INPUT_H as usize, INPUT_W as usize],
            data,
        })?;
        let (scores, boxes) = match outputs.as_slice() {
            [scores, boxes, ..] => (scores, boxes),
            _ => {
                return Err(EngineError::Inference {
                    model: "fr_detect",
                    message: "expected 2 outputs".into(),
                })
            }
        };
        let mut found: Vec<Detection> = scores
            .chunks_exact(2)
            .zip(boxes.chunks_exact(4))
            .filter(|(s, _)| s[1] >= self.config.score_threshold)
            .map(|(s, b)| Detection {
                bbox: BBox {
                    x1: b[0] * w as f32,
                    y1: b[1] * h as f32,
                    x2: b[2] * w as f32,
                    y2: b[3] * h as f32,
                }
                .clamp(w, h),
                score: s[1],
            })
            .filter(|d| d.bbox.width() >= 1.0 && d.bbox.height() >= 1.0)
            .collect();
        if w.max(h) >= SMALL_PASS_MIN_SIDE {
            found.extend(self.small_faces(image, small)?);
        }
        found.sort_by(|a, b| b.score.total_cmp(&a.score));
        Ok(non_maximum_suppression(found, self.config.nms_iou))
    }

    /// Only the fine tiles of the small-face pass (frames over 640 px scaled to at most
    /// 1280 px), merged by NMS: what `SmallFaces::All` adds to `SmallFaces::Coarse`, for a
    /// caller that already ran the coarse passes.
    pub fn fine_faces(&self, image: &RgbImage) -> Result<Vec<Detection>, EngineError> {
        let mut found = match fine_scale(image) {
            Some(scale) => self.faces_at_scale(image, scale)?,
            None => Vec::new(),
        };
        found.sort_by(|a, b| b.score.total_cmp(&a.score));
        Ok(non_maximum_suppression(found, self.config.nms_iou))
    }

    /// The second pass: the frame fitted into one 640×640 tile and, for `All`, also the fine
    /// tiles. Together with the first pass they leave no gap between the sizes each finds.
    fn small_faces(
        &self,
        image: &RgbImage,
        small: SmallFaces,
    ) -> Result<Vec<Detection>, EngineError> {
        let long = image.width().max(image.height()) as f32;
        let mut found = self.faces_at_scale(image, (SMALL_SIDE as f32 / long).min(1.0))?;
        if let (SmallFaces::All, Some(scale)) = (small, fine_scale(image)) {
            found.extend(self.faces_at_scale(image, scale)?);
        }
        Ok(found)
    }

    /// Small faces of the frame scaled by `scale`, over as many 640×640 tiles as it needs.
    fn faces_at_scale(&self, image: &RgbImage, scale: f32) -> Result<Vec<Detection>, EngineError> {
        let (w, h) = image.dimensions();
        let (sw, sh) = (
            (w as f32 * scale).ceil() as u32,
            (h as f32 * scale).ceil() as u32,
        );
        let mut found = Vec::new();
        for ty in tile_origins(sh) {
            for tx in tile_origins(sw) {
                found.extend(self.small_faces_in_tile(image, scale, tx as f32, ty as f32)?);
            }
        }
        Ok(found)
    }

    fn small_faces_in_tile(
        &self,
        image: &RgbImage,
        scale: f32,
        tx: f32,
        ty: f32,
    ) -> Result<Vec<Detection>, EngineError> {
        let (w, h) = image.dimensions();
        let to_tile = Affine {
            m: [scale, 0.0, -tx, 0.0, scale, -ty],
        };
        let rgb = sample_rgb(image, &to_tile, SMALL_SIDE, SMALL_SIDE, Border::Zero);
        let data = to_planar(&rgb, SMALL_SIDE, SMALL_SIDE, true, |v| (v - 127.0) / 128.0);
        let side = SMALL_SIDE as usize;
        let outputs = self.small.run(Tensor4 {
            shape: vec![1, 3, side, side],
            data,
        })?;
        let (logits, regressions) = match outputs.as_slice() {
            [l, r, ..]
                if l.len() == self.small_priors.len() * 2
                    && r.len() == self.small_priors.len() * 4 =>
            {
                (l, r)
            }
            _ => {
                return Err(EngineError::Inference {
                    model: "fr_detect/raw",
                    message: "unexpected raw output sizes".into(),
                })
            }
        };
        let net = SMALL_SIDE as f32;
        let mut found = Vec::new();
        for ((logit, reg), prior) in logits
            .chunks_exact(2)
            .zip(regressions.chunks_exact(4))
            .zip(&self.small_priors)
        {
            let score = 1.0 / (1.0 + (logit[0] - logit[1]).exp());
            if score < self.config.small_face_threshold {
                continue;
            }
            let [px, py, pw, ph] = *prior;
            let (cx, cy) = (reg[0] * 0.1 * pw + px, reg[1] * 0.1 * ph + py);
            let (bw, bh) = ((reg[2] * 0.2).exp() * pw, (reg[3] * 0.2).exp() * ph);
            if bw * net >= SMALL_MAX_BOX || bh * net >= SMALL_MAX_BOX {
                continue;
            }
            let to_x = |v: f32| (v * net + tx) / scale;
            let to_y = |v: f32| (v * net + ty) / scale;
            let bbox = BBox {
                x1: to_x(cx - bw / 2.0),
                y1: to_y(cy - bh / 2.0),
                x2: to_x(cx + bw / 2.0),
                y2: to_y(cy + bh / 2.0),
            }
            .clamp(w, h);
            if bbox.width() >= 1.0 && bbox.height() >= 1.0 {
                found.push(Detection { bbox, score });
            }
        }
        Ok(found)
    }
}

/// The scale of the fine tiles (longer side at most 1280 px), or `None` when the frame fits
/// one tile at that scale (the coarse tile already covers it).
fn fine_scale(image: &RgbImage) -> Option<f32> {
    let long = image.width().max(image.height()) as f32;
    let scale = (SMALL_PASS_MAX_SIDE as f32 / long).min(1.0);
    (long >= SMALL_PASS_MIN_SIDE as f32 && long * scale > SMALL_SIDE as f32).then_some(scale)
}

/// Origins of 640-px tiles covering `length` pixels with at least `SMALL_TILE_OVERLAP` overlap,
/// spread evenly.
fn tile_origins(length: u32) -> Vec<u32> {
    if length <= SMALL_SIDE {
        return vec![0];
    }
    let step = SMALL_SIDE - SMALL_TILE_OVERLAP;
    let tiles = (length - SMALL_TILE_OVERLAP).div_ceil(step);
    let last = length - SMALL_SIDE;
    (0..tiles).map(|i| last * i / (tiles - 1).max(1)).collect()
}

/// The Ultra-Light-Fast detector's prior boxes for an input of `width`×`height`
/// (centre x, centre y, width, height, all as fractions of the input).
pub fn priors(width: u32, height: u32) -> Vec<[f32; 4]> {
    const STRIDES: [u32; 4] = [8, 16, 32, 64];
    const MIN_BOXES: [&[f32]; 4] = [
        &[10.0, 16.0, 24.0],
        &[32.0, 48.0],
        &[64.0, 96.0],
        &[128.0, 192.0, 256.0],
    ];
    let mut priors = Vec::new();
    for (stride, sizes) in STRIDES.iter().zip(MIN_BOXES) {
        let (cols, rows) = (width.div_ceil(*stride), height.div_ceil(*stride));
        let (scale_w, scale_h) = (
            width as f32 / *stride as f32,
            height as f32 / *stride as f32,
        );
        for j in 0..rows {
            for i in 0..cols {
                let (cx, cy) = ((i as f32 + 0.5) / scale_w, (j as f32 + 0.5) / scale_h);
                for size in sizes {
                    let prior = [cx, cy, size / width as f32, size / height as f32];
                    priors.push(prior.map(|v| v.clamp(0.0, 1.0)));
                }
            }
        }
    }
    priors
}

/// Keeps each box unless it overlaps a stronger kept box by more than `iou`.
pub fn non_maximum_suppression(sorted: Vec<Detection>, iou: f32) -> Vec<Detection> {
    let mut kept: Vec<Detection> = Vec::new();
    for candidate in sorted {
        if kept.iter().all(|k| k.bbox.iou(&candidate.bbox) <= iou) {
            kept.push(candidate);
        }
    }
    kept
}

/// Sorts faces in the requested order (stable, so equal keys keep detector order).
pub fn order_faces<T>(
    faces: &mut [T],
    bbox_of: impl Fn(&T) -> BBox,
    order: FaceOrder,
    width: u32,
    height: u32,
) {
    match order {
        FaceOrder::LargestFirst => {
            faces.sort_by(|a, b| bbox_of(b).area().total_cmp(&bbox_of(a).area()))
        }
        FaceOrder::CentreFirst => {
            let (cx, cy) = (width as f32 / 2.0, height as f32 / 2.0);
            let distance = |b: BBox| {
                let c = b.centre();
                (c.x - cx).powi(2) + (c.y - cy).powi(2)
            };
            faces.sort_by(|a, b| distance(bbox_of(a)).total_cmp(&distance(bbox_of(b))));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_cover_the_frame_with_overlap() {
        assert_eq!(tile_origins(480), vec![0]);
        for length in [641, 1000, 1280] {
            let t = tile_origins(length);
            assert_eq!((t[0], *t.last().unwrap_or(&0) + SMALL_SIDE), (0, length));
            for pair in t.windows(2) {
                assert!(
                    pair[0] + SMALL_SIDE >= pair[1] + SMALL_TILE_OVERLAP,
                    "{length}: {t:?}"
                );
            }
        }
    }

    #[test]
    fn prior_count_matches_the_network() {
        // 40×30×3 + 20×15×2 + 10×8×2 + 5×4×3 = 4420, the detector's output rows at 320×240.
        assert_eq!(priors(320, 240).len(), 4420);
        assert_eq!(
            priors(640, 640).len(),
            80 * 80 * 3 + 40 * 40 * 2 + 20 * 20 * 2 + 10 * 10 * 3
        );
    }
}
