//! `faced library reembed`: moves a library to another model pack from the face crops kept at
//! registration, so an operator can switch packs without asking anyone to enrol again.
//!
//! Every face is embedded first; only when all succeeded are the embeddings replaced, in one
//! transaction. A face that cannot be embedded (no crop was kept, or the new pack finds no
//! face in it) stops the run with nothing changed and is listed, so nobody is lost.

use anyhow::{bail, Context};
use faced_engine::decode::{decode, DecodeLimits};
use faced_engine::detect::FaceOrder;
use faced_engine::pack::PackManifest;
use faced_engine::Engine;
use serde_json::json;

use crate::config::Config;

/// Crops are at most 400 px; anything larger is not a crop faced wrote.
const CROP_LIMITS: DecodeLimits = DecodeLimits {
    max_long_side: 1920,
    max_short_side: 1920,
    max_alloc: 64 << 20,
};

/// Re-embeds every face not made by `pack`'s embedder; prints a JSON summary.
pub fn reembed(config: &Config, pack: &'static PackManifest) -> anyhow::Result<()> {
    // Refused while a server runs on the directory (its index would disagree with the
    // database); held until the run ends.
    let _alone = crate::hold_data_lock(config)?;
    let library = crate::open_library(config)?;
    let engine = Engine::load(pack, &config.models_dir())
        .with_context(|| format!("loading pack {} (faced models fetch --all)", pack.id))?;
    let todo = library.faces_to_reembed(pack.embedder_id)?;
    let mut embeddings = Vec::with_capacity(todo.len());
    let mut failed = Vec::new();
    for face in &todo {
        match embed_crop(&engine, face.crop_jpeg.as_deref()) {
            Ok(embedding) => embeddings.push((face.face_ref, embedding)),
            Err(why) => failed.push(json!({
                "app_id": face.app_id, "group_id": face.group_id, "user_id": face.user_id,
                "face_token": face.face_token, "reason": why,
            })),
        }
    }
    if !failed.is_empty() {
        println!(
            "{}",
            json!({"pack": pack.id, "faces": todo.len(), "failed": failed, "changed": 0})
        );
        bail!(
            "{} of {} faces cannot be re-embedded; nothing was changed",
            failed.len(),
            todo.len()
        );
    }
    let changed = library.replace_embeddings(pack.embedder_id, &embeddings)?;
    println!(
        "{}",
        json!({"pack": pack.id, "model_id": pack.embedder_id, "faces": todo.len(), "changed": changed})
    );
    if config.pack != pack.id {
        eprintln!(
            "faced: the library is now on pack {:?}; serve it with pack = {:?} (FACED_PACK)",
            pack.id, pack.id
        );
    }
    Ok(())
}

/// The new pack's embedding of the face in a stored crop, or why there is none.
fn embed_crop(engine: &Engine, crop: Option<&[u8]>) -> Result<Vec<f32>, String> {
    let crop = crop.ok_or(
        "no crop was kept (store_face_crops was off, or the face was registered from a face_token)",
    )?;
    let image = decode(crop, &CROP_LIMITS).map_err(|e| format!("crop does not decode: {e}"))?;
    let faces = engine
        .analyse(&image, 1, FaceOrder::CentreFirst)
        .map_err(|e| format!("engine: {e}"))?;
    let face = faces
        .first()
        .ok_or("the new pack finds no face in the crop")?;
    engine
        .embed(&image, face)
        .map_err(|e| format!("engine: {e}"))
}
