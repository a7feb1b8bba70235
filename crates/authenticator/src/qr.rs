//! QR codes: reading them from a PNG or JPEG (the screenshot the guides tell
//! citizens to keep, or a phone photo of a screen), and drawing one in the
//! terminal to set up another device.
//!
//! Decoding is `image` (PNG, JPEG, GIF, WebP, BMP) and `rqrr`. A crisp
//! screenshot decodes at once. What citizens actually have is harder: kapu's
//! set-up page draws the code at 200 CSS pixels (3.8 pixels a module,
//! pixelated), and a screenshot of it scaled to 90 % ... 60 %, compressed as
//! JPEG, taken on a HiDPI screen, rotated, photographed at an angle or with
//! low contrast, leaves modules of 2-4 blurred pixels that `rqrr`'s own
//! thresholding misses. So variants are tried in turn, cheapest and most
//! often right first, until one yields a code: enlarged 2× (bilinear) and
//! thresholded at Otsu's level; thresholded and enlarged; enlarged alone or
//! 3× (nearest); contrast stretched; 3× and 2.5× (bilinear) and thresholded
//! (modules that fall between pixels at 65-70 %); inverted (dark mode); shrunk and
//! smoothed (large noisy photos). The QR corpus (scripts/qr-corpus) measures
//! the result against zbarimg.

use std::io::Cursor;

use image::{GrayImage, ImageFormat, ImageReader, Limits, imageops};
use qrcode::{Color as Module, QrCode};
use zeroize::Zeroizing;

/// The largest width or height decoded.
const MAX_SIDE: u32 = 12_000;

/// Why no QR code text came out of an image.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    /// Not a PNG, JPEG, GIF, WebP or BMP.
    #[error("the file is not a PNG, JPEG, GIF, WebP or BMP image")]
    NotAnImage,
    /// An image that does not decode.
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

/// Whether `bytes` start like a PNG, JPEG, GIF, WebP or BMP image.
#[must_use]
pub fn is_image(bytes: &[u8]) -> bool {
    format(bytes).is_some()
}

fn format(bytes: &[u8]) -> Option<ImageFormat> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageFormat::Png)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageFormat::Jpeg)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(ImageFormat::Gif)
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some(ImageFormat::WebP)
    } else if bytes.len() >= 26 && bytes.starts_with(b"BM") {
        Some(ImageFormat::Bmp)
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

/// Enlarged images are kept below this many pixels (memory and time).
const MAX_WORK_PIXELS: u64 = 24_000_000;

fn resized(image: &GrayImage, factor: f64, filter: imageops::FilterType) -> Option<GrayImage> {
    let w = (f64::from(image.width()) * factor).round().max(1.0);
    let h = (f64::from(image.height()) * factor).round().max(1.0);
    if w * h > MAX_WORK_PIXELS as f64 {
        return None;
    }
    // Bounded by MAX_WORK_PIXELS above, so the casts cannot truncate.
    Some(imageops::resize(image, w as u32, h as u32, filter))
}

/// Otsu's threshold: the grey level that best splits the histogram in two.
fn otsu_level(image: &GrayImage) -> u8 {
    let mut histogram = [0u64; 256];
    for p in image.pixels() {
        histogram[usize::from(p.0[0])] += 1;
    }
    let total = image.pixels().len() as f64;
    let sum: f64 = histogram.iter().enumerate().map(|(i, &c)| i as f64 * c as f64).sum();
    let (mut weight_below, mut sum_below, mut best, mut level) = (0.0, 0.0, -1.0, 128u8);
    for (i, &count) in histogram.iter().enumerate() {
        weight_below += count as f64;
        let weight_above = total - weight_below;
        if weight_below == 0.0 || weight_above == 0.0 {
            continue;
        }
        sum_below += i as f64 * count as f64;
        let mean_below = sum_below / weight_below;
        let mean_above = (sum - sum_below) / weight_above;
        let between = weight_below * weight_above * (mean_below - mean_above).powi(2);
        if between > best {
            best = between;
            level = u8::try_from(i).unwrap_or(u8::MAX);
        }
    }
    level
}

fn thresholded(image: &GrayImage) -> GrayImage {
    let level = otsu_level(image);
    let mut out = image.clone();
    for p in out.pixels_mut() {
        p.0[0] = if p.0[0] > level { 255 } else { 0 };
    }
    out
}

/// The darkest pixel becomes black and the lightest white.
fn stretched(image: &GrayImage) -> GrayImage {
    let (lo, hi) = image.pixels().fold((u8::MAX, u8::MIN), |(lo, hi), p| (lo.min(p.0[0]), hi.max(p.0[0])));
    let range = f32::from(hi.saturating_sub(lo)).max(1.0);
    let mut out = image.clone();
    for p in out.pixels_mut() {
        // (p - lo) * 255 / range is within 0..=255.
        p.0[0] = (f32::from(p.0[0].saturating_sub(lo)) * 255.0 / range) as u8;
    }
    out
}

fn shrunk_and_smoothed(image: &GrayImage) -> Option<GrayImage> {
    let long = image.width().max(image.height());
    if long <= 1200 {
        return None;
    }
    resized(image, 1000.0 / f64::from(long), imageops::FilterType::Triangle).map(|small| imageops::blur(&small, 1.0))
}

/// The variants tried, in order (see the module documentation). A mostly
/// dark picture (a dark-mode screen) is inverted first, so that the common
/// variants work on dark modules on a light ground.
fn variants(image: &GrayImage) -> Vec<Box<dyn Fn() -> Option<GrayImage> + '_>> {
    use imageops::FilterType::{Nearest, Triangle};
    let pixels = image.pixels().len().max(1) as u64;
    let mean = image.pixels().map(|p| u64::from(p.0[0])).sum::<u64>() / pixels;
    let dark = mean < 100;
    let base = move || {
        let mut i = image.clone();
        if dark {
            imageops::invert(&mut i);
        }
        i
    };
    let other = move || {
        let mut i = image.clone();
        if !dark {
            imageops::invert(&mut i);
        }
        i
    };
    vec![
        Box::new(move || Some(base())),
        Box::new(move || resized(&base(), 2.0, Triangle).map(|i| thresholded(&i))),
        Box::new(move || resized(&thresholded(&base()), 2.0, Nearest)),
        Box::new(move || resized(&base(), 2.0, Triangle)),
        Box::new(move || resized(&base(), 3.0, Nearest)),
        Box::new(move || Some(thresholded(&stretched(&base())))),
        Box::new(move || resized(&base(), 1.5, Triangle)),
        // Larger, smoothed and thresholded: screenshots scaled to 65–70 %,
        // whose modules fall between pixels differently with each layout.
        Box::new(move || resized(&base(), 3.0, Triangle).map(|i| thresholded(&i))),
        Box::new(move || resized(&base(), 2.5, Triangle).map(|i| thresholded(&i))),
        Box::new(move || Some(other())),
        Box::new(move || resized(&other(), 2.0, Triangle).map(|i| thresholded(&i))),
        Box::new(move || shrunk_and_smoothed(&base())),
        Box::new(move || resized(&base(), 0.5, Triangle)),
    ]
}

/// The texts of the QR codes in an image (PNG, JPEG, GIF, WebP, BMP), in
/// the order found (duplicates removed). They may contain secrets: wiped
/// when dropped.
pub fn decode(bytes: &[u8]) -> Result<Vec<Zeroizing<String>>, QrError> {
    let image = load_gray(bytes)?;
    let mut seen = false;
    let mut found = None;
    for variant in variants(&image) {
        let Some(candidate) = variant() else { continue };
        match scan(&candidate) {
            Ok(texts) => {
                found = Some(texts);
                break;
            }
            Err(grid_seen) => seen |= grid_seen,
        }
    }
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
