//! What the engine's integration tests share: where the models and photos are, and the
//! threshold-free separation of labelled pairs.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use faced_engine::decode::{decode, DecodeLimits};
use faced_engine::embed::cosine;
use image::RgbImage;

/// Baidu's size limits, with room for any test photo.
pub const LIMITS: DecodeLimits = DecodeLimits {
    max_long_side: 1920,
    max_short_side: 1080,
    max_alloc: 256 << 20,
};

/// Where the fetched models are: `FACED_MODELS_DIR`, else the cache `~/.cache/faced/models`.
pub fn models_dir() -> PathBuf {
    std::env::var_os("FACED_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/faced/models")
        })
}

/// `../shared/data` of the repository.
pub fn shared_data() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"))
}

/// A photo under `shared/data`, decoded.
pub fn picture(rel: &str) -> RgbImage {
    let bytes = std::fs::read(shared_data().join(rel)).expect("test photo");
    decode(&bytes, &LIMITS).expect("decodes")
}

/// The area under the ROC of the first `n` rows of `faces/pairs.csv`: the share of (genuine,
/// impostor) pairs whose cosines are ordered right, with `embed` turning a `faces/`-relative
/// file into an embedding.
pub fn pairs_auc(n: usize, mut embed: impl FnMut(&str) -> Vec<f32>) -> f32 {
    let pairs = std::fs::read_to_string(shared_data().join("faces/pairs.csv")).expect("pairs");
    let (mut genuine, mut impostor) = (Vec::new(), Vec::new());
    for line in pairs.lines().skip(1).take(n) {
        let f: Vec<&str> = line.split(',').collect();
        let c = cosine(&embed(f[0]), &embed(f[1]));
        if f[2] == "1" {
            genuine.push(c);
        } else {
            impostor.push(c);
        }
    }
    genuine
        .iter()
        .map(|g| impostor.iter().filter(|&&i| i < *g).count())
        .sum::<usize>() as f32
        / (genuine.len() * impostor.len()) as f32
}
