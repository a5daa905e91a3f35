//! The service object and the plumbing every use-case shares: loading an image from any of
//! Baidu's three forms, running engine work on the bounded pool, and mapping failures of the
//! layers below to Baidu codes.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use faced_engine::decode::{decode, DecodeError};
use faced_engine::Engine;
use faced_errors::ErrorCode;
use faced_library::{Library, LibraryError, QuotaKind, StoredFace};
use image::RgbImage;

use crate::image_input::{check_face_token, decode_base64_image, ImageRef, ImageType};
use crate::limits::IMAGE_LIMITS;
use crate::pool::{InferencePool, PoolError};
use crate::score::{calibration_for, Calibration};
use crate::url_fetch::UrlFetcher;

/// Operator settings the use-cases need.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Threads doing inference at once.
    pub inference_workers: usize,
    /// Requests allowed to wait for a worker before new ones are refused (code 4).
    pub inference_queue: usize,
    /// Allow `image_type=URL` to reach loopback/private/link-local addresses.
    pub allow_private_urls: bool,
    /// Keep a JPEG crop of each registered face (for re-embedding with another pack).
    pub store_face_crops: bool,
    /// Margin around the face box in stored crops, as a fraction of the box size per side.
    pub face_crop_margin: f32,
    /// The zone whose midnight starts a new day for daily quotas.
    pub quota_zone: jiff::tz::TimeZone,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        Self {
            inference_workers: cores,
            inference_queue: cores * 16,
            allow_private_urls: false,
            store_face_crops: true,
            face_crop_margin: 0.5,
            quota_zone: jiff::tz::TimeZone::system(),
        }
    }
}

/// The use-cases, shared by every request handler.
#[derive(Clone)]
pub struct FaceService {
    pub(crate) engine: Arc<Engine>,
    pub(crate) library: Arc<Library>,
    pub(crate) pool: InferencePool,
    pub(crate) fetcher: UrlFetcher,
    pub(crate) calibration: &'static Calibration,
    pub(crate) config: ServiceConfig,
}

/// An image ready for work: decoded pixels with the bytes they came from, or a stored face.
pub(crate) enum Probe {
    /// A picture sent as BASE64 or URL.
    Picture {
        bytes: Arc<Vec<u8>>,
        image: Arc<RgbImage>,
    },
    /// A face_token that resolved to a stored embedding.
    Stored(StoredFace),
}

impl FaceService {
    /// Wires the engine and the library together.
    pub fn new(
        engine: Arc<Engine>,
        library: Arc<Library>,
        config: ServiceConfig,
    ) -> Result<Self, String> {
        let calibration = calibration_for(engine.embedder_id())
            .ok_or_else(|| format!("no score calibration for embedder {}", engine.embedder_id()))?;
        Ok(Self {
            pool: InferencePool::new(config.inference_workers, config.inference_queue),
            fetcher: UrlFetcher::new(config.allow_private_urls),
            engine,
            library,
            calibration,
            config,
        })
    }

    /// The library (the wire's auth needs apps and tokens).
    pub fn library(&self) -> &Arc<Library> {
        &self.library
    }

    /// Runs engine work on the bounded pool; code 4 when it is full.
    pub(crate) async fn infer<T, F>(&self, work: F) -> Result<T, ErrorCode>
    where
        T: Send + 'static,
        F: FnOnce(&Engine) -> Result<T, ErrorCode> + Send + 'static,
    {
        let engine = self.engine.clone();
        match self.pool.run(move || work(&engine)).await {
            Ok(result) => result,
            Err(PoolError::Overloaded) => Err(ErrorCode::OpenApiRequestLimitReached),
            Err(PoolError::Failed) => {
                tracing::error!("inference task failed");
                Err(ErrorCode::SystemBusyBackendConnect1)
            }
        }
    }

    /// Runs a library call off the async threads (SQLite commits wait for the disk).
    pub(crate) async fn store<T, F>(&self, work: F) -> Result<T, ErrorCode>
    where
        T: Send + 'static,
        F: FnOnce(&Library) -> Result<T, LibraryError> + Send + 'static,
    {
        let library = self.library.clone();
        match tokio::task::spawn_blocking(move || work(&library)).await {
            Ok(result) => result.map_err(library_code),
            Err(_) => {
                tracing::error!("library task failed");
                Err(ErrorCode::SystemBusyDataStore1)
            }
        }
    }

    /// Fetches/decodes an image, or resolves a face_token of this app.
    pub(crate) async fn load(&self, app_id: &str, image: &ImageRef) -> Result<Probe, ErrorCode> {
        let bytes = match image.kind {
            ImageType::Base64 => decode_base64_image(&image.data)?,
            ImageType::Url => self.fetcher.fetch(&image.data).await.map_err(|e| {
                tracing::info!(error = %e, "URL image download failed");
                ErrorCode::ImageUrlDownloadFail
            })?,
            ImageType::FaceToken => {
                let token = check_face_token(&image.data)?.to_string();
                let app = app_id.to_string();
                let now = unix_now();
                let found = self
                    .store(move |lib| lib.lookup_face(&app, &token, now))
                    .await?;
                return found.map(Probe::Stored).ok_or(ErrorCode::FaceTokenNotExist);
            }
        };
        let bytes = Arc::new(bytes);
        let for_decode = bytes.clone();
        let picture = self
            .infer(move |_| decode(&for_decode, &IMAGE_LIMITS).map_err(decode_code))
            .await?;
        Ok(Probe::Picture {
            bytes,
            image: Arc::new(picture),
        })
    }
}

/// The Baidu code of an image that cannot be used.
pub(crate) fn decode_code(e: DecodeError) -> ErrorCode {
    match e {
        DecodeError::Empty => ErrorCode::ParamImageFormatError,
        DecodeError::Unsupported | DecodeError::Corrupt(_) => ErrorCode::ImageCheckFail,
        DecodeError::TooLarge { .. } => ErrorCode::ImageSizeTooLarge,
    }
}

/// The Baidu code of a library outcome.
pub(crate) fn library_code(e: LibraryError) -> ErrorCode {
    match &e {
        LibraryError::GroupNotFound { .. } => ErrorCode::GroupNotExist,
        LibraryError::GroupExists { .. } => ErrorCode::GroupAlreadyExist,
        LibraryError::UserNotFound { .. } => ErrorCode::UserNotExist,
        LibraryError::UserExists { .. } => ErrorCode::UserAlreadyExist,
        LibraryError::FaceNotFound { .. } => ErrorCode::FaceNotExist,
        LibraryError::FaceExists { .. } => ErrorCode::FaceAlreadyExist,
        LibraryError::UserFaceLimit { .. } => ErrorCode::UserFaceLimitExceeded,
        LibraryError::DestGroupNotFound { .. } => ErrorCode::DstGroupNotExist,
        LibraryError::GroupDeleting { .. } => ErrorCode::GroupDeleting,
        LibraryError::QuotaExceeded { kind } => match kind {
            QuotaKind::Qps => ErrorCode::QpsLimitReached,
            QuotaKind::Daily => ErrorCode::DailyRequestLimitReached,
            QuotaKind::Total => ErrorCode::TotalRequestLimitReached,
        },
        LibraryError::ModelMismatch { .. } | LibraryError::DimensionMismatch { .. } => {
            tracing::error!(error = %e, "library built by another embedder; run `faced library reembed`");
            ErrorCode::RtseServiceFail
        }
        _ => {
            tracing::error!(error = %e, "library fault");
            ErrorCode::SystemBusyDataStore1
        }
    }
}

/// Wall-clock Unix seconds.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Wall-clock Unix milliseconds.
pub fn unix_now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
