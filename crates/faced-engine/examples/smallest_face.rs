//! Measures the smallest face the detector finds in a large photo.
//!
//! For 40 LFW photos, the detected face (with its photo around it, 2.5× the box) is scaled so
//! the face box is `w` pixels wide and pasted into a grey 1920×1080 and a 640×480 frame at a
//! fixed off-centre position; recall is the fraction of pastes where a detection overlaps the
//! pasted face (IoU ≥ 0.3). Run:
//! `cargo run -p faced-engine --example smallest_face [-- clean]` (FACED_MODELS_DIR or
//! ~/.cache/faced/models; the default pack unless `clean` is given).

use std::path::PathBuf;

use faced_engine::decode::{decode, DecodeLimits};
use faced_engine::detect::FaceOrder;
use faced_engine::geometry::BBox;
use faced_engine::pack::{CLEAN, FACEPLUGIN};
use faced_engine::Engine;
use image::{imageops, Rgb, RgbImage};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let models = std::env::var_os("FACED_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/faced/models")
        });
    let pack = match std::env::args().nth(1).as_deref() {
        Some("clean") => &CLEAN,
        _ => &FACEPLUGIN,
    };
    println!("Pack `{}`.", pack.id);
    let engine = Engine::load(pack, &models)?;
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/faces");
    let labels = std::fs::read_to_string(data.join("labels.csv"))?;
    let limits = DecodeLimits {
        max_long_side: 1920,
        max_short_side: 1080,
        max_alloc: 1 << 28,
    };
    let mut faces = Vec::new();
    for line in labels.lines().skip(1).step_by(60).take(40) {
        let file = line.split(',').next().unwrap_or_default();
        let image = decode(&std::fs::read(data.join(file))?, &limits)?;
        if let Some(face) = engine.analyse(&image, 1, FaceOrder::CentreFirst)?.first() {
            faces.push((image, face.detection.bbox));
        }
    }
    println!("| face width (px) | recall in 1920×1080 | recall in 640×480 |");
    println!("|---|---|---|");
    for width in [12u32, 16, 20, 24, 32, 48, 64, 80, 96, 128] {
        let recall = |frame_w: u32, frame_h: u32| -> Result<f32, Box<dyn std::error::Error>> {
            let mut found = 0;
            for (image, bbox) in &faces {
                let (frame, target) = paste(image, bbox, width, frame_w, frame_h);
                let detections = engine.analyse(&frame, 120, FaceOrder::LargestFirst)?;
                if detections
                    .iter()
                    .any(|d| d.detection.bbox.iou(&target) >= 0.3)
                {
                    found += 1;
                }
            }
            Ok(found as f32 / faces.len() as f32)
        };
        println!(
            "| {width} | {:.2} | {:.2} |",
            recall(1920, 1080)?,
            recall(640, 480)?
        );
    }
    Ok(())
}

/// The face with 2.5× context, scaled so the face box is `width` wide, pasted at 30 %/40 % of
/// a grey frame; returns the frame and where the face box landed.
fn paste(
    image: &RgbImage,
    bbox: &BBox,
    width: u32,
    frame_w: u32,
    frame_h: u32,
) -> (RgbImage, BBox) {
    let scale = width as f32 / bbox.width();
    let c = bbox.centre();
    let half = bbox.width().max(bbox.height()) * 1.25;
    let crop = BBox {
        x1: c.x - half,
        y1: c.y - half,
        x2: c.x + half,
        y2: c.y + half,
    }
    .clamp(image.width(), image.height());
    let patch = imageops::crop_imm(
        image,
        crop.x1 as u32,
        crop.y1 as u32,
        crop.width() as u32,
        crop.height() as u32,
    )
    .to_image();
    let (pw, ph) = (
        ((patch.width() as f32) * scale).max(1.0) as u32,
        ((patch.height() as f32) * scale).max(1.0) as u32,
    );
    let patch = imageops::resize(&patch, pw, ph, imageops::FilterType::Triangle);
    let mut frame = RgbImage::from_pixel(frame_w, frame_h, Rgb([128, 128, 128]));
    let (ox, oy) = (frame_w * 3 / 10, frame_h * 4 / 10);
    imageops::overlay(&mut frame, &patch, i64::from(ox), i64::from(oy));
    let to_frame = |x: f32, y: f32| {
        (
            (x - crop.x1) * scale + ox as f32,
            (y - crop.y1) * scale + oy as f32,
        )
    };
    let (x1, y1) = to_frame(bbox.x1, bbox.y1);
    let (x2, y2) = to_frame(bbox.x2, bbox.y2);
    (frame, BBox { x1, y1, x2, y2 })
}
