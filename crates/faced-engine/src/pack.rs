//! Model packs: which registry package holds which network, with pinned digests.
//!
//! A pack is data, not code: the fetcher reads it to know what to download and verify, the
//! engine reads it to know what to load, and the library records its embedder id beside every
//! stored embedding so that a library is never searched with another model.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::EngineError;

/// What a model file does in the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Finds face boxes.
    Detector,
    /// Places 68 landmarks in a face box.
    Landmarks,
    /// Turns an aligned face into an identity embedding.
    Embedder,
    /// BlazeFace detector (TensorFlow.js graph model).
    BlazeFace,
    /// FaceMesh: 468 landmarks (TensorFlow.js graph model).
    FaceMesh,
    /// `faceres`: age and gender (TensorFlow.js graph model).
    AgeGender,
    /// Emotion classifier (TensorFlow.js graph model).
    Emotion,
    /// Open/closed eye classifier (ONNX).
    EyeState,
    /// Synthetic-face (spoofing) classifier (TensorFlow.js graph model).
    AntiSpoof,
    /// `@vladmandic/human`'s 32×32 replay-liveness classifier (TensorFlow.js graph model).
    Liveness,
    /// A weight shard, read by the graph file beside it rather than on its own.
    Weights,
}

/// A registry package, by exact name and version: the unit the fetcher downloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Package {
    /// The registry holding it.
    pub registry: Registry,
    /// Exact package name.
    pub name: &'static str,
    /// Exact package version.
    pub version: &'static str,
}

impl Package {
    /// The folder holding the files taken from this package under a models directory.
    pub fn folder(&self, models_dir: &Path) -> PathBuf {
        models_dir.join(format!("{}@{}", self.name, self.version))
    }
}

/// One file taken from a registry package.
#[derive(Debug, Clone, Copy)]
pub struct ModelFile {
    /// Its job.
    pub role: Role,
    /// The package it comes from.
    pub package: &'static Package,
    /// Path inside the package archive.
    pub path_in_package: &'static str,
    /// File name under the package's folder in the data directory.
    pub file_name: &'static str,
    /// Pinned sha256 (lowercase hex); anything else is refused.
    pub sha256: &'static str,
}

impl ModelFile {
    /// Where the file lives under a models directory.
    pub fn path(&self, models_dir: &Path) -> PathBuf {
        self.package.folder(models_dir).join(self.file_name)
    }
}

/// Which registry a package comes from; decides the client the fetcher uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registry {
    /// The npm registry, fetched with `npm pack NAME@VERSION`.
    Npm,
}

/// A set of models that work together, and the facts the pipeline needs about them.
#[derive(Debug, Clone, Copy)]
pub struct PackManifest {
    /// Stable id, used in configuration.
    pub id: &'static str,
    /// Which stages the files make up.
    pub pipeline: Pipeline,
    /// The files used, from one or several packages.
    pub files: &'static [ModelFile],
    /// Identifies the embedder (and its pre-processing) stored beside every embedding.
    pub embedder_id: &'static str,
    /// Length of the embedding vector.
    pub embedding_dim: usize,
}

/// `faceplugin-face-recognition-js@0.0.1` on npm: the default pack's networks (ONNX).
pub const FACEPLUGIN_PACKAGE: Package = Package {
    registry: Registry::Npm,
    name: "faceplugin-face-recognition-js",
    version: "0.0.1",
};

/// `@vladmandic/human@3.3.6` on npm: MediaPipe BlazeFace and FaceMesh, and the attribute
/// networks (TensorFlow.js graph models).
pub const HUMAN_PACKAGE: Package = Package {
    registry: Registry::Npm,
    name: "@vladmandic/human",
    version: "3.3.6",
};

/// A TensorFlow.js graph model of `@vladmandic/human`: its `model.json` and its one shard.
macro_rules! human_graph {
    ($role:expr, $stem:literal, $json_sha:literal, $bin_sha:literal) => {
        [
            ModelFile {
                role: $role,
                package: &HUMAN_PACKAGE,
                path_in_package: concat!("package/models/", $stem, ".json"),
                file_name: concat!($stem, ".json"),
                sha256: $json_sha,
            },
            ModelFile {
                role: Role::Weights,
                package: &HUMAN_PACKAGE,
                path_in_package: concat!("package/models/", $stem, ".bin"),
                file_name: concat!($stem, ".bin"),
                sha256: $bin_sha,
            },
        ]
    };
}

const FACEMESH_FILES: [ModelFile; 2] = human_graph!(
    Role::FaceMesh,
    "facemesh",
    "b60ca26f404724f43bd2b1575761d8265180e1f053cc0731caa68462927309e7",
    "3826da640b0a3021161605369ee6af293f75d518040355b960ec71a3390c1c0b"
);
const FACERES_FILES: [ModelFile; 2] = human_graph!(
    Role::AgeGender,
    "faceres",
    "5b83d49c0385d2e68a05122441b94226313677cae9fcc40b9587ad50079eb4df",
    "2c7d2d62b76c97528b736527aa09d310ea71743c9e3e79fb6c62d4b2d73af79b"
);
const EMOTION_FILES: [ModelFile; 2] = human_graph!(
    Role::Emotion,
    "emotion",
    "56f7e557eb0c863a8b9ab04ac7ccba756e93bf2c27dce135ef0e8712b80b7ad2",
    "927ac8224f356ab1e68c2bcfbfa07b0c8567047d1bcf817388ba6e38214c4987"
);
const ANTISPOOF_FILES: [ModelFile; 2] = human_graph!(
    Role::AntiSpoof,
    "antispoof",
    "7fd698ae1cebabbcad79d3b8b448587b0365eb7911987418231bdcf36583112a",
    "4490fecb2becdb6869edc7e60f5e59962be013a8def8719b1373afb0f905c094"
);
const HUMAN_LIVENESS_FILES: [ModelFile; 2] = human_graph!(
    Role::Liveness,
    "liveness",
    "9e51c8acf83b80abbf329b2735309ab5c90611c66905ade8b1bd130d473df9c8",
    "fc6a6b6b3b9721bdb8bff67a457a15b7cbfd81715cfb27f3e65b757e81dd663e"
);
/// BlazeFace "back" (256×256), the clean pack's detector.
pub const BLAZEFACE_FILES: [ModelFile; 2] = human_graph!(
    Role::BlazeFace,
    "blazeface",
    "cd7bbfc078270572beb39f9e5ae67aadbd50b5e67cff37e6d4f6b3ea39312e5f",
    "dc9a97fdc50bc43216554bdd69aa3e7b9361a519ee7bdd996a2f69a98a6f9b72"
);

/// `@vladmandic/face-api@1.7.15` on npm: the weights of dlib's face-recognition ResNet-29.
pub const FACE_API_PACKAGE: Package = Package {
    registry: Registry::Npm,
    name: "@vladmandic/face-api",
    version: "1.7.15",
};

/// A file of `faceplugin-face-recognition-js`'s `model/` folder.
macro_rules! faceplugin_onnx {
    ($role:expr, $file:literal, $sha:literal) => {
        ModelFile {
            role: $role,
            package: &FACEPLUGIN_PACKAGE,
            path_in_package: concat!("package/model/", $file),
            file_name: $file,
            sha256: $sha,
        }
    };
}

const FACEPLUGIN_DETECTOR: ModelFile = faceplugin_onnx!(
    Role::Detector,
    "fr_detect.onnx",
    "6c0256ccd3164f844736a401faf936ec2930764a87ae39442180887d0c5c8854"
);
const FACEPLUGIN_LANDMARKS: ModelFile = faceplugin_onnx!(
    Role::Landmarks,
    "fr_landmark.onnx",
    "f10b0ba1d2a8a099adefede1ebf3733e44fe370715e7303dbeb7f59c02142258"
);
const FACEPLUGIN_EMBEDDER: ModelFile = faceplugin_onnx!(
    Role::Embedder,
    "fr_feature.onnx",
    "87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581"
);
const FACEPLUGIN_EYE: ModelFile = faceplugin_onnx!(
    Role::EyeState,
    "fr_eye.onnx",
    "1afcea006abc1ccac3c517022abde0aa092bed74ff3c9fe6878483ef9e6e38de"
);

const DLIB_RESNET_FILES: [ModelFile; 2] = [
    ModelFile {
        role: Role::Embedder,
        package: &FACE_API_PACKAGE,
        path_in_package: "package/model/face_recognition_model-weights_manifest.json",
        file_name: "face_recognition_model-weights_manifest.json",
        sha256: "cbaffa501b0b9275a12b63357a6843e7e30c054e1c9151e1a5f879b26e32986b",
    },
    ModelFile {
        role: Role::Weights,
        package: &FACE_API_PACKAGE,
        path_in_package: "package/model/face_recognition_model.bin",
        file_name: "face_recognition_model.bin",
        sha256: "b413e420d6840b2775fba32008db6f3cddb07d485967fb42cfcf379c16a8c589",
    },
];

/// How a pack finds, aligns and embeds faces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pipeline {
    /// Ultra-Light-Fast detector, 68-point landmarks, 512-d ArcFace-style embedder on the
    /// 112×112 ArcFace crop.
    Faceplugin,
    /// BlazeFace detector, FaceMesh landmarks, dlib ResNet-29 on its 150×150 chip.
    Clean,
}

/// The default pack: Ultra-Light-Fast detector, 68-point landmarks and a 512-d ArcFace-style
/// embedder from `faceplugin-face-recognition-js@0.0.1`, whose embedder's licence is unclear
/// (see the README), with the attribute networks.
pub const FACEPLUGIN: PackManifest = PackManifest {
    id: "faceplugin",
    pipeline: Pipeline::Faceplugin,
    files: &[
        FACEPLUGIN_DETECTOR,
        FACEPLUGIN_LANDMARKS,
        FACEPLUGIN_EMBEDDER,
        FACEPLUGIN_EYE,
        FACEMESH_FILES[0],
        FACEMESH_FILES[1],
        FACERES_FILES[0],
        FACERES_FILES[1],
        EMOTION_FILES[0],
        EMOTION_FILES[1],
        ANTISPOOF_FILES[0],
        ANTISPOOF_FILES[1],
        HUMAN_LIVENESS_FILES[0],
        HUMAN_LIVENESS_FILES[1],
    ],
    embedder_id: "faceplugin-0.0.1/fr_feature/bgr-sim5-mirror",
    embedding_dim: 512,
};

/// The clean pack: every weight of its recognition chain has a clean licence (BlazeFace and
/// FaceMesh from MediaPipe, Apache-2.0; dlib's ResNet-29, public domain), and nothing from the
/// faceplugin package: its attribute networks are `@vladmandic/human`'s (stated MIT), and eye
/// state comes from the mesh's geometry instead of faceplugin's fr_eye.
pub const CLEAN: PackManifest = PackManifest {
    id: "clean",
    pipeline: Pipeline::Clean,
    files: &[
        BLAZEFACE_FILES[0],
        BLAZEFACE_FILES[1],
        FACEMESH_FILES[0],
        FACEMESH_FILES[1],
        DLIB_RESNET_FILES[0],
        DLIB_RESNET_FILES[1],
        FACERES_FILES[0],
        FACERES_FILES[1],
        EMOTION_FILES[0],
        EMOTION_FILES[1],
        ANTISPOOF_FILES[0],
        ANTISPOOF_FILES[1],
        HUMAN_LIVENESS_FILES[0],
        HUMAN_LIVENESS_FILES[1],
    ],
    embedder_id: "face-api-1.7.15/dlib-resnet29/mesh5-mirror",
    embedding_dim: 128,
};

/// Every pack this build knows, by id.
pub const PACKS: &[PackManifest] = &[FACEPLUGIN, CLEAN];

/// Looks a pack up by its id.
pub fn pack_by_id(id: &str) -> Option<&'static PackManifest> {
    PACKS.iter().find(|p| p.id == id)
}

impl PackManifest {
    /// The path of the (first) file with this role.
    pub fn path_of(&self, models_dir: &Path, role: Role) -> Option<PathBuf> {
        self.files
            .iter()
            .find(|f| f.role == role)
            .map(|f| f.path(models_dir))
    }

    /// The distinct packages the pack's files come from, in first-use order.
    pub fn packages(&self) -> Vec<&'static Package> {
        let mut packages: Vec<&'static Package> = Vec::new();
        for file in self.files {
            if !packages.contains(&file.package) {
                packages.push(file.package);
            }
        }
        packages
    }

    /// The pack's files taken from `package`.
    pub fn files_of<'a>(&'a self, package: &'a Package) -> impl Iterator<Item = &'a ModelFile> {
        self.files.iter().filter(move |f| f.package == package)
    }

    /// Checks that every file is present with its pinned digest.
    pub fn verify(&self, models_dir: &Path) -> Result<(), EngineError> {
        for file in self.files {
            verify_file(&file.path(models_dir), file.sha256)?;
        }
        Ok(())
    }
}

/// Checks one file against its pinned sha256.
pub fn verify_file(path: &Path, expected: &str) -> Result<(), EngineError> {
    if !path.is_file() {
        return Err(EngineError::MissingModel {
            path: path.to_path_buf(),
        });
    }
    let bytes = std::fs::read(path).map_err(|source| EngineError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let actual = hex::encode(Sha256::digest(&bytes));
    if actual != expected {
        return Err(EngineError::DigestMismatch {
            path: path.to_path_buf(),
            expected: expected.to_string(),
            actual,
        });
    }
    Ok(())
}
