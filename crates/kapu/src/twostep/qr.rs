//! The set-up QR code as SVG, drawn by kapu (one path of unit squares, a
//! four-module quiet zone), so the page needs no image library and no script.

use qrcode::{Color, EcLevel, QrCode};

/// An SVG image of `text` as a QR code, or `None` if it does not fit one.
pub fn svg(text: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
    let width = code.width();
    let quiet = 4;
    let size = width + 2 * quiet;
    let mut path = String::with_capacity(width * width * 8);
    for (i, color) in code.to_colors().into_iter().enumerate() {
        if color == Color::Dark {
            let (x, y) = (i % width + quiet, i / width + quiet);
            path.push_str(&format!("M{x},{y}h1v1h-1z"));
        }
    }
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" width=\"{px}\" height=\"{px}\" \
         shape-rendering=\"crispEdges\" role=\"img\"><rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/>\
         <path fill=\"#000\" d=\"{path}\"/></svg>",
        px = size * 6
    ))
}

/// The dark modules of an SVG made by [`svg`], as (x, y, size): for tests
/// that decode the picture back.
pub fn modules(svg: &str) -> Option<(usize, Vec<(usize, usize)>)> {
    let size: usize = svg.split("viewBox=\"0 0 ").nth(1)?.split(' ').next()?.parse().ok()?;
    let d = svg.split(" d=\"").nth(1)?.split('"').next()?;
    let mut dark = Vec::new();
    for square in d.split('M').filter(|s| !s.is_empty()) {
        let (x, rest) = square.split_once(',')?;
        let y = rest.split('h').next()?;
        dark.push((x.parse().ok()?, y.parse().ok()?));
    }
    Some((size, dark))
}
