//! Measures the face quality measures on real photos and controlled variants of them. A
//! measurement tool, not a test: it prints Markdown tables (for `docs/ATTRIBUTES.md`).
//!
//! * `stats`: the unoccluded-appearance statistics of the occlusion model ([`REGION_STATS`])
//!   and the raw blur effect's percentiles, learned from every fourth row of
//!   `faces/labels.csv` (600 photos), printed as the Rust table to paste;
//! * `report` (default): on other photos (rows ≡ 2 mod 4; `--n` of them, default 150): the
//!   measures of the clean faces, the blur under Gaussian blur of growing σ, the illumination
//!   under darkening, each region's occlusion under four kinds of synthetic occluder, the
//!   completeness of crops that cut the face, and the time `quality::assess` takes per face.
//!
//! Run: `cargo run -p faced-engine --example quality_measure -- [stats|report] [--n N]`
//! (models from `FACED_MODELS_DIR` or `~/.cache/faced/models`; photos from ../shared/data).

#[path = "../tests/variants/mod.rs"]
mod variants;

use std::path::PathBuf;
use std::time::Instant;

use faced_engine::decode::{decode, DecodeLimits};
use faced_engine::detect::FaceOrder;
use faced_engine::pack::FACEPLUGIN;
use faced_engine::quality::{self, Region, REGION_STATS};
use faced_engine::{AnalysedFace, Engine};
use image::RgbImage;
use variants::Occluder;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().map(String::as_str).unwrap_or("report");
    let n = args
        .iter()
        .position(|a| a == "--n")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(150usize);
    let models = std::env::var_os("FACED_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/faced/models")
        });
    let engine = Engine::load(&FACEPLUGIN, &models)?;
    match mode {
        "stats" => stats(&engine, 600),
        _ => report(&engine, n),
    }
}

fn data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/faces")
}

/// Photos of `labels.csv` whose row index is `residue` mod 4, at most `n`.
fn photos(residue: usize, n: usize) -> Res<Vec<(String, RgbImage)>> {
    let limits = DecodeLimits {
        max_long_side: 1920,
        max_short_side: 1080,
        max_alloc: 1 << 28,
    };
    let labels = std::fs::read_to_string(data().join("labels.csv"))?;
    let mut out = Vec::new();
    for (i, line) in labels.lines().skip(1).enumerate() {
        if i % 4 != residue {
            continue;
        }
        let file = line.split(',').next().unwrap_or_default().to_string();
        let image = decode(&std::fs::read(data().join(&file))?, &limits)?;
        out.push((file, image));
        if out.len() >= n {
            break;
        }
    }
    Ok(out)
}

fn centre_face(engine: &Engine, image: &RgbImage) -> Option<AnalysedFace> {
    engine
        .analyse(image, 1, FaceOrder::CentreFirst)
        .ok()?
        .into_iter()
        .next()
}

fn percentile(values: &[f32], p: f32) -> f32 {
    if values.is_empty() {
        return f32::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f32::total_cmp);
    let rank = ((p / 100.0) * v.len() as f32).ceil().max(1.0) as usize;
    v[rank.min(v.len()) - 1]
}

fn mad_spread(values: &[f32]) -> (f32, f32) {
    let m = percentile(values, 50.0);
    let dev: Vec<f32> = values.iter().map(|v| (v - m).abs()).collect();
    (m, 1.4826 * percentile(&dev, 50.0))
}

fn stats(engine: &Engine, n: usize) -> Res<()> {
    let mut features: Vec<[[f32; 4]; 7]> = Vec::new();
    let mut blur = Vec::new();
    let outline = [0usize, 4, 8, 12, 16, 19, 24];
    let mut outline_sum = [(0f32, 0f32); 7];
    for (_, image) in photos(0, n)? {
        let Some(face) = centre_face(engine, &image) else {
            continue;
        };
        if let Some(t) = quality::canvas_transform(&face) {
            for (s, &i) in outline_sum.iter_mut().zip(&outline) {
                let p = t.apply(face.landmarks.0[i]);
                s.0 += p.x;
                s.1 += p.y;
            }
        }
        if let Some(f) = quality::region_features(&image, &face) {
            features.push(f.map(|r| r.to_array()));
        }
        blur.extend(quality::raw_blur_effect(&image, &face));
    }
    println!("faces: {}", features.len());
    let k = features.len().max(1) as f32;
    println!("mean canvas position of landmarks {outline:?}:");
    for (s, i) in outline_sum.iter().zip(outline) {
        println!("  {i}: ({:.1}, {:.1})", s.0 / k, s.1 / k);
    }
    println!("pub const REGION_STATS: [[(f32, f32); 4]; 7] = [");
    for (r, region) in Region::ALL.iter().enumerate() {
        let cols: Vec<String> = (0..4)
            .map(|f| {
                let v: Vec<f32> = features.iter().map(|x| x[r][f]).collect();
                let (m, s) = mad_spread(&v);
                format!("({m:.3}, {s:.3})")
            })
            .collect();
        println!("    [{}], // {}", cols.join(", "), region.key());
    }
    println!("];");
    println!(
        "raw blur effect: p5 {:.3} p50 {:.3} p95 {:.3} max {:.3}",
        percentile(&blur, 5.0),
        percentile(&blur, 50.0),
        percentile(&blur, 95.0),
        percentile(&blur, 100.0)
    );
    Ok(())
}

fn report(engine: &Engine, n: usize) -> Res<()> {
    let photos = photos(2, n)?;
    let mut clean = Vec::new();
    for (file, image) in &photos {
        if let Some(face) = centre_face(engine, image) {
            clean.push((file.clone(), image.clone(), face));
        }
    }
    println!(
        "photos: {} (rows ≡ 2 mod 4 of faces/labels.csv), faces found: {}\n",
        photos.len(),
        clean.len()
    );

    // 1. Clean faces.
    let q: Vec<quality::Quality> = clean
        .iter()
        .map(|(_, i, f)| quality::assess(i, f))
        .collect();
    println!("### Unoccluded photos\n");
    println!("| measure | p5 | p50 | p95 | max | share > 0.6 |\n|---|---|---|---|---|---|");
    for region in Region::ALL {
        let v: Vec<f32> = q.iter().map(|x| x.occlusion.get(region)).collect();
        row(&format!("occlusion.{}", region.key()), &v);
    }
    row("blur", &q.iter().map(|x| x.blur).collect::<Vec<_>>());
    let illum: Vec<f32> = q.iter().map(|x| x.illumination).collect();
    println!(
        "| illumination | {:.0} | {:.0} | {:.0} | {:.0} | |",
        percentile(&illum, 5.0),
        percentile(&illum, 50.0),
        percentile(&illum, 95.0),
        percentile(&illum, 100.0)
    );
    let complete = q.iter().filter(|x| x.complete).count();
    println!("\ncompleteness 1: {complete}/{}", q.len());
    let any = q
        .iter()
        .filter(|x| x.occlusion.0.iter().any(|&o| o > 0.6))
        .count();
    println!(
        "faces with any region over 0.6 (would fail NORMAL): {any}/{}\n",
        q.len()
    );
    for (i, x) in q.iter().enumerate() {
        let worst = Region::ALL
            .iter()
            .map(|r| (x.occlusion.get(*r), r.key()))
            .fold((0.0, ""), |a, b| if b.0 > a.0 { b } else { a });
        if worst.0 > 0.6 {
            println!("- {} {} {:.2}", clean[i].0, worst.1, worst.0);
        }
    }

    // 2. Blur sweep.
    let sigmas = [0.0f32, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0];
    println!("\n### Gaussian blur (σ in image pixels)\n");
    println!("| σ | blur p5 | p50 | p95 | faces found |\n|---|---|---|---|---|");
    let mut per_face: Vec<Vec<f32>> = vec![Vec::new(); clean.len()];
    for &s in &sigmas {
        let mut v = Vec::new();
        for (k, (_, image, _)) in clean.iter().enumerate() {
            let b = variants::blurred(image, s);
            if let Some(face) = centre_face(engine, &b) {
                let blur = quality::assess(&b, &face).blur;
                v.push(blur);
                per_face[k].push(blur);
            }
        }
        println!(
            "| {s} | {:.2} | {:.2} | {:.2} | {}/{} |",
            percentile(&v, 5.0),
            percentile(&v, 50.0),
            percentile(&v, 95.0),
            v.len(),
            clean.len()
        );
    }
    let monotone = per_face
        .iter()
        .filter(|v| v.len() == sigmas.len() && v.windows(2).all(|w| w[1] >= w[0] - 0.02))
        .count();
    println!(
        "\nfaces whose blur never falls (by more than 0.02) as σ grows: {monotone}/{}",
        clean.len()
    );

    // 3. Darkening.
    println!("\n### Darkening (v ↦ 255·k·(v/255)^γ)\n");
    println!("| k | γ | illumination p5 | p50 | p95 | faces found |\n|---|---|---|---|---|---|");
    for (k, g) in [
        (1.0f32, 1.0f32),
        (0.6, 1.0),
        (0.35, 1.0),
        (0.2, 1.0),
        (0.1, 1.0),
        (1.0, 2.5),
        (0.5, 2.0),
    ] {
        let mut v = Vec::new();
        for (_, image, _) in &clean {
            let d = variants::darkened(image, k, g);
            if let Some(face) = centre_face(engine, &d) {
                v.push(quality::assess(&d, &face).illumination);
            }
        }
        println!(
            "| {k} | {g} | {:.0} | {:.0} | {:.0} | {}/{} |",
            percentile(&v, 5.0),
            percentile(&v, 50.0),
            percentile(&v, 95.0),
            v.len(),
            clean.len()
        );
    }

    // 4. Occluders.
    println!("\n### Synthetic occluders over one region\n");
    println!(
        "Share of faces (still detected) whose occluded region is over 0.6, its median, and the"
    );
    println!("median of the largest *other* region.\n");
    println!("| region | occluder | target > 0.6 | target p50 | max other p50 | others all ≤ 0.6 | found |\n|---|---|---|---|---|---|---|");
    for region in Region::ALL {
        for kind in Occluder::ALL {
            let (mut over, mut target, mut other, mut clean_others, mut found) =
                (0, Vec::new(), Vec::new(), 0, 0);
            for (_, image, face) in &clean {
                let Some(boxes) = quality::region_boxes(image, face) else {
                    continue;
                };
                let skin = variants::mean_colour(image, &boxes[Region::LeftCheek as usize]);
                let area = variants::grown(&boxes[region as usize], 0.1);
                let o = variants::occluded(image, &area, kind, skin);
                let Some(f2) = centre_face(engine, &o) else {
                    continue;
                };
                found += 1;
                let qq = quality::assess(&o, &f2);
                let t = qq.occlusion.get(region);
                let m = Region::ALL
                    .iter()
                    .filter(|r| **r != region)
                    .map(|r| qq.occlusion.get(*r))
                    .fold(0.0f32, f32::max);
                over += usize::from(t > 0.6);
                clean_others += usize::from(m <= 0.6);
                target.push(t);
                other.push(m);
            }
            println!(
                "| {} | {} | {over}/{found} | {:.2} | {:.2} | {clean_others}/{found} | {found}/{} |",
                region.key(),
                kind.name(),
                percentile(&target, 50.0),
                percentile(&other, 50.0),
                clean.len()
            );
        }
    }

    // 5. Crops.
    println!("\n### Crops that cut the face\n");
    println!("| crop | faces found | completeness 0 |\n|---|---|---|");
    for (name, cut) in [("right 0.25", 0.25f32), ("right 0.4", 0.4)] {
        let (mut found, mut zero) = (0, 0);
        for (_, image, face) in &clean {
            let c = variants::cut_right(image, &face.detection.bbox, cut);
            if let Some(f) = centre_face(engine, &c) {
                found += 1;
                zero += usize::from(!quality::assess(&c, &f).complete);
            }
        }
        println!("| {name} | {found}/{} | {zero}/{found} |", clean.len());
    }
    for (name, cut) in [("bottom 0.2", 0.2f32), ("bottom 0.35", 0.35)] {
        let (mut found, mut zero) = (0, 0);
        for (_, image, face) in &clean {
            let c = variants::cut_bottom(image, &face.detection.bbox, cut);
            if let Some(f) = centre_face(engine, &c) {
                found += 1;
                zero += usize::from(!quality::assess(&c, &f).complete);
            }
        }
        println!("| {name} | {found}/{} | {zero}/{found} |", clean.len());
    }

    // 6. Cost.
    let mut times = Vec::new();
    for (_, image, face) in clean.iter().cycle().take(clean.len() * 3) {
        let t = Instant::now();
        std::hint::black_box(quality::assess(image, face));
        times.push(t.elapsed().as_secs_f32() * 1000.0);
    }
    let mut analyse = Vec::new();
    for (_, image, _) in clean.iter().take(40) {
        let t = Instant::now();
        std::hint::black_box(centre_face(engine, image));
        analyse.push(t.elapsed().as_secs_f32() * 1000.0);
    }
    println!("\n### Cost per face (one thread)\n");
    println!(
        "quality::assess: median {:.3} ms, p90 {:.3} ms over {} runs; for scale, Engine::analyse (detect + landmarks) median {:.1} ms",
        percentile(&times, 50.0),
        percentile(&times, 90.0),
        times.len(),
        percentile(&analyse, 50.0)
    );
    let _ = REGION_STATS;
    Ok(())
}

fn row(name: &str, v: &[f32]) {
    let over = v.iter().filter(|&&x| x > 0.6).count();
    println!(
        "| {name} | {:.2} | {:.2} | {:.2} | {:.2} | {over}/{} |",
        percentile(v, 5.0),
        percentile(v, 50.0),
        percentile(v, 95.0),
        percentile(v, 100.0),
        v.len()
    );
}
