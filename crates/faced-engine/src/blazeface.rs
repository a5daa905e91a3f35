//! Face detection with MediaPipe's BlazeFace "back" model (256×256, from `@vladmandic/human`),
//! the detector of the clean pack.
//!
//! The model sees a square: each tile of the image is letter-boxed (black) into 256×256, RGB
//! scaled to [-1, 1]. It answers, for 896 anchors (16×16 cells × 2 at stride 16, then 8×8 × 6
//! at stride 32), a logit and 16 regressors: the box centre offset and size, then six
//! keypoints (two eyes, nose tip, mouth centre, two ears) as offsets from the anchor, all in
//! input pixels. Scores are sigmoids; overlaps are merged by IoU non-maximum suppression.
//!
//! A face narrower than ~3 % of a tile's side is too small for the network, so frames of
//! 400 px and more are also searched in overlapping square tiles (see [`BlazeFace::detect`]).

use std::path::Path;

use image::RgbImage;

use crate::backend::{Network, Tensor4, TractNetwork};
use crate::detect::{non_maximum_suppression, Detection};
use crate::geometry::{sample_rgb, Affine, BBox, Border, Point};
use crate::tfjs::read_graph_model;
use crate::EngineError;

/// Side of the network input.
pub const SIDE: u32 = 256;
/// Outputs in the order parsed: logits and regressors of the stride-16 layer, then stride 32.
const OUTPUTS: [&str; 4] = ["Identity", "Identity_2", "Identity_1", "Identity_3"];
/// Anchors per layer: (stride, anchors per cell).
const LAYERS: [(u32, usize); 2] = [(16, 2), (32, 6)];
/// Regressors per anchor.
const REGRESSORS: usize = 16;
/// Minimum score kept.
const SCORE_THRESHOLD: f32 = 0.5;
/// Overlap above which the weaker of two boxes goes.
const NMS_IOU: f32 = 0.3;
/// Frames whose longer side reaches this are also searched in tiles.
const TILE_MIN_SIDE: u32 = 400;
/// Side of a tile, in image pixels.
const TILE_SIDE: u32 = 480;
/// Overlap of neighbouring tiles.
const TILE_OVERLAP: u32 = 96;

/// A face BlazeFace found, with its six keypoints.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlazeDetection {
    /// Box and score.
    pub detection: Detection,
    /// Image-left eye, image-right eye, nose tip, mouth centre, image-left ear, image-right
    /// ear, in image pixels.
    pub keypoints: [Point; 6],
}

/// The loaded BlazeFace network.
pub struct BlazeFace {
    net: Box<dyn Network>,
    anchors: Vec<Point>,
}

impl BlazeFace {
    /// Loads `blazeface.json` (and its shard beside it).
    pub fn load(json: &Path) -> Result<Self, EngineError> {
        let graph = read_graph_model("blazeface", json)?;
        let side = SIDE as usize;
        let net = TractNetwork::from_graph_def("blazeface", &graph, &[1, side, side, 3], &OUTPUTS)?;
        Ok(Self {
            net: Box::new(net),
            anchors: anchors(),
        })
    }

    /// Finds the faces of the whole frame, strongest first. Frames of 400 px or more are also
    /// searched in overlapping 480 px tiles, so that faces down to ~16 px are found.
    pub fn detect(&self, image: &RgbImage) -> Result<Vec<BlazeDetection>, EngineError> {
        let (w, h) = (image.width() as f32, image.height() as f32);
        let mut found = self.detect_square(image, &square_around(0.0, 0.0, w, h))?;
        if image.width().max(image.height()) >= TILE_MIN_SIDE {
            for tile in tiles(image.width(), image.height()) {
                let (iw, ih) = (image.width(), image.height());
                found.extend(
                    self.detect_square(image, &tile)?
                        .into_iter()
                        .filter(|d| !cut_by_tile(&d.detection.bbox, &tile, iw, ih)),
                );
            }
        }
        found.sort_by(|a, b| b.detection.score.total_cmp(&a.detection.score));
        Ok(suppress(found))
    }

    /// Finds the faces of the whole frame in one pass (no tiles): faces down to ~3 % of the
    /// frame's longer side.
    pub fn detect_whole(&self, image: &RgbImage) -> Result<Vec<BlazeDetection>, EngineError> {
        let (w, h) = (image.width() as f32, image.height() as f32);
        self.detect_square(image, &square_around(0.0, 0.0, w, h))
    }

    /// Runs the network on one square region of the image (parts outside it read black).
    pub fn detect_square(
        &self,
        image: &RgbImage,
        square: &BBox,
    ) -> Result<Vec<BlazeDetection>, EngineError> {
        let to_grid = Affine::rect_to_grid(square, SIDE, SIDE);
        let rgb = sample_rgb(image, &to_grid, SIDE, SIDE, Border::Zero);
        let data = rgb.iter().map(|v| v / 127.5 - 1.0).collect();
        let side = SIDE as usize;
        let outputs = self.net.run(Tensor4 {
            shape: vec![1, side, side, 3],
            data,
        })?;
        let to_image = to_grid.inverse().ok_or_else(|| EngineError::Inference {
            model: "blazeface",
            message: "degenerate tile".into(),
        })?;
        let [logits16, regs16, logits32, regs32] = &outputs[..] else {
            return Err(EngineError::Inference {
                model: "blazeface",
                message: format!("expected 4 outputs, got {}", outputs.len()),
            });
        };
        let logits: Vec<f32> = logits16.iter().chain(logits32).copied().collect();
        let regs: Vec<f32> = regs16.iter().chain(regs32).copied().collect();
        if logits.len() != self.anchors.len() || regs.len() != self.anchors.len() * REGRESSORS {
            return Err(EngineError::Inference {
                model: "blazeface",
                message: "output sizes do not match the anchors".into(),
            });
        }
        let (iw, ih) = (image.width(), image.height());
        let mut found: Vec<BlazeDetection> = logits
            .iter()
            .zip(regs.chunks_exact(REGRESSORS))
            .zip(&self.anchors)
            .filter_map(|((&logit, r), anchor)| {
                let score = sigmoid(logit);
                (score >= SCORE_THRESHOLD).then(|| decode(score, r, *anchor, &to_image, iw, ih))
            })
            .collect();
        found.sort_by(|a, b| b.detection.score.total_cmp(&a.detection.score));
        Ok(suppress(found))
    }
}

/// One anchor's regressors → a detection in image pixels.
fn decode(
    score: f32,
    r: &[f32],
    anchor: Point,
    to_image: &Affine,
    width: u32,
    height: u32,
) -> BlazeDetection {
    let (cx, cy) = (anchor.x + r[0], anchor.y + r[1]);
    let (half_w, half_h) = (r[2] / 2.0, r[3] / 2.0);
    let a = to_image.apply(Point::new(cx - half_w, cy - half_h));
    let b = to_image.apply(Point::new(cx + half_w, cy + half_h));
    let bbox = BBox {
        x1: a.x.min(b.x),
        y1: a.y.min(b.y),
        x2: a.x.max(b.x),
        y2: a.y.max(b.y),
    }
    .clamp(width, height);
    let mut keypoints = [Point::default(); 6];
    for (k, point) in keypoints.iter_mut().enumerate() {
        let (kx, ky) = (r[4 + 2 * k], r[5 + 2 * k]);
        *point = to_image.apply(Point::new(anchor.x + kx, anchor.y + ky));
    }
    BlazeDetection {
        detection: Detection { bbox, score },
        keypoints,
    }
}

fn suppress(sorted: Vec<BlazeDetection>) -> Vec<BlazeDetection> {
    let detections: Vec<Detection> = sorted.iter().map(|d| d.detection).collect();
    let kept = non_maximum_suppression(detections, NMS_IOU);
    // NMS keeps a subsequence of its sorted input: walk both in step.
    let mut out = Vec::with_capacity(kept.len());
    let mut rest = sorted.into_iter();
    for k in kept {
        if let Some(d) = rest.by_ref().find(|d| d.detection == k) {
            out.push(d);
        }
    }
    out
}

/// The anchors in input pixels: per layer, rows, then columns, then the cell's anchors.
fn anchors() -> Vec<Point> {
    let mut out = Vec::with_capacity(896);
    for (stride, per_cell) in LAYERS {
        let cells = SIDE.div_ceil(stride);
        for y in 0..cells {
            for x in 0..cells {
                let centre = Point::new(
                    stride as f32 * (x as f32 + 0.5),
                    stride as f32 * (y as f32 + 0.5),
                );
                out.extend(std::iter::repeat_n(centre, per_cell));
            }
        }
    }
    out
}

/// The square with the same centre as the rectangle, side its longer side.
fn square_around(x: f32, y: f32, w: f32, h: f32) -> BBox {
    let side = w.max(h);
    let (cx, cy) = (x + w / 2.0, y + h / 2.0);
    BBox {
        x1: cx - side / 2.0,
        y1: cy - side / 2.0,
        x2: cx + side / 2.0,
        y2: cy + side / 2.0,
    }
}

/// Overlapping square tiles covering the frame.
fn tiles(width: u32, height: u32) -> Vec<BBox> {
    let starts = |len: u32| -> Vec<u32> {
        if len <= TILE_SIDE {
            return vec![0];
        }
        let step = TILE_SIDE - TILE_OVERLAP;
        let mut s: Vec<u32> = (0..)
            .map(|i| i * step)
            .take_while(|&s| s + TILE_SIDE < len)
            .collect();
        s.push(len - TILE_SIDE);
        s
    };
    let mut out = Vec::new();
    for y in starts(height) {
        for x in starts(width) {
            out.push(BBox {
                x1: x as f32,
                y1: y as f32,
                x2: (x + TILE_SIDE) as f32,
                y2: (y + TILE_SIDE) as f32,
            });
        }
    }
    out
}

/// Whether a box found in a tile touches one of the tile's inner edges (an edge that is not
/// also the image's): such a face is cut, and a neighbouring tile holds it whole.
fn cut_by_tile(b: &BBox, tile: &BBox, width: u32, height: u32) -> bool {
    const MARGIN: f32 = 2.0;
    let (w, h) = (width as f32, height as f32);
    (tile.x1 > 0.0 && b.x1 <= tile.x1 + MARGIN)
        || (tile.y1 > 0.0 && b.y1 <= tile.y1 + MARGIN)
        || (tile.x2 < w && b.x2 >= tile.x2 - MARGIN)
        || (tile.y2 < h && b.y2 >= tile.y2 - MARGIN)
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_follow_the_model_layout() {
        let a = anchors();
        assert_eq!(a.len(), 896);
        assert_eq!(a[0], Point::new(8.0, 8.0));
        assert_eq!(a[1], Point::new(8.0, 8.0));
        assert_eq!(a[2], Point::new(24.0, 8.0));
        assert_eq!(a[512], Point::new(16.0, 16.0));
        assert_eq!(a[895], Point::new(240.0, 240.0));
    }

    #[test]
    fn tiles_cover_the_frame_with_overlap() {
        let t = tiles(1920, 1080);
        assert!(t.iter().all(|b| b.x2 <= 1920.0 && b.y2 <= 1080.0));
        assert!(t.iter().any(|b| b.x2 == 1920.0) && t.iter().any(|b| b.y2 == 1080.0));
        assert_eq!(tiles(300, 300).len(), 1);
    }
}
