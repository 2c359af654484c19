//! A small dependency-free SVG writer for grouped bar charts: one group per case, one bar per
//! runtime, a value label on each bar.

use std::fmt::Write;

/// Fill colour of each runtime's bars, in the order of the legend.
const COLORS: &[&str] = &[
    "#d9480f", "#1971c2", "#2f9e44", "#5f3dc4", "#868e96", "#e67700",
];

/// One chart panel.
pub struct Panel<'a> {
    pub title: &'a str,
    /// Formats a value for its bar label.
    pub label: fn(f64) -> String,
    /// (group name, one value per series; `None` where the case did not run).
    pub groups: Vec<(String, Vec<Option<f64>>)>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A "nice" axis step (1, 2, 2.5 or 5 times a power of ten) giving about `ticks` ticks up to
/// `max`.
fn nice_step(max: f64, ticks: f64) -> f64 {
    let raw = (max / ticks).max(f64::MIN_POSITIVE);
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let m = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 2.5 {
        2.5
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    m * mag
}

fn fmt_tick(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Renders `panels` stacked vertically under a title and a legend of `series`.
pub fn chart(title: &str, subtitle: &str, series: &[&str], panels: &[Panel<'_>]) -> String {
    const WIDTH: f64 = 980.0;
    const PANEL_H: f64 = 300.0;
    const LEFT: f64 = 70.0;
    const RIGHT: f64 = 20.0;
    let top = 86.0;
    let height = top + PANEL_H * panels.len() as f64 + 10.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="Helvetica, Arial, sans-serif">"#
    );
    let _ = writeln!(s, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##);
    let _ = writeln!(
        s,
        r#"<text x="{LEFT}" y="26" font-size="18" font-weight="bold">{}</text>"#,
        esc(title)
    );
    let _ = writeln!(
        s,
        r##"<text x="{LEFT}" y="46" font-size="12" fill="#495057">{}</text>"##,
        esc(subtitle)
    );
    // Legend.
    let mut lx = LEFT;
    for (i, name) in series.iter().enumerate() {
        let c = COLORS[i % COLORS.len()];
        let _ = writeln!(
            s,
            r#"<rect x="{lx}" y="58" width="14" height="14" fill="{c}"/><text x="{}" y="70" font-size="13">{}</text>"#,
            lx + 19.0,
            esc(name)
        );
        lx += 30.0 + 8.0 * name.len() as f64 + 12.0;
    }

    for (pi, panel) in panels.iter().enumerate() {
        let y0 = top + PANEL_H * pi as f64;
        let plot_top = y0 + 30.0;
        let plot_bottom = y0 + PANEL_H - 46.0;
        let plot_h = plot_bottom - plot_top;
        let plot_w = WIDTH - LEFT - RIGHT;
        let _ = writeln!(
            s,
            r#"<text x="{LEFT}" y="{}" font-size="14" font-weight="bold">{}</text>"#,
            y0 + 16.0,
            esc(panel.title)
        );
        let max = panel
            .groups
            .iter()
            .flat_map(|(_, v)| v.iter().flatten())
            .fold(0.0f64, |a, &b| a.max(b));
        let step = nice_step(if max > 0.0 { max * 1.12 } else { 1.0 }, 5.0);
        let ymax = (max * 1.12 / step).ceil().max(1.0) * step;
        let ypos = |v: f64| plot_bottom - v / ymax * plot_h;
        let mut t = 0.0;
        while t <= ymax + step * 1e-9 {
            let y = ypos(t);
            let _ = writeln!(
                s,
                r##"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#dee2e6"/><text x="{}" y="{:.1}" font-size="11" text-anchor="end" fill="#495057">{}</text>"##,
                LEFT + plot_w,
                LEFT - 6.0,
                y + 4.0,
                fmt_tick(t)
            );
            t += step;
        }
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" x2="{}" y1="{plot_bottom}" y2="{plot_bottom}" stroke="#343a40"/>"##,
            LEFT + plot_w
        );
        let groups = panel.groups.len().max(1) as f64;
        let gw = plot_w / groups;
        let nbars = series.len().max(1) as f64;
        let bw = (gw * 0.8 / nbars).min(40.0);
        for (gi, (name, values)) in panel.groups.iter().enumerate() {
            let gx = LEFT + gw * gi as f64;
            let start = gx + (gw - bw * nbars) / 2.0;
            for (bi, v) in values.iter().enumerate() {
                let x = start + bw * bi as f64;
                let c = COLORS[bi % COLORS.len()];
                match v {
                    Some(v) => {
                        let y = ypos(*v);
                        let _ = writeln!(
                            s,
                            r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{c}"><title>{} {}: {}</title></rect>"#,
                            bw - 2.0,
                            (plot_bottom - y).max(0.0),
                            esc(name),
                            esc(series.get(bi).copied().unwrap_or("")),
                            (panel.label)(*v)
                        );
                        let _ = writeln!(
                            s,
                            r#"<text x="{:.1}" y="{:.1}" font-size="8" text-anchor="middle">{}</text>"#,
                            x + (bw - 2.0) / 2.0,
                            y - 3.0,
                            (panel.label)(*v)
                        );
                    }
                    None => {
                        let _ = writeln!(
                            s,
                            r##"<text x="{:.1}" y="{:.1}" font-size="9" text-anchor="middle" fill="#adb5bd">n/a</text>"##,
                            x + (bw - 2.0) / 2.0,
                            plot_bottom - 3.0
                        );
                    }
                }
            }
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle">{}</text>"#,
                gx + gw / 2.0,
                plot_bottom + 18.0,
                esc(name)
            );
        }
    }
    s.push_str("</svg>\n");
    s
}
