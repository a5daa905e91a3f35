//! Baidu's named landmark sets (`landmark72`, `landmark150`) read off the 468-point FaceMesh.
//!
//! Each named point is either one mesh vertex or a point at an even arc-length step along a
//! polyline of vertices (a lip, a lid, a nose wall), so that Baidu's counts (11 points per lip
//! line, 7 per lid, 7 per nose wall) are met from MediaPipe's own contours. The vertices were
//! chosen from MediaPipe's published contour lists (silhouette, lips, lids, brows, as
//! `@vladmandic/human`'s `facemeshcoords.ts` names them) and, for the nose walls, from the
//! canonical UV map. The full table with Baidu's names is in `docs/ATTRIBUTES.md`.
//!
//! Sides are the **subject's**: `eye_right_*` is the eye on the image's left in an unmirrored
//! photo, as in Baidu's sample responses. FaceMesh without the iris head has no pupil, so
//! `eyeball_center` is the centroid of the lid contour and `eyeball_left`/`eyeball_right`
//! sit 0.2 eye widths either side of it along the eye axis (the iris radius of an average
//! adult eye); they move with the lids, not with the gaze.

use crate::facemesh::Mesh;
use crate::geometry::Point;

/// The face outline from the subject's right temple, down round the chin (152 in the
/// middle), up to the left temple (MediaPipe's silhouette, image-left side first): 25
/// vertices, Baidu's 11 + 3 + 11 contour points one to one.
const CONTOUR: [usize; 25] = [
    162, 127, 234, 93, 132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397,
    288, 361, 323, 454, 356, 389,
];

/// One eye's vertices: outer and inner corners, upper and lower lid between them (outer to
/// inner).
struct EyeVertices {
    outer: usize,
    inner: usize,
    upper: [usize; 7],
    lower: [usize; 7],
}

/// The subject's right eye (image left).
const RIGHT_EYE: EyeVertices = EyeVertices {
    outer: 33,
    inner: 133,
    upper: [246, 161, 160, 159, 158, 157, 173],
    lower: [7, 163, 144, 145, 153, 154, 155],
};

/// The subject's left eye (image right).
const LEFT_EYE: EyeVertices = EyeVertices {
    outer: 263,
    inner: 362,
    upper: [466, 388, 387, 386, 385, 384, 398],
    lower: [249, 390, 373, 374, 380, 381, 382],
};

/// One brow's vertices: outer and inner ends, upper edge (outer to inner), lower edge.
struct BrowVertices {
    outer: usize,
    inner: usize,
    upper: [usize; 5],
    lower: [usize; 3],
}

const RIGHT_BROW: BrowVertices = BrowVertices {
    outer: 46,
    inner: 55,
    upper: [70, 63, 105, 66, 107],
    lower: [53, 52, 65],
};

const LEFT_BROW: BrowVertices = BrowVertices {
    outer: 276,
    inner: 285,
    upper: [300, 293, 334, 296, 336],
    lower: [283, 282, 295],
};

/// The nose walls from the root beside the inner eye corner down the side, round the wing
/// to the nostril's base (subject's right, then left).
const NOSE_RIGHT_WALL: [usize; 8] = [122, 174, 198, 209, 129, 64, 98, 97];
const NOSE_LEFT_WALL: [usize; 8] = [351, 399, 420, 429, 358, 294, 327, 326];
/// The ridge, top to bottom, above the tip.
const NOSE_BRIDGE: [usize; 3] = [6, 197, 195];
const NOSE_TIP: usize = 1;
/// The columella's base (MediaPipe's "nose bottom").
const NOSE_BOTTOM: usize = 2;

/// Mouth corners (outer, inner) on the subject's right (image left), then left.
const MOUTH_RIGHT_OUTER: usize = 61;
const MOUTH_LEFT_OUTER: usize = 291;
const MOUTH_RIGHT_INNER: usize = 78;
const MOUTH_LEFT_INNER: usize = 308;
/// Lip lines corner to corner (subject's right to left), MediaPipe's lists.
const LIP_UPPER_OUTER: [usize; 11] = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291];
const LIP_LOWER_OUTER: [usize; 11] = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291];
const LIP_UPPER_INNER: [usize; 11] = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308];
const LIP_LOWER_INNER: [usize; 11] = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308];

/// `n` points at even arc-length steps along the polyline through `vertices`, both ends
/// included (`n ≥ 2`).
fn resample(mesh: &Mesh, vertices: &[usize], n: usize) -> Vec<Point> {
    let points: Vec<Point> = vertices.iter().map(|&v| mesh.xy(v)).collect();
    along(&points, n)
}

/// `n` points at even arc-length steps along `points`, both ends included.
fn along(points: &[Point], n: usize) -> Vec<Point> {
    let (Some(&first), true) = (points.first(), points.len() >= 2) else {
        return vec![points.first().copied().unwrap_or_default(); n];
    };
    let dist = |a: Point, b: Point| (a.x - b.x).hypot(a.y - b.y);
    let mut cumulative = vec![0.0f32];
    for pair in points.windows(2) {
        let last = cumulative.last().copied().unwrap_or(0.0);
        cumulative.push(last + dist(pair[0], pair[1]));
    }
    let total = cumulative.last().copied().unwrap_or(0.0);
    let last_segment = points.len() - 2;
    (0..n)
        .map(|k| {
            if total <= 0.0 {
                return first;
            }
            let target = total * k as f32 / (n.max(2) - 1) as f32;
            let segment = cumulative
                .windows(2)
                .position(|w| target <= w[1])
                .unwrap_or(last_segment);
            let (a, b) = (points[segment], points[segment + 1]);
            let length = cumulative[segment + 1] - cumulative[segment];
            let t = if length > 0.0 {
                ((target - cumulative[segment]) / length).clamp(0.0, 1.0)
            } else {
                0.0
            };
            Point::new(a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t)
        })
        .collect()
}

/// The interior points of a lip line with Baidu's 11 per line (corners excluded: Baidu names
/// them separately): 13 even steps corner to corner, the two ends dropped.
fn lip_line(mesh: &Mesh, line: &[usize; 11]) -> Vec<Point> {
    let mut points = resample(mesh, line, 13);
    points.pop();
    points.remove(0);
    points
}

/// Centroid of an eye's lid contour and the two iris-edge estimates beside it (towards the
/// image-right then image-left along the eye axis).
fn eyeball(mesh: &Mesh, eye: &EyeVertices) -> [Point; 3] {
    let lid: Vec<Point> = eye
        .upper
        .iter()
        .chain(&eye.lower)
        .map(|&v| mesh.xy(v))
        .collect();
    let centre = Point::mean(&lid);
    let (outer, inner) = (mesh.xy(eye.outer), mesh.xy(eye.inner));
    let (dx, dy) = (inner.x - outer.x, inner.y - outer.y);
    // Unit vector along the eye pointing to the image right.
    let sign = if dx >= 0.0 { 1.0 } else { -1.0 };
    let (ux, uy) = (dx * sign * 0.2, dy * sign * 0.2);
    [
        centre,
        Point::new(centre.x + ux, centre.y + uy),
        Point::new(centre.x - ux, centre.y - uy),
    ]
}

/// Baidu's `landmark150`: (name, point) in Baidu's group order.
pub fn landmark150(mesh: &Mesh) -> Vec<(String, Point)> {
    let mut out: Vec<(String, Point)> = Vec::with_capacity(150);
    let mut push = |name: String, p: Point| out.push((name, p));
    let contour = resample(mesh, &CONTOUR, 25);
    for (i, p) in contour[..11].iter().enumerate() {
        push(format!("cheek_right_{}", i + 1), *p);
    }
    for (i, p) in contour[11..14].iter().enumerate() {
        push(format!("chin_{}", i + 1), *p);
    }
    // The left cheek counts from its top, as the right one does.
    for (i, p) in contour[14..].iter().rev().enumerate() {
        push(format!("cheek_left_{}", i + 1), *p);
    }
    for (side, eye) in [("right", &RIGHT_EYE), ("left", &LEFT_EYE)] {
        // The corner on the subject's right is the outer one of the right eye, the inner one
        // of the left eye.
        let (corner_right, corner_left) = match side {
            "right" => (eye.outer, eye.inner),
            _ => (eye.inner, eye.outer),
        };
        push(format!("eye_{side}_corner_right"), mesh.xy(corner_right));
        push(format!("eye_{side}_corner_left"), mesh.xy(corner_left));
        for (lid, vertices) in [("upper", &eye.upper), ("lower", &eye.lower)] {
            for (i, &v) in vertices.iter().enumerate() {
                push(format!("eye_{side}_eyelid_{lid}_{}", i + 1), mesh.xy(v));
            }
        }
        let [centre, towards_right_of_image, towards_left_of_image] = eyeball(mesh, eye);
        push(format!("eye_{side}_eyeball_center"), centre);
        // The subject's left is the image's right.
        push(format!("eye_{side}_eyeball_left"), towards_right_of_image);
        push(format!("eye_{side}_eyeball_right"), towards_left_of_image);
    }
    for (side, brow) in [("right", &RIGHT_BROW), ("left", &LEFT_BROW)] {
        let (corner_right, corner_left) = match side {
            "right" => (brow.outer, brow.inner),
            _ => (brow.inner, brow.outer),
        };
        push(
            format!("eyebrow_{side}_corner_right"),
            mesh.xy(corner_right),
        );
        push(format!("eyebrow_{side}_corner_left"), mesh.xy(corner_left));
        for (i, &v) in brow.upper.iter().enumerate() {
            push(format!("eyebrow_{side}_upper_{}", i + 1), mesh.xy(v));
        }
        for (i, &v) in brow.lower.iter().enumerate() {
            push(format!("eyebrow_{side}_lower_{}", i + 1), mesh.xy(v));
        }
    }
    for (side, wall) in [("right", &NOSE_RIGHT_WALL), ("left", &NOSE_LEFT_WALL)] {
        for (i, p) in resample(mesh, wall, 7).into_iter().enumerate() {
            push(format!("nose_{side}_contour_{}", i + 1), p);
        }
    }
    for (i, &v) in NOSE_BRIDGE.iter().enumerate() {
        push(format!("nose_bridge_{}", i + 1), mesh.xy(v));
    }
    push("nose_tip".into(), mesh.xy(NOSE_TIP));
    push("nose_middle_contour".into(), mesh.xy(NOSE_BOTTOM));
    push(
        "mouth_corner_right_outer".into(),
        mesh.xy(MOUTH_RIGHT_OUTER),
    );
    push("mouth_corner_left_outer".into(), mesh.xy(MOUTH_LEFT_OUTER));
    push(
        "mouth_corner_right_inner".into(),
        mesh.xy(MOUTH_RIGHT_INNER),
    );
    push("mouth_corner_left_inner".into(), mesh.xy(MOUTH_LEFT_INNER));
    for (name, line) in [
        ("upper_outer", &LIP_UPPER_OUTER),
        ("lower_outer", &LIP_LOWER_OUTER),
        ("upper_inner", &LIP_UPPER_INNER),
        ("lower_inner", &LIP_LOWER_INNER),
    ] {
        for (i, p) in lip_line(mesh, line).into_iter().enumerate() {
            push(format!("mouth_lip_{name}_{}", i + 1), p);
        }
    }
    out
}

/// Baidu's `landmark72`, in the group order of Baidu's legacy 72-point diagram:
///
/// * 0–12 the contour, subject's right temple round the chin to the left;
/// * 13–20 the right eye's outline (from the outer corner along the upper lid and back along
///   the lower), 21 its centre; 22–29 the right brow's outline;
/// * 30–38 and 39–46 the same for the left eye and brow;
/// * 47–57 the nose: the bridge's top, the right wall top to bottom, the base, the left wall
///   bottom to top, the tip;
/// * 58–67 the outer lip outline from the right corner over the upper lip and back along the
///   lower; 68–71 the inner corners and the inner lips' middles.
///
/// The per-index meaning of Baidu's diagram is unconfirmed; see `docs/ATTRIBUTES.md`.
pub fn landmark72(mesh: &Mesh) -> Vec<Point> {
    let mut out = resample(mesh, &CONTOUR, 13);
    for (eye, brow) in [(&RIGHT_EYE, &RIGHT_BROW), (&LEFT_EYE, &LEFT_BROW)] {
        let mut ring = vec![eye.outer];
        ring.extend(eye.upper);
        ring.push(eye.inner);
        ring.extend(eye.lower.iter().rev());
        ring.push(eye.outer);
        let mut eye_points = resample(mesh, &ring, 9);
        eye_points.pop();
        out.extend(eye_points);
        out.push(eyeball(mesh, eye)[0]);
        let mut outline = vec![brow.outer];
        outline.extend(brow.upper);
        outline.push(brow.inner);
        outline.extend(brow.lower.iter().rev());
        outline.push(brow.outer);
        let mut brow_points = resample(mesh, &outline, 9);
        brow_points.pop();
        out.extend(brow_points);
    }
    // Nose: the bridge's top, the right wall, the base, the left wall back up, the tip.
    out.push(mesh.xy(NOSE_BRIDGE[0]));
    out.extend(resample(mesh, &NOSE_RIGHT_WALL, 4));
    out.push(mesh.xy(NOSE_BOTTOM));
    out.extend(resample(mesh, &NOSE_LEFT_WALL, 4).into_iter().rev());
    out.push(mesh.xy(NOSE_TIP));
    let mut outer: Vec<usize> = LIP_UPPER_OUTER.to_vec();
    outer.extend(LIP_LOWER_OUTER.iter().rev().skip(1));
    let mut mouth = resample(mesh, &outer, 11);
    mouth.pop();
    out.extend(mouth);
    out.push(mesh.xy(MOUTH_RIGHT_INNER));
    out.push(mesh.xy(LIP_UPPER_INNER[5]));
    out.push(mesh.xy(MOUTH_LEFT_INNER));
    out.push(mesh.xy(LIP_LOWER_INNER[5]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake mesh whose vertex i sits at (i, 2i): only the bookkeeping is checked here; the
    /// geometry is tested on real faces in `tests/attributes.rs`.
    fn counted_mesh() -> Mesh {
        Mesh {
            points: (0..468).map(|i| [i as f32, 2.0 * i as f32, 0.0]).collect(),
            presence: 1.0,
        }
    }

    #[test]
    fn the_sets_have_baidus_sizes_and_unique_names() {
        let mesh = counted_mesh();
        assert_eq!(landmark72(&mesh).len(), 72);
        let named = landmark150(&mesh);
        assert_eq!(named.len(), 150);
        let names: std::collections::HashSet<&str> =
            named.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names.len(), 150);
        for name in [
            "cheek_right_11",
            "chin_3",
            "eye_left_eyeball_right",
            "nose_tip",
        ] {
            assert!(names.contains(name), "{name}");
        }
        assert!(names.contains("mouth_lip_lower_inner_11"));
        assert!(names.contains("eyebrow_left_lower_3"));
    }

    #[test]
    fn resampling_keeps_the_ends_and_steps_evenly() {
        let line = [
            Point::new(0.0, 0.0),
            Point::new(10.0, 0.0),
            Point::new(10.0, 10.0),
        ];
        let points = along(&line, 5);
        let expected = [
            (0.0, 0.0),
            (5.0, 0.0),
            (10.0, 0.0),
            (10.0, 5.0),
            (10.0, 10.0),
        ];
        for (p, (x, y)) in points.iter().zip(expected) {
            assert!(
                (p.x - x).abs() < 1e-4 && (p.y - y).abs() < 1e-4,
                "{points:?}"
            );
        }
    }
}
