//! Attributes read off the mesh's geometry: eye and mouth opening, face shape, and the
//! proportion-and-symmetry score reported as `beauty`.
//!
//! All measures are ratios of distances between mesh vertices, so they do not depend on the
//! face's size or in-plane rotation; turning the head (yaw, pitch) foreshortens them, which is
//! why the service reports them with the pose beside them.

use crate::facemesh::Mesh;
use crate::geometry::Point;

fn dist(a: Point, b: Point) -> f32 {
    (a.x - b.x).hypot(a.y - b.y)
}

/// Eye aspect ratio (Soukupová and Čech, 2016): the mean of two lid-to-lid heights over the
/// corner-to-corner width; about 0.3 for an open eye, under 0.15 for a closed one.
/// `right` is the subject's right eye (image left).
pub fn eye_aspect(mesh: &Mesh, right: bool) -> f32 {
    // Corners, then two (upper, lower) lid pairs.
    let (corners, lids) = if right {
        ((33, 133), [(160, 144), (158, 153)])
    } else {
        ((263, 362), [(387, 373), (385, 380)])
    };
    let width = dist(mesh.xy(corners.0), mesh.xy(corners.1)).max(1e-3);
    let height: f32 = lids
        .iter()
        .map(|&(u, l)| dist(mesh.xy(u), mesh.xy(l)))
        .sum::<f32>()
        / 2.0;
    height / width
}

/// Inner-lip gap over mouth width: 0 closed, about 0.1 for a smile showing teeth, 0.3 and
/// more for a laugh or a yawn.
pub fn mouth_opening(mesh: &Mesh) -> f32 {
    let width = dist(mesh.xy(61), mesh.xy(291)).max(1e-3);
    dist(mesh.xy(13), mesh.xy(14)) / width
}

/// Baidu's face-shape classes.
pub const FACE_SHAPES: [&str; 5] = ["square", "triangle", "oval", "heart", "round"];

/// Four proportions of the face outline: length over cheekbone width, jaw width over
/// cheekbone width, forehead width over cheekbone width, chin width over jaw width.
pub fn outline_proportions(mesh: &Mesh) -> [f32; 4] {
    let cheek = dist(mesh.xy(234), mesh.xy(454)).max(1e-3);
    let jaw = dist(mesh.xy(172), mesh.xy(397)).max(1e-3);
    [
        dist(mesh.xy(10), mesh.xy(152)) / cheek,
        jaw / cheek,
        dist(mesh.xy(54), mesh.xy(284)) / cheek,
        dist(mesh.xy(149), mesh.xy(378)) / jaw,
    ]
}

/// Median and robust spread of [`outline_proportions`] over 600 LFW faces
/// (`cargo run --release -p faced-engine --example attribute_stats`).
pub const OUTLINE_STATS: [(f32, f32); 4] = [
    (1.250, 0.063),
    (0.798, 0.020),
    (0.866, 0.021),
    (0.558, 0.017),
];

/// Each shape's outline in z-scores of [`OUTLINE_STATS`] (length, jaw, forehead, chin), after
/// the usual descriptions: an oval face is longer than wide with a jaw narrower than the
/// cheekbones; a round one short with full cheeks and a soft jaw; a square one short with a
/// wide jaw and a broad chin; a heart one with a wide forehead over a narrow jaw and pointed
/// chin; a triangle one with a jaw wider than the forehead.
const SHAPE_PROTOTYPES: [[f32; 4]; 5] = [
    [-0.8, 1.0, 0.3, 1.0],  // square
    [0.0, 1.0, -1.2, 0.3],  // triangle
    [0.8, -0.5, 0.0, -0.3], // oval
    [0.0, -1.0, 1.0, -1.0], // heart
    [-1.2, 0.5, 0.0, 0.5],  // round
];

/// The face shape (index into [`FACE_SHAPES`]) and its probability: a softmax over the
/// squared z-distances of the face's outline to each prototype.
pub fn face_shape(mesh: &Mesh) -> (usize, f32) {
    let p = outline_proportions(mesh);
    let z: Vec<f32> = p
        .iter()
        .zip(OUTLINE_STATS)
        .map(|(v, (median, spread))| (v - median) / spread)
        .collect();
    let scores: Vec<f32> = SHAPE_PROTOTYPES
        .iter()
        .map(|proto| {
            -proto
                .iter()
                .zip(&z)
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f32>()
                / 2.0
        })
        .collect();
    super::nets::softmax(&scores)
        .into_iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or((2, 1.0))
}

/// The neoclassical facial canons (Farkas et al., 1985) as (measured ratio, ideal): eye width
/// = intercanthal width; nose width = intercanthal width; mouth width = 1.5 nose widths; face
/// width = 5 eye widths (the rule of fifths); lower third = middle third; upper lip to chin =
/// 2 × nose base to mouth.
fn canons(mesh: &Mesh) -> [(f32, f32); 6] {
    let x = |i| mesh.xy(i);
    let eye = (dist(x(33), x(133)) + dist(x(263), x(362))) / 2.0;
    let intercanthal = dist(x(133), x(362)).max(1e-3);
    let nose = dist(x(48), x(278)).max(1e-3);
    let mouth = dist(x(61), x(291));
    let face = dist(x(234), x(454));
    let stomion = Point::mean(&[x(13), x(14)]);
    let middle = dist(x(168), x(2)).max(1e-3);
    let lower = dist(x(2), x(152));
    let upper_lip = dist(x(2), stomion).max(1e-3);
    [
        (eye / intercanthal, 1.0),
        (nose / intercanthal, 1.0),
        (mouth / nose, 1.5),
        (face / eye.max(1e-3), 5.0),
        (lower / middle, 1.0),
        (dist(stomion, x(152)) / upper_lip, 2.0),
    ]
}

/// Left/right vertex pairs whose distances from the midline are compared for symmetry.
const MIRRORED: [(usize, usize); 6] = [
    (33, 263),
    (133, 362),
    (61, 291),
    (234, 454),
    (172, 397),
    (48, 278),
];

/// Mean relative left/right difference of the [`MIRRORED`] pairs' distances from the midline
/// (nasion 168 to chin 152): 0 for a perfectly symmetric face.
pub fn asymmetry(mesh: &Mesh) -> f32 {
    let (a, b) = (mesh.xy(168), mesh.xy(152));
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let length = dx.hypot(dy).max(1e-3);
    let off_line = |p: Point| ((p.x - a.x) * dy - (p.y - a.y) * dx).abs() / length;
    MIRRORED
        .iter()
        .map(|&(l, r)| {
            let (dl, dr) = (off_line(mesh.xy(l)), off_line(mesh.xy(r)));
            (dl - dr).abs() / (dl + dr).max(1e-3)
        })
        .sum::<f32>()
        / MIRRORED.len() as f32
}

/// Deviation from the canons and from symmetry: the mean |ln(ratio / ideal)| plus the
/// asymmetry.
pub fn irregularity(mesh: &Mesh) -> f32 {
    let c = canons(mesh);
    let canon: f32 = c
        .iter()
        .map(|(r, ideal)| (r / ideal).max(1e-3).ln().abs())
        .sum::<f32>()
        / c.len() as f32;
    canon + asymmetry(mesh)
}

/// Median and robust spread of [`irregularity`] over 600 LFW faces (`attribute_stats`).
pub const IRREGULARITY_STATS: (f32, f32) = (0.289, 0.103);

/// `beauty` in 0–100: a logistic of the irregularity against LFW's distribution, so the
/// median LFW face scores 50 and a face one spread more regular about 73. It rewards
/// proportions near the classical canons and symmetry, nothing else: it is not a judgement
/// of attractiveness.
pub fn regularity_score(mesh: &Mesh) -> f32 {
    let (median, spread) = IRREGULARITY_STATS;
    let z = (irregularity(mesh) - median) / spread;
    100.0 / (1.0 + z.exp())
}
