//! Charts drawn on the server as SVG (no script, no build step): what the console shows is in the
//! page itself, prints, and reads the same in every browser.
use crate::domain::text::esc;

/// Tenths of a pixel as SVG text (integer arithmetic, like money: no floats in this codebase).
fn px(tenths: i64) -> String {
    format!("{}.{}", tenths / 10, tenths % 10)
}

/// A line of rates in basis points (0–10000) over labelled points; a missing rate leaves a gap.
pub fn rate_line(title: &str, points: &[(String, Option<i64>)]) -> String {
    // Geometry in tenths of a pixel.
    const W: i64 = 7200;
    const H: i64 = 2200;
    const LEFT: i64 = 480;
    const RIGHT: i64 = 120;
    const TOP: i64 = 120;
    const BOTTOM: i64 = 280;
    let n = i64::try_from(points.len()).unwrap_or(1).max(2);
    let x = |i: usize| LEFT + (W - LEFT - RIGHT) * i64::try_from(i).unwrap_or(0) / (n - 1);
    let y = |bp: i64| TOP + (H - TOP - BOTTOM) * (10_000 - bp.clamp(0, 10_000)) / 10_000;
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"{t}\" xmlns=\"http://www.w3.org/2000/svg\"><title>{t}</title>",
        W / 10,
        H / 10,
        t = esc(title)
    );
    for pct in [0i64, 25, 50, 75, 100] {
        let gy = y(pct * 100);
        svg.push_str(&format!(
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" class=\"grid\"/><text x=\"{}\" y=\"{}\" class=\"axis\" text-anchor=\"end\">{pct}%</text>",
            px(LEFT),
            px(gy),
            px(W - RIGHT),
            px(gy),
            px(LEFT - 60),
            px(gy + 40)
        ));
    }
    // Consecutive known points form one segment each.
    let mut segment: Vec<String> = Vec::new();
    let flush = |segment: &mut Vec<String>, svg: &mut String| {
        if segment.len() > 1 {
            svg.push_str(&format!("<polyline class=\"line\" points=\"{}\"/>", segment.join(" ")));
        }
        segment.clear();
    };
    for (i, (_, r)) in points.iter().enumerate() {
        match r {
            Some(bp) => segment.push(format!("{},{}", px(x(i)), px(y(*bp)))),
            None => flush(&mut segment, &mut svg),
        }
    }
    flush(&mut segment, &mut svg);
    for (i, (label, r)) in points.iter().enumerate() {
        if let Some(bp) = r {
            svg.push_str(&format!(
                "<circle class=\"dot\" cx=\"{}\" cy=\"{}\" r=\"3.5\"><title>{}：{}.{:02}%</title></circle>",
                px(x(i)),
                px(y(*bp)),
                esc(label),
                bp / 100,
                bp % 100
            ));
        }
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" class=\"axis\" text-anchor=\"middle\">{}</text>",
            px(x(i)),
            px(H - 80),
            esc(label.get(2..).unwrap_or(label))
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// Horizontal bars of whole values (counts, minutes, basis points), each labelled with its own text;
/// the longest bar spans the plot.
pub fn bars(title: &str, rows: &[(String, i64, String)]) -> String {
    const W: i64 = 7200;
    const ROW: i64 = 340;
    const LEFT: i64 = 1400;
    const RIGHT: i64 = 1400;
    let h = ROW * i64::try_from(rows.len()).unwrap_or(0) + 200;
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"{t}\" xmlns=\"http://www.w3.org/2000/svg\"><title>{t}</title>",
        W / 10,
        h / 10,
        t = esc(title)
    );
    for (i, (label, value, text)) in rows.iter().enumerate() {
        let top = 100 + ROW * i64::try_from(i).unwrap_or(0);
        let len = (W - LEFT - RIGHT) * (*value).clamp(0, max) / max;
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" class=\"axis\" text-anchor=\"end\">{}</text>\
             <rect class=\"bar\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#0f766e\"><title>{}：{}</title></rect>\
             <text x=\"{}\" y=\"{}\" class=\"axis\">{}</text>",
            px(LEFT - 80),
            px(top + 220),
            esc(label),
            px(LEFT),
            px(top + 40),
            px(len),
            px(ROW - 80),
            esc(label),
            esc(text),
            px(LEFT + len + 80),
            px(top + 220),
            esc(text)
        ));
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_longest_and_say_their_values() {
        let svg = bars(
            "工单<数>",
            &[
                ("投诉".into(), 4, "4件".into()),
                ("报修".into(), 2, "2件".into()),
                ("建议".into(), 0, "0件".into()),
            ],
        );
        assert!(svg.contains("工单&lt;数&gt;"));
        // The plot is 720 − 140 − 140 = 440 px wide: 4 fills it, 2 half of it, 0 nothing.
        assert!(
            svg.contains("width=\"440.0\"") && svg.contains("width=\"220.0\"") && svg.contains("width=\"0.0\""),
            "{svg}"
        );
        assert!(svg.contains("<title>报修：2件</title>"));
    }

    #[test]
    fn points_are_placed_by_rate_and_gaps_stay_gaps() {
        let pts = vec![
            ("2026-08".to_string(), Some(10_000)),
            ("2026-09".to_string(), None),
            ("2026-10".to_string(), Some(5_000)),
            ("2026-11".to_string(), Some(0)),
        ];
        let svg = rate_line("收费率<趋势>", &pts);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("收费率&lt;趋势&gt;"), "titles are escaped");
        // 100 % at the top of the plot (y = 12), 0 % at its bottom (y = 192), 50 % half way.
        assert!(svg.contains("cy=\"12.0\""), "{svg}");
        assert!(svg.contains("cy=\"102.0\"") && svg.contains("cy=\"192.0\""), "{svg}");
        // The unknown month breaks the line: one segment (10-11), the lone August point has none.
        assert_eq!(svg.matches("<polyline").count(), 1, "{svg}");
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(svg.contains("2026-10：50.00%"));
        // Evenly spaced: the last point sits at the right edge of the plot (720 − 12).
        assert!(svg.contains("cx=\"708.0\" cy=\"192.0\""), "{svg}");
    }
}
