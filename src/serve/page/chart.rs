//! Line charts drawn on the server as inline SVG, pure: no script draws them and nothing is
//! loaded from elsewhere (validators are often air-gapped). A line breaks where points are missing
//! (a machine that was off), and a lone point shows as a dot.

use super::html::escape;

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 170.0;
/// Room for the value labels on the left and the time labels below.
const LEFT: f64 = 84.0;
const BOTTOM: f64 = 22.0;
const TOP: f64 = 8.0;

/// One line: its points as (Unix ms, value); `None` is a point the data does not have.
pub struct Series {
    pub name: &'static str,
    pub color: &'static str,
    pub points: Vec<(i64, Option<f64>)>,
}

/// How values read on the chart's axis and caption.
#[derive(Clone, Copy)]
pub enum Unit {
    Percent,
    BytesPerSecond,
    Count,
    Milliseconds,
    /// 0 or 1, drawn as steps, read as no/yes.
    YesNo,
}

impl Unit {
    pub fn show(self, value: f64) -> String {
        match self {
            Unit::Percent => format!("{value:.1} %"),
            Unit::BytesPerSecond => bytes_per_second(value),
            Unit::Count => format!("{}", value.round()),
            Unit::Milliseconds => milliseconds(value),
            Unit::YesNo if value >= 0.5 => "yes".into(),
            Unit::YesNo => "no".into(),
        }
    }

    /// The axis's fixed range, when the unit has one.
    fn range(self) -> Option<(f64, f64)> {
        match self {
            Unit::Percent => Some((0.0, 100.0)),
            Unit::YesNo => Some((0.0, 1.0)),
            Unit::BytesPerSecond | Unit::Count | Unit::Milliseconds => None,
        }
    }
}

/// A duration in ms as people read it: `310 ms`, `1.2 s`.
pub fn milliseconds(value: f64) -> String {
    if value.abs() < 1000.0 {
        format!("{value:.0} ms")
    } else {
        format!("{:.1} s", value / 1000.0)
    }
}

fn bytes_per_second(value: f64) -> String {
    const STEPS: [&str; 4] = ["B/s", "KB/s", "MB/s", "GB/s"];
    let mut value = value;
    let mut step = 0;
    while value.abs() >= 1000.0 && step + 1 < STEPS.len() {
        value /= 1000.0;
        step += 1;
    }
    format!("{value:.1} {}", STEPS[step])
}

pub struct Chart {
    /// The figure's id (`chart-ID`).
    pub id: &'static str,
    pub title: &'static str,
    pub unit: Unit,
    pub series: Vec<Series>,
    /// The window shown, Unix ms.
    pub since_ms: i64,
    pub until_ms: i64,
    /// Points further apart than this are not joined.
    pub gap_ms: i64,
    /// Under the left, middle and right of the time axis.
    pub time_labels: [&'static str; 3],
}

impl Chart {
    /// The chart as a `<figure>`: a caption with each line's newest value, then the SVG, or a
    /// note that the window holds nothing.
    pub fn render(&self) -> String {
        let values = || {
            self.series
                .iter()
                .flat_map(|series| series.points.iter().filter_map(|(_, value)| *value))
        };
        let mut caption = escape(self.title);
        for series in &self.series {
            if let Some(value) = series.points.iter().rev().find_map(|(_, value)| *value) {
                caption.push_str(&format!(
                    // A swatch, not a style attribute: the page's CSP allows no inline styles.
                    " <span><svg class=\"swatch\" viewBox=\"0 0 10 10\" aria-hidden=\"true\">\
                     <rect width=\"10\" height=\"10\" fill=\"{}\"/></svg>{}: {}</span>",
                    series.color,
                    escape(series.name),
                    escape(&self.unit.show(value))
                ));
            }
        }
        let id = self.id;
        if values().next().is_none() {
            return format!(
                "<figure class=\"chart\" id=\"chart-{id}\"><figcaption>{caption}</figcaption>\
                 <p class=\"muted\">No data in this window.</p></figure>"
            );
        }
        let (low, high) = self.unit.range().unwrap_or_else(|| {
            let low = match self.unit {
                // A rate's or a delay's axis starts at nothing, so that a small one looks small.
                Unit::BytesPerSecond | Unit::Milliseconds => 0.0,
                _ => values().fold(f64::INFINITY, f64::min),
            };
            let high = values().fold(f64::NEG_INFINITY, f64::max);
            if high > low {
                (low, high)
            } else {
                (low - 1.0, high + 1.0)
            }
        });
        let span_ms = (self.until_ms - self.since_ms).max(1) as f64;
        let x = |ms: i64| LEFT + (ms - self.since_ms) as f64 / span_ms * (WIDTH - LEFT);
        let y = |value: f64| {
            let share = ((value - low) / (high - low)).clamp(0.0, 1.0);
            TOP + (1.0 - share) * (HEIGHT - TOP - BOTTOM)
        };
        let bottom = HEIGHT - BOTTOM;
        let mut svg = format!(
            "<svg viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"{}\">\
             <line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{WIDTH}\" y2=\"{TOP}\" class=\"grid\"/>\
             <line x1=\"{LEFT}\" y1=\"{bottom}\" x2=\"{WIDTH}\" y2=\"{bottom}\" class=\"grid\"/>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\
             <text x=\"{}\" y=\"{bottom}\" text-anchor=\"end\">{}</text>",
            escape(self.title),
            LEFT - 4.0,
            TOP + 10.0,
            escape(&self.unit.show(high)),
            LEFT - 4.0,
            escape(&self.unit.show(low)),
        );
        for (label, at, anchor) in [
            (self.time_labels[0], LEFT, "start"),
            (self.time_labels[1], (LEFT + WIDTH) / 2.0, "middle"),
            (self.time_labels[2], WIDTH, "end"),
        ] {
            svg.push_str(&format!(
                "<text x=\"{at}\" y=\"{}\" text-anchor=\"{anchor}\">{}</text>",
                HEIGHT - 4.0,
                escape(label)
            ));
        }
        let step = matches!(self.unit, Unit::YesNo);
        for series in &self.series {
            for run in runs(&series.points, self.gap_ms) {
                let color = series.color;
                if let [(ms, value)] = run.as_slice() {
                    svg.push_str(&format!(
                        "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2\" fill=\"{color}\"/>",
                        x(*ms),
                        y(*value)
                    ));
                    continue;
                }
                let mut points = String::new();
                let mut last_y = None;
                for (ms, value) in &run {
                    if let (true, Some(last_y)) = (step, last_y) {
                        points.push_str(&format!("{:.1},{last_y:.1} ", x(*ms)));
                    }
                    points.push_str(&format!("{:.1},{:.1} ", x(*ms), y(*value)));
                    last_y = Some(y(*value));
                }
                svg.push_str(&format!(
                    "<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" \
                     stroke-width=\"1.5\"/>",
                    points.trim_end()
                ));
            }
        }
        svg.push_str("</svg>");
        format!(
            "<figure class=\"chart\" id=\"chart-{id}\"><figcaption>{caption}</figcaption>{svg}\
             </figure>"
        )
    }
}

/// A bar chart as a `<figure>`: one bar per `(label, count)`, left to right, each labelled
/// with its count; a note when every count is 0.
pub fn bars(id: &str, title: &str, bars: &[(String, u64)]) -> String {
    let caption = escape(title);
    let most = bars.iter().map(|(_, count)| *count).max().unwrap_or(0);
    if most == 0 {
        return format!(
            "<figure class=\"chart\" id=\"chart-{id}\"><figcaption>{caption}</figcaption>\
             <p class=\"muted\">No data in this window.</p></figure>"
        );
    }
    let slot = (WIDTH - LEFT) / bars.len().max(1) as f64;
    let bottom = HEIGHT - BOTTOM;
    let mut svg = format!(
        "<svg viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"{caption}\">\
         <line x1=\"{LEFT}\" y1=\"{bottom}\" x2=\"{WIDTH}\" y2=\"{bottom}\" class=\"grid\"/>"
    );
    for (index, (label, count)) in bars.iter().enumerate() {
        let height = *count as f64 / most as f64 * (bottom - TOP - 14.0);
        let x = LEFT + index as f64 * slot;
        let middle = x + slot / 2.0;
        svg.push_str(&format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{height:.1}\" \
             fill=\"#0969da\"><title>{}: {count}</title></rect>\
             <text x=\"{middle:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{count}</text>\
             <text x=\"{middle:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            x + 2.0,
            bottom - height,
            (slot - 4.0).max(1.0),
            escape(label),
            bottom - height - 3.0,
            HEIGHT - 4.0,
            escape(label),
        ));
    }
    svg.push_str("</svg>");
    format!(
        "<figure class=\"chart\" id=\"chart-{id}\"><figcaption>{caption}</figcaption>{svg}</figure>"
    )
}

/// The stretches of known values in which no two neighbours are more than `gap_ms` apart.
fn runs(points: &[(i64, Option<f64>)], gap_ms: i64) -> Vec<Vec<(i64, f64)>> {
    let mut runs: Vec<Vec<(i64, f64)>> = Vec::new();
    let mut current: Vec<(i64, f64)> = Vec::new();
    for (ms, value) in points {
        let joined = current.last().is_some_and(|(last, _)| ms - last <= gap_ms);
        match value {
            Some(value) if joined || current.is_empty() => current.push((*ms, *value)),
            Some(value) => {
                runs.push(std::mem::take(&mut current));
                current.push((*ms, *value));
            }
            None if !current.is_empty() => runs.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        runs.push(current);
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(unit: Unit, points: Vec<(i64, Option<f64>)>) -> Chart {
        Chart {
            id: "t",
            title: "Peers <all>",
            unit,
            series: vec![Series {
                name: "peers",
                color: "#0969da",
                points,
            }],
            since_ms: 0,
            until_ms: 600_000,
            gap_ms: 150_000,
            time_labels: ["10 min ago", "5 min ago", "now"],
        }
    }

    #[test]
    fn lines_break_at_gaps_and_a_lone_point_is_a_dot() {
        let points = vec![
            (0, Some(10.0)),
            (60_000, Some(20.0)),
            (120_000, None),
            (180_000, Some(30.0)),
            // Too far from the one before to be joined.
            (480_000, Some(20.0)),
            (540_000, Some(10.0)),
        ];
        assert_eq!(runs(&points, 150_000).len(), 3);
        let svg = chart(Unit::Count, points).render();
        assert_eq!(svg.matches("<polyline").count(), 2, "{svg}");
        assert_eq!(svg.matches("<circle").count(), 1, "{svg}");
        // The axis spans the values: 30 at the top, 10 at the bottom.
        assert!(
            svg.contains(">30</text>") && svg.contains(">10</text>"),
            "{svg}"
        );
        assert!(svg.contains("Peers &lt;all&gt;"), "{svg}");
        assert!(svg.contains("peers: 10</span>"), "the newest value: {svg}");
        // The first point sits at the left edge and the top of the axis is the highest value.
        assert!(svg.contains("points=\"84.0,148.0 135.6,78.0\""), "{svg}");
    }

    #[test]
    fn yes_no_is_drawn_as_steps_and_an_empty_window_says_so() {
        let svg = chart(
            Unit::YesNo,
            vec![(0, Some(1.0)), (60_000, Some(0.0)), (120_000, Some(1.0))],
        )
        .render();
        // Each change is a vertical step at the new point's time: five corners for three points.
        let points = svg
            .split("points=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_default();
        assert_eq!(points.split(' ').count(), 5, "{svg}");
        assert!(
            svg.contains(">yes</text>") && svg.contains(">no</text>"),
            "{svg}"
        );

        let empty = chart(Unit::Percent, vec![(0, None)]).render();
        assert!(empty.contains("No data in this window."), "{empty}");
        assert!(!empty.contains("<svg"), "{empty}");
    }

    #[test]
    fn units_read_as_people_read_them() {
        assert_eq!(Unit::BytesPerSecond.show(1_234_567.0), "1.2 MB/s");
        assert_eq!(Unit::BytesPerSecond.show(12.0), "12.0 B/s");
        assert_eq!(Unit::Percent.show(9.87), "9.9 %");
        assert_eq!(Unit::Count.show(4242.0), "4242");
    }
}
