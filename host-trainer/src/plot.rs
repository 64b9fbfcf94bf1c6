//! The loss curve as an SVG picture: training and validation loss per epoch, log scale,
//! with the learning rate on its own axis when a schedule changes it.
//!
//! Written by hand: a chart of two lines needs no font files or drawing library.

use std::fmt::Write;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 420.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;

/// An SVG document plotting `loss` and `val_loss` (either may be empty) against the epoch,
/// and the learning rate `lr` of each epoch (dashed, right-hand axis, linear from 0) if it
/// changes.
pub fn loss_curve_svg(title: &str, loss: &[f32], val_loss: &[f32], lr: &[f32]) -> String {
    let epochs = loss.len().max(val_loss.len()).max(2);
    let finite = loss
        .iter()
        .chain(val_loss)
        .copied()
        .filter(|v| v.is_finite() && *v > 0.0);
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(f64::from(v)), hi.max(f64::from(v)))
    });
    let (lo, hi) = if lo.is_finite() {
        (
            lo.log10().floor(),
            hi.log10().ceil().max(lo.log10().floor() + 1.0),
        )
    } else {
        (-3.0, 0.0)
    };
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x_of = |epoch: usize| LEFT + plot_w * (epoch as f64 - 1.0) / (epochs as f64 - 1.0);
    let y_of = |v: f32| TOP + plot_h * (hi - f64::from(v).max(1e-30).log10()) / (hi - lo);
    let mut svg = svg_start(WIDTH, HEIGHT, 12, title, 24, 15);
    let decades = (hi - lo) as i32;
    for d in 0..=decades {
        let exponent = lo as i32 + d;
        let y = TOP + plot_h * f64::from(decades - d) / f64::from(decades);
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/>"##,
            WIDTH - RIGHT
        );
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">1e{exponent}</text>"#,
            LEFT - 6.0,
            y + 4.0
        );
    }
    for k in 0..=4 {
        let epoch = 1 + (epochs - 1) * k / 4;
        let x = x_of(epoch);
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#eee"/>"##,
            HEIGHT - BOTTOM
        );
        let _ = writeln!(
            svg,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{epoch}</text>"#,
            HEIGHT - BOTTOM + 18.0
        );
    }
    let _ = writeln!(
        svg,
        r##"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#444"/>"##
    );
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">epoch</text>"#,
        LEFT + plot_w / 2.0,
        HEIGHT - 12.0
    );
    let _ = writeln!(
        svg,
        r#"<text x="16" y="{:.1}" text-anchor="middle" transform="rotate(-90 16 {:.1})">loss</text>"#,
        TOP + plot_h / 2.0,
        TOP + plot_h / 2.0
    );
    for (values, colour, label, row) in [
        (loss, "#1f77b4", "training", 0),
        (val_loss, "#ff7f0e", "validation", 1),
    ] {
        if !values.is_empty() {
            let style = Style {
                colour,
                width: 1.8,
                dashes: None,
            };
            series(&mut svg, values, &x_of, &y_of, style, label, row);
        }
    }
    if lr.windows(2).any(|w| w[0] != w[1]) {
        plot_learning_rate(&mut svg, lr, x_of, plot_h);
    }
    svg.push_str("</svg>\n");
    svg
}

/// The learning rate as a dashed line over the loss plot, scaled to its own axis on the right
/// (0 to the largest rate).
fn plot_learning_rate(svg: &mut String, lr: &[f32], x_of: impl Fn(usize) -> f64, plot_h: f64) {
    const COLOUR: &str = "#2ca02c";
    let top = lr
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0f32, f32::max);
    if top <= 0.0 {
        return;
    }
    let y_of = |v: f32| TOP + plot_h * (1.0 - f64::from(v / top));
    let style = Style {
        colour: COLOUR,
        width: 1.2,
        dashes: Some("5,3"),
    };
    series(svg, lr, &x_of, &y_of, style, "learning rate", 2);
    let right = WIDTH - RIGHT;
    for (value, y) in [(top, TOP), (0.0, TOP + plot_h)] {
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" fill="{COLOUR}" text-anchor="end">{value:.1e}</text>"#,
            right - 4.0,
            y + if value > 0.0 { 12.0 } else { -4.0 }
        );
    }
}

/// How a series' line is drawn.
#[derive(Clone, Copy)]
struct Style {
    colour: &'static str,
    width: f64,
    dashes: Option<&'static str>,
}

/// One series as a line through its finite values (epoch `i + 1` at `x_of`, value at
/// `y_of`), and its entry in row `row` of the legend with its last value.
fn series(
    svg: &mut String,
    values: &[f32],
    x_of: &dyn Fn(usize) -> f64,
    y_of: &dyn Fn(f32) -> f64,
    style: Style,
    label: &str,
    row: u32,
) {
    let Style {
        colour,
        width,
        dashes,
    } = style;
    let dash = dashes
        .map(|d| format!(r#" stroke-dasharray="{d}""#))
        .unwrap_or_default();
    let points: Vec<String> = values
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .map(|(i, &v)| format!("{:.1},{:.1}", x_of(i + 1), y_of(v)))
        .collect();
    let _ = writeln!(
        svg,
        r#"<polyline fill="none" stroke="{colour}" stroke-width="{width}"{dash} points="{}"/>"#,
        points.join(" ")
    );
    let y = TOP + 16.0 + 18.0 * f64::from(row);
    let x = WIDTH - RIGHT - 150.0;
    let _ = writeln!(
        svg,
        r#"<line x1="{x}" y1="{y}" x2="{}" y2="{y}" stroke="{colour}" stroke-width="2"{dash}/>"#,
        x + 24.0
    );
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}">{label} ({:.3e})</text>"#,
        x + 30.0,
        y + 4.0,
        values[values.len() - 1]
    );
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Horizontal bars of each feature's permutation importance and saliency (each scaled to
/// its own maximum), most important first; at most `max_rows` features.
pub fn importance_bars_svg(
    title: &str,
    explanation: &crate::explain::Explanation,
    max_rows: usize,
) -> String {
    let rows: Vec<_> = explanation.features.iter().take(max_rows).collect();
    let row_h = 18.0;
    let label_w = 150.0;
    let bar_w = 220.0;
    let width = label_w + 2.0 * bar_w + 60.0;
    let height = TOP + 30.0 + row_h * rows.len() as f64 + 20.0;
    let max_perm = rows
        .iter()
        .map(|f| f64::from(f.permutation))
        .fold(1e-12, f64::max);
    let max_sal = rows.iter().map(|f| f64::from(f.saliency)).fold(1e-12, f64::max);
    let mut svg = svg_start(width, height, 11, title, 22, 14);
    let header_y = TOP + 10.0;
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{header_y}">permutation: drop in {}</text><text x="{:.1}" y="{header_y}">saliency: mean |dL/dx|</text>"#,
        label_w,
        explanation.metric,
        label_w + bar_w + 30.0
    );
    for (i, f) in rows.iter().enumerate() {
        let y = TOP + 22.0 + row_h * i as f64;
        let perm = (f64::from(f.permutation).max(0.0) / max_perm) * (bar_w - 10.0);
        let sal = (f64::from(f.saliency) / max_sal) * (bar_w - 10.0);
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            label_w - 6.0,
            y + 12.0,
            escape(&f.feature)
        );
        let _ = writeln!(
            svg,
            r##"<rect x="{label_w}" y="{y:.1}" width="{perm:.1}" height="{:.1}" fill="#1f77b4"/>"##,
            row_h - 4.0
        );
        let _ = writeln!(
            svg,
            r##"<rect x="{:.1}" y="{y:.1}" width="{sal:.1}" height="{:.1}" fill="#ff7f0e"/>"##,
            label_w + bar_w + 30.0,
            row_h - 4.0
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// A `side` x `side` heat map of `values` (row-major, e.g. the 8x8 digits pixels), darker is
/// larger.
pub fn heatmap_svg(title: &str, values: &[f32], side: usize) -> String {
    let cell = 40.0;
    let size = cell * side as f64;
    let (width, height) = (size + 40.0, size + 70.0);
    let max = values.iter().copied().fold(1e-12f32, f32::max);
    let mut svg = svg_start(width, height, 12, title, 22, 14);
    for (i, &v) in values.iter().enumerate().take(side * side) {
        let (r, c) = (i / side, i % side);
        let shade = 255.0 - 255.0 * f64::from((v / max).clamp(0.0, 1.0));
        let _ = writeln!(
            svg,
            r##"<rect x="{:.1}" y="{:.1}" width="{cell}" height="{cell}" fill="rgb({shade:.0},{shade:.0},255)" stroke="#ccc"/>"##,
            20.0 + cell * c as f64,
            40.0 + cell * r as f64
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// An SVG document's opening: the `<svg>` element, a white background and a centred title
/// at height `title_y`.
fn svg_start(width: f64, height: f64, font_size: u32, title: &str, title_y: u32, title_size: u32) -> String {
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="{font_size}">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{title_y}" text-anchor="middle" font-size="{title_size}">{}</text>"#,
        width / 2.0,
        escape(title)
    );
    svg
}

/// One network on [`pareto_svg`]'s chart.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ParetoPoint {
    /// Instructions per inference (x, log scale).
    pub instructions: f64,
    /// Its score (y).
    pub score: f64,
    /// On the Pareto front (drawn filled and joined).
    pub on_front: bool,
    /// The network chosen (ringed).
    pub chosen: bool,
    /// An int8 network (drawn as a square; f32 as a circle).
    pub int8: bool,
}

/// The search's networks as a scatter of score against instructions per inference (log
/// scale): every network evaluated, the front joined by a line, the chosen one ringed, and
/// the instruction budget as a dashed vertical line.
pub fn pareto_svg(title: &str, score_name: &str, points: &[ParetoPoint], budget: Option<f64>) -> String {
    let xs = points.iter().map(|p| p.instructions.max(1.0)).chain(budget);
    let (x_lo, x_hi) = xs.fold((f64::INFINITY, 1.0f64), |(lo, hi), x| (lo.min(x), hi.max(x)));
    let (x_lo, x_hi) = if x_lo.is_finite() {
        (
            x_lo.log10().floor(),
            x_hi.log10().ceil().max(x_lo.log10().floor() + 1.0),
        )
    } else {
        (0.0, 1.0)
    };
    let scores = points.iter().map(|p| p.score).filter(|s| s.is_finite());
    let (y_lo, y_hi) = scores.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), s| {
        (lo.min(s), hi.max(s))
    });
    let (y_lo, y_hi) = if y_lo.is_finite() && y_hi > y_lo {
        (y_lo, y_hi)
    } else if y_lo.is_finite() {
        (y_lo - 0.5, y_lo + 0.5)
    } else {
        (0.0, 1.0)
    };
    let pad = 0.05 * (y_hi - y_lo);
    let (y_lo, y_hi) = (y_lo - pad, y_hi + pad);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x_of = |x: f64| LEFT + plot_w * (x.max(1.0).log10() - x_lo) / (x_hi - x_lo);
    let y_of = |y: f64| TOP + plot_h * (y_hi - y) / (y_hi - y_lo);
    let mut svg = svg_start(WIDTH, HEIGHT, 12, title, 24, 15);
    for d in 0..=(x_hi - x_lo) as i32 {
        let x = x_of(10f64.powi(x_lo as i32 + d));
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#ddd"/>"##,
            HEIGHT - BOTTOM
        );
        let _ = writeln!(
            svg,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">1e{}</text>"#,
            HEIGHT - BOTTOM + 16.0,
            x_lo as i32 + d
        );
    }
    for k in 0..=4 {
        let value = y_lo + (y_hi - y_lo) * f64::from(k) / 4.0;
        let y = y_of(value);
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#eee"/>"##,
            WIDTH - RIGHT
        );
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{value:.4}</text>"#,
            LEFT - 6.0,
            y + 4.0
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">instructions per inference (predicted)</text>"#,
        LEFT + plot_w / 2.0,
        HEIGHT - 12.0
    );
    let _ = writeln!(
        svg,
        r#"<text x="16" y="{:.1}" text-anchor="middle" transform="rotate(-90 16 {:.1})">{}</text>"#,
        TOP + plot_h / 2.0,
        TOP + plot_h / 2.0,
        escape(score_name)
    );
    if let Some(budget) = budget {
        let x = x_of(budget);
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#c00" stroke-dasharray="6 4"/>"##,
            HEIGHT - BOTTOM
        );
        let _ = writeln!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" fill="#c00">budget</text>"##,
            x + 4.0,
            TOP + 14.0
        );
    }
    let mut front: Vec<&ParetoPoint> = points.iter().filter(|p| p.on_front).collect();
    front.sort_by(|a, b| a.instructions.total_cmp(&b.instructions));
    let line: Vec<String> = front
        .iter()
        .map(|p| format!("{:.1},{:.1}", x_of(p.instructions), y_of(p.score)))
        .collect();
    let _ = writeln!(
        svg,
        r##"<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="{}"/>"##,
        line.join(" ")
    );
    for p in points {
        let (x, y) = (x_of(p.instructions), y_of(p.score));
        let fill = if p.on_front { "#1f77b4" } else { "none" };
        let stroke = if p.int8 { "#ff7f0e" } else { "#1f77b4" };
        if p.int8 {
            let _ = writeln!(
                svg,
                r#"<rect x="{:.1}" y="{:.1}" width="7" height="7" fill="{fill}" stroke="{stroke}"/>"#,
                x - 3.5,
                y - 3.5
            );
        } else {
            let _ = writeln!(
                svg,
                r#"<circle cx="{x:.1}" cy="{y:.1}" r="3.5" fill="{fill}" stroke="{stroke}"/>"#
            );
        }
        if p.chosen {
            let _ = writeln!(
                svg,
                r##"<circle cx="{x:.1}" cy="{y:.1}" r="9" fill="none" stroke="#c00" stroke-width="2"/>"##
            );
        }
    }
    let legend = [
        "circle: f32, square: int8",
        "filled: on the Pareto front",
        "ringed: chosen",
    ];
    for (row, text) in legend.iter().enumerate() {
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}">{text}</text>"#,
            LEFT + 10.0,
            HEIGHT - BOTTOM - 42.0 + 16.0 * row as f64
        );
    }
    svg.push_str("</svg>\n");
    svg
}
