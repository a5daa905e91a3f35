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

/// The default pack: Ultra-Light-Fast detector, 68-point landmarks and a 512-d ArcFace-style
/// embedder from `faceplugin-face-recognition-js@0.0.1` (see `docs/MODELS.md` for licences).
pub const FACEPLUGIN: PackManifest = PackManifest {
    id: "faceplugin",
    files: &[
        ModelFile {
            role: Role::Detector,
            package: &FACEPLUGIN_PACKAGE,
            path_in_package: "package/model/fr_detect.onnx",
            file_name: "fr_detect.onnx",
            sha256: "6c0256ccd3164f844736a401faf936ec2930764a87ae39442180887d0c5c8854",
        },
        ModelFile {
            role: Role::Landmarks,
            package: &FACEPLUGIN_PACKAGE,
            path_in_package: "package/model/fr_landmark.onnx",
            file_name: "fr_landmark.onnx",
            sha256: "f10b0ba1d2a8a099adefede1ebf3733e44fe370715e7303dbeb7f59c02142258",
        },
        ModelFile {
            role: Role::Embedder,
            package: &FACEPLUGIN_PACKAGE,
            path_in_package: "package/model/fr_feature.onnx",
            file_name: "fr_feature.onnx",
            sha256: "87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581",
        },
    ],
    embedder_id: "faceplugin-0.0.1/fr_feature/bgr-sim5-mirror",
    embedding_dim: 512,
};

/// Every pack this build knows, by id.
pub const PACKS: &[PackManifest] = &[FACEPLUGIN];

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
