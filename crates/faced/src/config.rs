//! Server configuration: defaults, then a TOML file, then environment variables, then flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Everything an operator can set.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on (`FACED_LISTEN`).
    pub listen: SocketAddr,
    /// Data directory: database and models (`FACED_DATA`).
    pub data: PathBuf,
    /// Model pack id (`FACED_PACK`).
    pub pack: String,
    /// Let `image_type=URL` reach private and loopback addresses (`FACED_ALLOW_PRIVATE_URLS`).
    pub allow_private_urls: bool,
    /// Inference threads; 0 = one per core (`FACED_INFERENCE_WORKERS`).
    pub inference_workers: usize,
    /// Requests that may wait for an inference thread; 0 = 16 per worker.
    pub inference_queue: usize,
    /// Keep a JPEG crop of every registered face, for re-embedding with another pack.
    pub store_face_crops: bool,
    /// The zone whose midnight resets daily quotas: `local` or an IANA name such as
    /// `Asia/Shanghai` (`FACED_QUOTA_TIMEZONE`).
    pub quota_timezone: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8300)),
            data: PathBuf::from("./faced-data"),
            pack: "faceplugin".into(),
            allow_private_urls: false,
            inference_workers: 0,
            inference_queue: 0,
            store_face_crops: true,
            quota_timezone: "local".into(),
        }
    }
}

impl Config {
    /// Defaults overlaid with `file` (if given) and the `FACED_*` environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("cannot read config {}: {e}", path.display()))?;
                toml::from_str(&text)
                    .map_err(|e| anyhow::anyhow!("bad config {}: {e}", path.display()))?
            }
            None => Config::default(),
        };
        if let Ok(v) = std::env::var("FACED_LISTEN") {
            config.listen = v
                .parse()
                .map_err(|e| anyhow::anyhow!("FACED_LISTEN={v}: {e}"))?;
        }
        if let Ok(v) = std::env::var("FACED_DATA") {
            config.data = PathBuf::from(v);
        }
        if let Ok(v) = std::env::var("FACED_PACK") {
            config.pack = v;
        }
        if let Ok(v) = std::env::var("FACED_ALLOW_PRIVATE_URLS") {
            config.allow_private_urls = matches!(v.as_str(), "1" | "true" | "yes");
        }
        if let Ok(v) = std::env::var("FACED_INFERENCE_WORKERS") {
            config.inference_workers = v
                .parse()
                .map_err(|e| anyhow::anyhow!("FACED_INFERENCE_WORKERS={v}: {e}"))?;
        }
        if let Ok(v) = std::env::var("FACED_QUOTA_TIMEZONE") {
            config.quota_timezone = v;
        }
        Ok(config)
    }

    /// Where model packs live.
    pub fn models_dir(&self) -> PathBuf {
        self.data.join("models")
    }
}
