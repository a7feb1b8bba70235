//! QR codes: reading them from a PNG or JPEG (the screenshot the guides tell
//! citizens to keep, or a phone photo of a screen), and drawing one in the
//! terminal to set up another device.
//!
//! Decoding is `image` (PNG and JPEG only) and `rqrr`. A screenshot usually
//! decodes at once; otherwise a few cheap variants are tried in turn
//! (inverted for dark-mode screens, downscaled and smoothed for large noisy
//! photos), and the first that yields a code wins.

use std::io::Cursor;

use image::{GrayImage, ImageFormat, ImageReader, Limits, imageops};
use qrcode::{Color as Module, QrCode};
use zeroize::Zeroizing;

/// The largest width or height decoded.
const MAX_SIDE: u32 = 12_000;

/// Why no QR code text came out of an image.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    /// Not a PNG or JPEG.
    #[error("the file is not a PNG or JPEG image")]
    NotAnImage,
    /// A PNG or JPEG that does not decode.
    #[error("the image cannot be read: {0}")]
    Unreadable(String),
    /// Larger than we are willing to decode.
    #[error("the image is too large (at most {MAX_SIDE} × {MAX_SIDE} pixels)")]
    TooLarge,
    /// No QR code found anywhere in it.
    #[error("no QR code was found in the image")]
    NoQrCode,
    /// A QR code was seen but not read.
    #[error("a QR code was found in the image but could not be read (too blurry, cut off or damaged)")]
    Undecodable,
    /// The text is too long for a QR code.
    #[error("the text is too long for a QR code")]
    TooLong,
}

/// Whether `bytes` start like a PNG or a JPEG.
#[must_use]
pub fn is_image(bytes: &[u8]) -> bool {
    format(bytes).is_some()
}

fn format(bytes: &[u8]) -> Option<ImageFormat> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageFormat::Png)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageFormat::Jpeg)
    } else {
        None
    }
}

fn load_gray(bytes: &[u8]) -> Result<GrayImage, QrError> {
    let format = format(bytes).ok_or(QrError::NotAnImage)?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    reader.limits(limits);
    let image = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => QrError::TooLarge,
        other => QrError::Unreadable(other.to_string()),
    })?;
    Ok(image.to_luma8())
}

/// Every QR code found in `image`, decoded; `Err(true)` if codes were seen
/// but none decoded, `Err(false)` if none were seen.
fn scan(image: &GrayImage) -> Result<Vec<Zeroizing<String>>, bool> {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
        // x < w and y < h, which came from u32 values.
        image.get_pixel(x as u32, y as u32).0[0]
    });
    let grids = prepared.detect_grids();
    let mut texts = Vec::new();
    for grid in &grids {
        let mut out = Zeroizing::new(Vec::new());
        if grid.decode_to(&mut *out).is_ok()
            && let Ok(text) = std::str::from_utf8(&out)
        {
            texts.push(Zeroizing::new(text.to_owned()));
        }
    }
    if texts.is_empty() { Err(!grids.is_empty()) } else { Ok(texts) }
}

/// The texts of the QR codes in a PNG or JPEG image, in the order found
/// (duplicates removed). They may contain secrets: wiped when dropped.
pub fn decode(bytes: &[u8]) -> Result<Vec<Zeroizing<String>>, QrError> {
    let image = load_gray(bytes)?;
    let mut seen = false;
    let mut attempt = |img: &GrayImage| -> Option<Vec<Zeroizing<String>>> {
        match scan(img) {
            Ok(texts) => Some(texts),
            Err(found) => {
                seen |= found;
                None
            }
        }
    };
    let found = attempt(&image)
        .or_else(|| {
            let mut inverted = image.clone();
            imageops::invert(&mut inverted);
            attempt(&inverted)
        })
        .or_else(|| {
            // Photos: shrink to about 1000 pixels and smooth, which removes
            // sensor noise and JPEG blocks before thresholding.
            let long = image.width().max(image.height());
            let scale = 1000.0 / f64::from(long.max(1));
            let w = ((f64::from(image.width()) * scale) as u32).max(1);
            let h = ((f64::from(image.height()) * scale) as u32).max(1);
            let smaller = imageops::resize(&image, w, h, imageops::FilterType::Triangle);
            attempt(&imageops::blur(&smaller, 1.0))
        });
    match found {
        Some(mut texts) => {
            let mut unique: Vec<Zeroizing<String>> = Vec::with_capacity(texts.len());
            for t in texts.drain(..) {
                if !unique.iter().any(|u| **u == *t) {
                    unique.push(t);
                }
            }
            Ok(unique)
        }
        None if seen => Err(QrError::Undecodable),
        None => Err(QrError::NoQrCode),
    }
}

/// The dark/light modules of the QR code for `text`, with a quiet zone of
/// `margin` modules, row by row, and the side length.
pub fn modules(text: &str, margin: usize) -> Result<(Vec<bool>, usize), QrError> {
    let code = QrCode::new(text.as_bytes()).map_err(|_| QrError::TooLong)?;
    let width = code.width();
    let colors = code.to_colors();
    let side = width + 2 * margin;
    let mut grid = vec![false; side * side];
    for y in 0..width {
        for x in 0..width {
            grid[(y + margin) * side + x + margin] = colors[y * width + x] == Module::Dark;
        }
    }
    Ok((grid, side))
}

/// Draws the QR code of `text` with Unicode half blocks (two module rows per
/// text line), with the quiet zone scanners need. With `ansi`, each line is
/// painted black on white so the code scans on dark and light terminal
/// themes alike; without, the block characters are the dark modules.
pub fn render_terminal(text: &str, ansi: bool) -> Result<Zeroizing<String>, QrError> {
    let (grid, side) = modules(text, 2)?;
    let dark = |x: usize, y: usize| y < side && grid[y * side + x];
    let mut out = Zeroizing::new(String::with_capacity((side + 16) * (side / 2 + 1) * 3));
    for y in (0..side).step_by(2) {
        if ansi {
            out.push_str("\x1b[30;107m");
        }
        for x in 0..side {
            out.push(match (dark(x, y), dark(x, y + 1)) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        if ansi {
            out.push_str("\x1b[0m");
        }
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use image::{ImageEncoder, Luma};

    use super::*;

    fn png(img: &GrayImage) -> Vec<u8> {
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(img.as_raw(), img.width(), img.height(), image::ExtendedColorType::L8)
            .unwrap();
        out
    }

    fn rendered(text: &str, scale: u32) -> GrayImage {
        let (grid, side) = modules(text, 4).unwrap();
        let side = side as u32;
        GrayImage::from_fn(side * scale, side * scale, |x, y| {
            Luma([if grid[((y / scale) * side + x / scale) as usize] { 0 } else { 255 }])
        })
    }

    #[test]
    fn round_trip_and_dark_mode() {
        let uri = "otpauth://totp/kapu:imre?secret=JBSWY3DPEHPK3PXP&issuer=kapu";
        let img = rendered(uri, 6);
        assert_eq!(decode(&png(&img)).unwrap().iter().map(|t| t.as_str()).collect::<Vec<_>>(), [uri]);
        let mut dark = img;
        imageops::invert(&mut dark);
        assert_eq!(decode(&png(&dark)).unwrap()[0].as_str(), uri);
    }

    #[test]
    fn errors() {
        assert_eq!(decode(b"hello"), Err(QrError::NotAnImage));
        assert!(matches!(decode(b"\x89PNG\r\n\x1a\n broken"), Err(QrError::Unreadable(_))));
        let blank = GrayImage::from_pixel(300, 200, Luma([255]));
        assert_eq!(decode(&png(&blank)), Err(QrError::NoQrCode));
        assert_eq!(QrError::NoQrCode.to_string(), "no QR code was found in the image");
    }

    #[test]
    fn terminal_rendering_is_the_code() {
        let text = "otpauth://totp/x?secret=GEZDGNBVGY3TQOJQ";
        let plain = render_terminal(text, false).unwrap();
        let (grid, side) = modules(text, 2).unwrap();
        let lines: Vec<&str> = plain.lines().collect();
        assert_eq!(lines.len(), side.div_ceil(2));
        for (row, line) in lines.iter().enumerate() {
            for (x, c) in line.chars().enumerate() {
                let top = grid[2 * row * side + x];
                let bottom = 2 * row + 1 < side && grid[(2 * row + 1) * side + x];
                assert_eq!(matches!(c, '█' | '▀'), top);
                assert_eq!(matches!(c, '█' | '▄'), bottom);
            }
        }
        let ansi = render_terminal(text, true).unwrap();
        assert!(ansi.starts_with("\x1b[30;107m") && ansi.contains("\x1b[0m\n"));
    }
}
