//! Image decoding under limits: bytes from a client become an upright RGB8 picture, or a
//! precise reason why not.
//!
//! Order matters for safety: the format is sniffed from the content (never a file name), the
//! header's dimensions are checked against [`DecodeLimits`] *before* any pixel is decoded (no
//! decompression bombs), the decoder runs with an allocation cap, and a JPEG without its end
//! marker is refused rather than completed with grey.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageReader, RgbImage};

/// The bounds an image must respect; the service owns the values (they are Baidu's).
#[derive(Debug, Clone, Copy)]
pub struct DecodeLimits {
    /// The longer side of the (oriented) image may not exceed this.
    pub max_long_side: u32,
    /// The shorter side may not exceed this (so 1920×1080 and 1080×1920 both pass).
    pub max_short_side: u32,
    /// Cap on the decoder's allocations, bytes.
    pub max_alloc: u64,
}

/// Why bytes could not become a picture.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Zero bytes.
    #[error("image is empty")]
    Empty,
    /// A format we do not accept (GIF, WebP, …) or not an image at all.
    #[error("unsupported or unrecognised image format")]
    Unsupported,
    /// The header is readable but the data is broken or truncated.
    #[error("image data is corrupt: {0}")]
    Corrupt(String),
    /// Larger than the limits allow.
    #[error("image is {width}x{height}, over the limit")]
    TooLarge { width: u32, height: u32 },
}

/// The accepted containers, recognised by their magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    /// JPEG (baseline or progressive).
    Jpeg,
    /// PNG, any colour type and depth.
    Png,
    /// Windows bitmap.
    Bmp,
}

/// Recognises the container from its first bytes; `None` for anything we do not accept.
pub fn sniff(bytes: &[u8]) -> Option<ImageKind> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageKind::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageKind::Png)
    } else if bytes.starts_with(b"BM") && bytes.len() > 26 {
        Some(ImageKind::Bmp)
    } else {
        None
    }
}

/// Decodes, applies the EXIF orientation and converts any colour type to RGB8.
pub fn decode(bytes: &[u8], limits: &DecodeLimits) -> Result<RgbImage, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    let kind = sniff(bytes).ok_or(DecodeError::Unsupported)?;
    if kind == ImageKind::Jpeg && !jpeg_is_complete(bytes) {
        return Err(DecodeError::Corrupt(
            "JPEG ends before its EOI marker".into(),
        ));
    }
    let format = match kind {
        ImageKind::Jpeg => image::ImageFormat::Jpeg,
        ImageKind::Png => image::ImageFormat::Png,
        ImageKind::Bmp => image::ImageFormat::Bmp,
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_alloc = Some(limits.max_alloc);
    reader.limits(decoder_limits);
    let corrupt = |e: image::ImageError| DecodeError::Corrupt(e.to_string());
    let mut decoder = reader.into_decoder().map_err(corrupt)?;
    let (width, height) = decoder.dimensions();
    let (long, short) = (width.max(height), width.min(height));
    if long > limits.max_long_side || short > limits.max_short_side {
        return Err(DecodeError::TooLarge { width, height });
    }
    if width == 0 || height == 0 {
        return Err(DecodeError::Corrupt("zero-sized image".into()));
    }
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut picture = DynamicImage::from_decoder(decoder).map_err(corrupt)?;
    picture.apply_orientation(orientation);
    Ok(picture.into_rgb8())
}

/// True when the JPEG's entropy-coded data reaches an EOI marker.
///
/// Walks the marker segments (so an EXIF thumbnail's own EOI inside APP1 is skipped), then
/// scans the scans: inside entropy-coded data 0xFF is always followed by 0x00 or a restart
/// marker, so the first other marker after a scan is a table, another scan or the EOI.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let mut pos = 2;
    while pos + 4 <= bytes.len() {
        if bytes[pos] != 0xFF {
            return false;
        }
        let marker = bytes[pos + 1];
        match marker {
            0xFF => pos += 1,
            0xD9 => return true,
            0x01 | 0xD0..=0xD7 => pos += 2,
            _ => {
                let length = usize::from(bytes[pos + 2]) << 8 | usize::from(bytes[pos + 3]);
                pos += 2 + length;
                if marker == 0xDA {
                    match skip_entropy_data(bytes, pos) {
                        Some(next) => pos = next,
                        None => return false,
                    }
                }
            }
        }
    }
    bytes.len() >= 2 && bytes[pos.min(bytes.len() - 2)..].starts_with(&[0xFF, 0xD9])
}

/// Returns the offset of the first real marker after entropy-coded data starting at `pos`.
fn skip_entropy_data(bytes: &[u8], mut pos: usize) -> Option<usize> {
    while pos + 1 < bytes.len() {
        if bytes[pos] == 0xFF {
            let next = bytes[pos + 1];
            if next != 0x00 && !(0xD0..=0xD7).contains(&next) && next != 0xFF {
                return Some(pos);
            }
        }
        pos += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cases_dir() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/cases")
    }

    fn read(name: &str) -> Vec<u8> {
        std::fs::read(cases_dir().join(name)).expect("test image")
    }

    const BAIDU: DecodeLimits = DecodeLimits {
        max_long_side: 1920,
        max_short_side: 1080,
        max_alloc: 256 << 20,
    };

    fn reference() -> RgbImage {
        decode(&read("progressive.jpg"), &BAIDU).expect("reference decodes")
    }

    fn mean_abs_diff(a: &RgbImage, b: &RgbImage) -> f64 {
        assert_eq!(a.dimensions(), b.dimensions());
        let sum: u64 = a
            .as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(x, y)| u64::from(x.abs_diff(*y)))
            .sum();
        sum as f64 / a.as_raw().len() as f64
    }

    #[test]
    fn every_colour_type_becomes_the_same_rgb_picture() {
        let reference = reference();
        for name in [
            "cmyk_adobe.jpg",
            "rgba_alpha.png",
            "rgb_16bit.png",
            "png_named_as.jpg",
            "bmp_24bit.bmp",
            "paletted_256.png",
        ] {
            let picture = decode(&read(name), &BAIDU).unwrap_or_else(|e| panic!("{name}: {e}"));
            let diff = mean_abs_diff(&picture, &reference);
            assert!(
                diff < 6.0,
                "{name} differs from the original by {diff} grey levels"
            );
        }
        for name in ["gray_8bit.jpg", "gray_16bit.png"] {
            let picture = decode(&read(name), &BAIDU).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(picture.dimensions(), (250, 250));
            let p = picture.get_pixel(125, 125);
            assert!(p[0] == p[1] && p[1] == p[2], "{name} grey stays grey");
        }
    }

    #[test]
    fn exif_orientation_is_applied() {
        let upright = decode(&read("exif_reference_upright_480x640.jpg"), &BAIDU).expect("decodes");
        for name in [
            "exif_orientation_3.jpg",
            "exif_orientation_6.jpg",
            "exif_orientation_8.jpg",
        ] {
            let picture = decode(&read(name), &BAIDU).expect("decodes");
            assert_eq!(picture.dimensions(), (480, 640), "{name}");
            let diff = mean_abs_diff(&picture, &upright);
            assert!(
                diff < 8.0,
                "{name} differs from the upright reference by {diff}"
            );
        }
    }

    #[test]
    fn refused_inputs_get_their_reason() {
        assert_eq!(decode(&read("empty.jpg"), &BAIDU), Err(DecodeError::Empty));
        assert_eq!(
            decode(&read("gif_single_frame.gif"), &BAIDU),
            Err(DecodeError::Unsupported)
        );
        assert_eq!(
            decode(&read("webp_lossy.webp"), &BAIDU),
            Err(DecodeError::Unsupported)
        );
        assert_eq!(
            decode(&read("not_an_image.jpg"), &BAIDU),
            Err(DecodeError::Unsupported)
        );
        assert!(matches!(
            decode(&read("truncated.jpg"), &BAIDU),
            Err(DecodeError::Corrupt(_))
        ));
        assert!(matches!(
            decode(&read("truncated.png"), &BAIDU),
            Err(DecodeError::Corrupt(_))
        ));
        for name in [
            "size_over_2280x1588_couple.jpg",
            "size_wide_2048x922_group.jpg",
        ] {
            assert!(
                matches!(
                    decode(&read(name), &BAIDU),
                    Err(DecodeError::TooLarge { .. })
                ),
                "{name}"
            );
        }
        let exact = decode(&read("size_1920x1080_couple.jpg"), &BAIDU).expect("at the limit");
        assert_eq!(exact.dimensions(), (1920, 1080));
    }

    #[test]
    fn a_decompression_bomb_is_refused_before_decoding() {
        // A 60000x60000 PNG header with almost no data: the header check must refuse it.
        let mut png = Vec::new();
        let encoder = image::codecs::png::PngEncoder::new(&mut png);
        let small = image::RgbImage::new(1, 1);
        image::ImageEncoder::write_image(
            encoder,
            small.as_raw(),
            1,
            1,
            image::ExtendedColorType::Rgb8,
        )
        .expect("encode");
        // Patch the IHDR width/height (bytes 16..24) to 60000 and fix the chunk's CRC.
        png[16..20].copy_from_slice(&60000u32.to_be_bytes());
        png[20..24].copy_from_slice(&60000u32.to_be_bytes());
        let crc = crc32(&png[12..29]);
        png[29..33].copy_from_slice(&crc.to_be_bytes());
        assert!(matches!(
            decode(&png, &BAIDU),
            Err(DecodeError::TooLarge { .. })
        ));
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &byte in data {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn garbage_never_panics() {
        let original = read("progressive.jpg");
        for cut in (0..original.len()).step_by(97) {
            let _ = decode(&original[..cut], &BAIDU);
        }
        let mut flipped = original.clone();
        for i in (200..flipped.len()).step_by(53) {
            flipped[i] ^= 0x5A;
            let _ = decode(&flipped, &BAIDU);
        }
    }
}
