//! The quality measures on real photos of ../shared/data and controlled variants of them:
//! each measure must move the right way, monotonically, as the variant gets worse.

mod variants;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use faced_engine::decode::{decode, DecodeLimits};
use faced_engine::detect::FaceOrder;
use faced_engine::pack::FACEPLUGIN;
use faced_engine::quality::{self, Quality, Region};
use faced_engine::{AnalysedFace, Engine};
use image::RgbImage;
use variants::Occluder;

const LIMITS: DecodeLimits = DecodeLimits {
    max_long_side: 1920,
    max_short_side: 1080,
    max_alloc: 256 << 20,
};

fn models_dir() -> PathBuf {
    std::env::var_os("FACED_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/faced/models")
        })
}

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        Engine::load(&FACEPLUGIN, &models_dir())
            .unwrap_or_else(|e| panic!("{e} (run `faced models fetch --data ~/.cache/faced`)"))
    })
}

fn faces_dir() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/faces"
    ))
}

/// `n` LFW photos not used to learn the occlusion statistics (those are rows ≡ 0 mod 4 of
/// labels.csv; these are rows ≡ 2 mod 4, spread over the file).
fn photos(n: usize) -> Vec<(String, RgbImage)> {
    let labels = std::fs::read_to_string(faces_dir().join("labels.csv")).expect("labels.csv");
    let rows: Vec<&str> = labels
        .lines()
        .skip(1)
        .enumerate()
        .filter(|(i, _)| i % 4 == 2)
        .map(|(_, l)| l)
        .collect();
    let step = (rows.len() / n).max(1);
    rows.iter()
        .step_by(step)
        .take(n)
        .map(|line| {
            let file = line.split(',').next().unwrap_or_default().to_string();
            let bytes = std::fs::read(faces_dir().join(&file)).expect("photo");
            (file, decode(&bytes, &LIMITS).expect("decodes"))
        })
        .collect()
}

fn centre_face(image: &RgbImage) -> Option<AnalysedFace> {
    engine()
        .analyse(image, 1, FaceOrder::CentreFirst)
        .expect("analyse")
        .into_iter()
        .next()
}

fn quality_of(image: &RgbImage) -> Option<Quality> {
    centre_face(image).map(|f| quality::assess(image, &f))
}

#[test]
fn unoccluded_sharp_photos_pass_normal() {
    let photos = photos(30);
    let mut all_regions_under = 0;
    for (file, image) in &photos {
        let q = quality_of(image).unwrap_or_else(|| panic!("no face in {file}"));
        assert!(q.blur < 0.6, "{file}: blur {}", q.blur);
        assert!(
            q.illumination > 40.0,
            "{file}: illumination {}",
            q.illumination
        );
        assert!(q.complete, "{file}: incomplete");
        for v in q.occlusion.0 {
            assert!((0.0..=1.0).contains(&v), "{file}: {v}");
        }
        all_regions_under += usize::from(q.occlusion.0.iter().all(|&v| v <= 0.6));
    }
    // Measured: 55 of 60 such photos have every region under 0.6 (beards and shadows on the
    // chin are the exceptions).
    assert!(
        all_regions_under * 10 >= photos.len() * 8,
        "{all_regions_under}/{} unoccluded faces under 0.6 everywhere",
        photos.len()
    );
}

#[test]
fn blur_rises_monotonically_with_the_gaussian_kernel() {
    let sigmas = [0.0, 1.0, 2.0, 3.0];
    let mut monotone = 0;
    let photos = photos(10);
    for (file, image) in &photos {
        let values: Vec<f32> = sigmas
            .iter()
            .filter_map(|&s| quality_of(&variants::blurred(image, s)).map(|q| q.blur))
            .collect();
        assert_eq!(values.len(), sigmas.len(), "{file}: face lost");
        assert!(values[0] < 0.6, "{file}: sharp photo has blur {values:?}");
        assert!(values[3] > values[0] + 0.3, "{file}: {values:?}");
        monotone += usize::from(values.windows(2).all(|w| w[1] >= w[0] - 0.02));
    }
    assert!(
        monotone >= photos.len() - 1,
        "{monotone}/{} monotone",
        photos.len()
    );
}

#[test]
fn illumination_falls_with_darkening_and_follows_the_grey_level() {
    let mut dark_enough = 0;
    for (file, image) in photos(8) {
        let values: Vec<f32> = [1.0, 0.6, 0.35]
            .iter()
            .map(|&k| {
                quality_of(&variants::darkened(&image, k, 1.0))
                    .unwrap_or_else(|| panic!("{file}: face lost at {k}"))
                    .illumination
            })
            .collect();
        assert!(values.windows(2).all(|w| w[1] < w[0]), "{file}: {values:?}");
        // A linear darkening scales the mean grey level (within the landmarks' jitter).
        let ratio = values[2] / values[0];
        assert!((0.3..0.4).contains(&ratio), "{file}: {values:?}");
        // Darker still the detector may lose the face; when it does not, NORMAL fails it.
        if let Some(q) = quality_of(&variants::darkened(&image, 0.25, 1.0)) {
            assert!(
                q.illumination < 40.0 && q.illumination < values[2],
                "{file}"
            );
            dark_enough += 1;
        }
    }
    assert!(
        dark_enough >= 5,
        "{dark_enough}/8 very dark faces still found"
    );
    // Gamma darkening (shadows crushed) lowers it too.
    for (file, image) in photos(4) {
        let a = quality_of(&image).expect("face").illumination;
        let b = quality_of(&variants::darkened(&image, 1.0, 2.5))
            .unwrap_or_else(|| panic!("{file}: face lost"))
            .illumination;
        assert!(b < a * 0.7, "{file}: {a} → {b}");
    }
}

#[test]
fn a_face_cut_by_the_border_is_incomplete() {
    let (mut found, mut incomplete) = (0, 0);
    for (file, image) in photos(10) {
        let face = centre_face(&image).expect("face");
        assert!(quality::assess(&image, &face).complete, "{file}");
        for cut in [
            variants::cut_right(&image, &face.detection.bbox, 0.3),
            variants::cut_bottom(&image, &face.detection.bbox, 0.2),
        ] {
            if let Some(q) = quality_of(&cut) {
                found += 1;
                incomplete += usize::from(!q.complete);
            }
        }
    }
    assert!(
        found >= 15,
        "the detector still finds most cut faces ({found}/20)"
    );
    // Measured: 58/58 faces cut on the right and 53/59 cut at the bottom are seen (a chin cut
    // under a box that shrank to the visible part, with the mouth points pulled up, is missed).
    assert!(
        incomplete * 100 >= found * 85,
        "{incomplete}/{found} cut faces incomplete"
    );
}

/// Paints `kind` over exactly one region of each photo (the axis-aligned box of the region);
/// the region must go over 0.6 and stay the most occluded one in at least `min_share` of the
/// photos.
fn occluder_over(region: Region, kind: Occluder, min_share: f32) {
    let photos = photos(12);
    let (mut over, mut found) = (0, 0);
    let mut report = Vec::new();
    for (file, image) in &photos {
        let face = centre_face(image).expect("face");
        let boxes = quality::region_boxes(image, &face).expect("regions");
        let skin = variants::mean_colour(image, &boxes[Region::LeftCheek as usize]);
        let clean = quality::assess(image, &face);
        let painted = variants::occluded(image, &boxes[region as usize], kind, skin);
        let Some(q) = quality_of(&painted) else {
            continue;
        };
        found += 1;
        let target = q.occlusion.get(region);
        // The other regions must stay lower (those the clean photo already flags, a beard or
        // a shadow, are not the occluder's doing and are left out).
        let others = Region::ALL
            .iter()
            .filter(|r| **r != region && clean.occlusion.get(**r) <= 0.6)
            .map(|r| q.occlusion.get(*r))
            .fold(0.0f32, f32::max);
        if target > 0.6 && target >= others {
            over += 1;
        } else {
            report.push(format!(
                "{file}: {target:.2} vs others {others:.2} {:?}",
                q.occlusion.0
            ));
        }
    }
    assert!(found >= 10, "{region:?}/{kind:?}: face lost too often");
    assert!(
        over as f32 >= min_share * found as f32,
        "{region:?} under {kind:?}: {over}/{found}; {report:?}"
    );
}

#[test]
fn a_black_patch_over_one_region_is_seen_there() {
    for region in Region::ALL {
        occluder_over(region, Occluder::Black, 0.8);
    }
}

#[test]
fn a_grey_patch_over_skin_regions_is_seen_there() {
    for region in [
        Region::Nose,
        Region::LeftCheek,
        Region::RightCheek,
        Region::ChinContour,
    ] {
        occluder_over(region, Occluder::Grey, 0.8);
    }
}

#[test]
fn occlusion_grows_with_the_covered_share_of_the_region() {
    let mut monotone = 0;
    let photos = photos(8);
    for (file, image) in &photos {
        let face = centre_face(image).expect("face");
        let boxes = quality::region_boxes(image, &face).expect("regions");
        let region = Region::RightCheek;
        let b = boxes[region as usize];
        let values: Vec<f32> = [0.0f32, 0.5, 1.0]
            .iter()
            .filter_map(|&share| {
                let mut part = b;
                part.x2 = b.x1 + share * b.width();
                let painted = variants::occluded(image, &part, Occluder::Black, [0.0; 3]);
                quality_of(&painted).map(|q| q.occlusion.get(region))
            })
            .collect();
        assert_eq!(values.len(), 3, "{file}: face lost");
        assert!(values[2] > 0.6 && values[0] < 0.6, "{file}: {values:?}");
        monotone += usize::from(values.windows(2).all(|w| w[1] >= w[0] - 0.02));
    }
    assert!(monotone >= photos.len() - 1, "{monotone}/{}", photos.len());
}
