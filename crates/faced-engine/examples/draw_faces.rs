//! Draws what the detectors find in a photo, for looking at: ULFD boxes in green, BlazeFace
//! boxes in red with their keypoints.
//!
//! `cargo run -p faced-engine --example draw_faces -- PHOTO OUT.png` (models from
//! `FACED_MODELS_DIR` or `~/.cache/faced/models`).

use std::path::PathBuf;

use faced_engine::blazeface::BlazeFace;
use faced_engine::decode::{decode, DecodeLimits};
use faced_engine::detect::FaceOrder;
use faced_engine::geometry::BBox;
use faced_engine::pack::{Role, CLEAN, FACEPLUGIN};
use faced_engine::Engine;
use image::{Rgb, RgbImage};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(photo), Some(out)) = (args.next(), args.next()) else {
        return Err("usage: draw_faces PHOTO OUT.png".into());
    };
    let models = std::env::var_os("FACED_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/faced/models")
        });
    let limits = DecodeLimits {
        max_long_side: 1920,
        max_short_side: 1080,
        max_alloc: 256 << 20,
    };
    let mut image = decode(&std::fs::read(&photo)?, &limits)?;
    let engine = Engine::load(&FACEPLUGIN, &models)?;
    let blaze = BlazeFace::load(
        &CLEAN
            .path_of(&models, Role::BlazeFace)
            .ok_or("no blazeface")?,
    )?;
    let clean = Engine::load(&CLEAN, &models)?;
    let ulfd = engine.analyse(&image, 120, FaceOrder::LargestFirst)?;
    let meshed = clean.analyse(&image, 120, FaceOrder::LargestFirst)?;
    let found = blaze.detect(&image)?;
    println!(
        "ULFD {} faces (green), BlazeFace {} boxes (red), clean pack {} faces (blue)",
        ulfd.len(),
        found.len(),
        meshed.len()
    );
    for f in &ulfd {
        outline(&mut image, &f.detection.bbox, Rgb([0, 255, 0]));
    }
    for f in &meshed {
        let presence = f.mesh.as_ref().map_or(0.0, |m| m.presence);
        println!("clean {:?} presence {presence:.2}", f.detection.bbox);
        outline(&mut image, &f.detection.bbox, Rgb([0, 128, 255]));
    }
    for f in &found {
        outline(&mut image, &f.detection.bbox, Rgb([255, 0, 0]));
        for k in f.keypoints {
            let b = BBox {
                x1: k.x - 1.0,
                y1: k.y - 1.0,
                x2: k.x + 1.0,
                y2: k.y + 1.0,
            };
            outline(&mut image, &b, Rgb([255, 255, 0]));
        }
    }
    image.save(out)?;
    Ok(())
}

fn outline(image: &mut RgbImage, b: &BBox, colour: Rgb<u8>) {
    let (w, h) = (image.width() as i64, image.height() as i64);
    let (x1, y1, x2, y2) = (b.x1 as i64, b.y1 as i64, b.x2 as i64, b.y2 as i64);
    let mut put = |x: i64, y: i64| {
        if (0..w).contains(&x) && (0..h).contains(&y) {
            image.put_pixel(x as u32, y as u32, colour);
        }
    };
    for x in x1..=x2 {
        put(x, y1);
        put(x, y2);
    }
    for y in y1..=y2 {
        put(x1, y);
        put(x2, y);
    }
}
