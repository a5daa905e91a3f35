//! Downloading `image_type=URL` images without becoming an open proxy into the operator's
//! network.
//!
//! We resolve the host ourselves, refuse loopback, private, link-local and other non-public
//! addresses (unless the operator allows them), connect to the address we checked (so a DNS
//! answer cannot change between check and use), and follow a few redirects, checking each
//! hop the same way. The download is bounded in time and size.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

use crate::limits::{MAX_URL_IMAGE_BYTES, URL_FETCH_TIMEOUT_SECS, URL_MAX_REDIRECTS};

/// Why a URL image could not be had; all become Baidu's `222204` on the wire.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Not an http(s) URL.
    #[error("not an http or https URL")]
    BadUrl,
    /// The host resolves only to addresses we refuse.
    #[error("address {0} is not public")]
    Forbidden(IpAddr),
    /// DNS, TCP, TLS or HTTP failed.
    #[error("download failed: {0}")]
    Network(String),
    /// The server answered with something other than 200.
    #[error("HTTP status {0}")]
    Status(u16),
    /// Larger than the limit.
    #[error("image larger than {0} bytes")]
    TooLarge(usize),
    /// Took longer than the limit.
    #[error("timed out")]
    Timeout,
}

/// The guarded downloader; cheap to clone.
#[derive(Clone)]
pub struct UrlFetcher {
    allow_private: bool,
    tls: TlsConnector,
}

impl UrlFetcher {
    /// A fetcher; `allow_private` lifts the address check (for intranet deployments and tests).
    pub fn new(allow_private: bool) -> Self {
        let roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let config = ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Self {
            allow_private,
            tls: TlsConnector::from(Arc::new(config)),
        }
    }

    /// Downloads the image at `url`.
    pub async fn fetch(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        let work = async {
            let mut current = url::Url::parse(url.trim()).map_err(|_| FetchError::BadUrl)?;
            for _ in 0..=URL_MAX_REDIRECTS {
                match self.get_once(&current).await? {
                    Step::Body(bytes) => return Ok(bytes),
                    Step::Redirect(next) => {
                        current = current.join(&next).map_err(|_| FetchError::BadUrl)?;
                    }
                }
            }
            Err(FetchError::Network("too many redirects".into()))
        };
        tokio::time::timeout(Duration::from_secs(URL_FETCH_TIMEOUT_SECS), work)
            .await
            .map_err(|_| FetchError::Timeout)?
    }

    async fn get_once(&self, url: &url::Url) -> Result<Step, FetchError> {
        let https = match url.scheme() {
            "http" => false,
            "https" => true,
            _ => return Err(FetchError::BadUrl),
        };
        let host = url.host_str().ok_or(FetchError::BadUrl)?.to_string();
        let port = url.port_or_known_default().ok_or(FetchError::BadUrl)?;
        let address = self.resolve(&host, port).await?;
        let tcp = TcpStream::connect(address).await.map_err(net)?;
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        let request = hyper::Request::get(path)
            .header(hyper::header::HOST, host_header(url))
            .header(hyper::header::USER_AGENT, "faced")
            .body(Empty::<Bytes>::new())
            .map_err(net)?;
        let response = if https {
            let name = tokio_rustls::rustls::pki_types::ServerName::try_from(host.clone())
                .map_err(|_| FetchError::BadUrl)?;
            let tls = self.tls.connect(name, tcp).await.map_err(net)?;
            send(TokioIo::new(tls), request).await?
        } else {
            send(TokioIo::new(tcp), request).await?
        };
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(hyper::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or(FetchError::Status(status.as_u16()))?;
            return Ok(Step::Redirect(location.to_string()));
        }
        if status != hyper::StatusCode::OK {
            return Err(FetchError::Status(status.as_u16()));
        }
        let body = Limited::new(response.into_body(), MAX_URL_IMAGE_BYTES)
            .collect()
            .await
            .map_err(|_| FetchError::TooLarge(MAX_URL_IMAGE_BYTES))?;
        Ok(Step::Body(body.to_bytes().to_vec()))
    }

    async fn resolve(&self, host: &str, port: u16) -> Result<SocketAddr, FetchError> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let candidates: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(net)?
            .collect();
        let mut refused = None;
        for address in candidates {
            if self.allow_private || is_public(address.ip()) {
                return Ok(address);
            }
            refused = Some(address.ip());
        }
        Err(refused
            .map(FetchError::Forbidden)
            .unwrap_or_else(|| FetchError::Network("no address".into())))
    }
}

enum Step {
    Body(Vec<u8>),
    Redirect(String),
}

async fn send<T>(
    io: T,
    request: hyper::Request<Empty<Bytes>>,
) -> Result<hyper::Response<hyper::body::Incoming>, FetchError>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(net)?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    sender.send_request(request).await.map_err(net)
}

fn host_header(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

fn net(e: impl std::fmt::Display) -> FetchError {
    FetchError::Network(e.to_string())
}

/// True for addresses on the public internet; false for loopback, private, link-local,
/// shared (CGNAT), unspecified, broadcast, multicast, documentation and unique-local ranges.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_pass() {
        for blocked in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(blocked.parse().expect("ip")), "{blocked}");
        }
        for open in ["8.8.8.8", "1.1.1.1", "2606:4700::1111"] {
            assert!(is_public(open.parse().expect("ip")), "{open}");
        }
    }

    #[tokio::test]
    async fn loopback_is_refused_unless_allowed() {
        let err = UrlFetcher::new(false)
            .fetch("http://127.0.0.1:9/x.jpg")
            .await
            .err();
        assert!(matches!(err, Some(FetchError::Forbidden(_))), "{err:?}");
        let err = UrlFetcher::new(false)
            .fetch("ftp://example.com/x.jpg")
            .await
            .err();
        assert!(matches!(err, Some(FetchError::BadUrl)), "{err:?}");
    }
}
