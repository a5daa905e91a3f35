//! Measures which FaceMesh vertex best stands for each of the 68 iBUG points, by running both
//! landmark models on LFW photos: the table `facemesh::IBUG68_FROM_MESH` comes from here.
//!
//! `cargo run -p faced-engine --example mesh_correspondence -- [N]` (N photos, every fourth
//! row of `faces/labels.csv`; default 300). For each iBUG point it prints the vertex whose
//! distance to it, in inter-ocular units, has the smallest median over the photos, and that
//! median.

use std::path::{Path, PathBuf};

use faced_engine::decode::{decode, DecodeLimits};
use faced_engine::detect::FaceOrder;
use faced_engine::facemesh::FaceMesh;
use faced_engine::pack::{Role, FACEPLUGIN};
use faced_engine::Engine;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args().nth(1).map_or(Ok(300), |a| a.parse())?;
    let models = std::env::var_os("FACED_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/faced/models")
        });
    let data = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/faces"
    ));
    let engine = Engine::load(&FACEPLUGIN, &models)?;
    let mesh_net = FaceMesh::load(
        &FACEPLUGIN
            .path_of(&models, Role::FaceMesh)
            .ok_or("no mesh")?,
    )?;
    let limits = DecodeLimits {
        max_long_side: 1920,
        max_short_side: 1080,
        max_alloc: 256 << 20,
    };
    let labels = std::fs::read_to_string(data.join("labels.csv"))?;
    // distances[i][v] over photos
    let mut distances: Vec<Vec<Vec<f32>>> = vec![vec![Vec::new(); 468]; 68];
    for line in labels.lines().skip(1).step_by(4).take(n) {
        let file = line.split(',').next().unwrap_or_default();
        let image = decode(&std::fs::read(data.join(file))?, &limits)?;
        let Some(face) = engine
            .analyse(&image, 1, FaceOrder::CentreFirst)?
            .into_iter()
            .next()
        else {
            continue;
        };
        let b = face.detection.bbox;
        let mesh = mesh_net.locate(
            &image,
            b.centre(),
            b.width().max(b.height()),
            face.pose.roll.to_radians(),
        )?;
        if mesh.presence < 0.9 {
            continue;
        }
        let five = face.five.0;
        let iod = ((five[0].x - five[1].x).powi(2) + (five[0].y - five[1].y).powi(2))
            .sqrt()
            .max(1.0);
        for (i, p) in face.landmarks.0.iter().enumerate() {
            for (v, row) in distances[i].iter_mut().enumerate() {
                let q = mesh.xy(v);
                row.push(((p.x - q.x).powi(2) + (p.y - q.y).powi(2)).sqrt() / iod);
            }
        }
    }
    let mut table = Vec::new();
    for (i, per_vertex) in distances.iter_mut().enumerate() {
        let (best, median) = per_vertex
            .iter_mut()
            .enumerate()
            .map(|(v, d)| {
                d.sort_by(f32::total_cmp);
                (v, d.get(d.len() / 2).copied().unwrap_or(f32::MAX))
            })
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or((0, f32::MAX));
        println!("ibug {i:2} -> mesh {best:3}  median distance {median:.3} IOD");
        table.push(best);
    }
    println!("{table:?}");
    Ok(())
}
