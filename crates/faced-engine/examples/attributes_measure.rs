//! Measures the face attributes on real photos, labelled photos and controlled variants. A
//! measurement tool, not a test: it prints Markdown for `docs/ATTRIBUTES.md`.
//!
//! * `stats`: on every fourth row of `faces/labels.csv` (600 photos), the medians and robust
//!   spreads of the mesh proportions behind `face_shape` and `beauty`, and percentiles of the
//!   appearance features on the photos, on synthetic masks over them and on cartoonised
//!   versions (the numbers the thresholds in `attributes::{shape, appearance}` come from);
//! * `report` (default): every attribute against the visual labels of 197 LFW photos
//!   (`crates/faced-bench/data/attribute_labels.csv`), the distribution of the raw evidence per
//!   labelled class, and the milliseconds each attribute costs per face.
//!
//! Run: `cargo run --release -p faced-engine --example attributes_measure -- [stats|report]
//! [--pack faceplugin|clean]` (models from `FACED_MODELS_DIR` or `~/.cache/faced/models`).

#[path = "../tests/variants/mod.rs"]
mod variants;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use faced_engine::attributes::{appearance, shape, Wanted};
use faced_engine::decode::{decode, DecodeLimits};
use faced_engine::detect::FaceOrder;
use faced_engine::pack::{CLEAN, FACEPLUGIN};
use faced_engine::{AnalysedFace, Engine};
use image::RgbImage;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Turns one attribute on.
type SetOne = fn(&mut Wanted);

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().map(String::as_str).unwrap_or("report");
    let pack = match args
        .iter()
        .position(|a| a == "--pack")
        .and_then(|i| args.get(i + 1))
    {
        Some(p) if p == "clean" => &CLEAN,
        _ => &FACEPLUGIN,
    };
    let models = std::env::var_os("FACED_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/faced/models")
        });
    let engine = Engine::load(pack, &models)?;
    println!("Pack `{}`.\n", pack.id);
    match mode {
        "stats" => stats(&engine),
        "fit" => fit(&engine),
        "spoof" => spoof(&engine),
        "canvas" => canvas(
            &engine,
            args.get(1).ok_or("canvas FILE OUT")?,
            args.get(2).ok_or("OUT")?,
        ),
        _ => report(&engine),
    }
}

fn faces_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/faces")
}

fn load(rel: &str) -> Res<RgbImage> {
    let limits = DecodeLimits {
        max_long_side: 1920,
        max_short_side: 1080,
        max_alloc: 256 << 20,
    };
    Ok(decode(&std::fs::read(faces_dir().join(rel))?, &limits)?)
}

/// The centre face of an LFW photo with its mesh placed.
fn centre_face(engine: &Engine, image: &RgbImage) -> Option<AnalysedFace> {
    let mut face = engine
        .analyse(image, 1, FaceOrder::CentreFirst)
        .ok()?
        .into_iter()
        .next()?;
    engine.add_mesh(image, &mut face).ok()?;
    Some(face)
}

/// Median and 1.4826 × median absolute deviation.
fn robust(values: &[f32]) -> (f32, f32) {
    let median = percentile(values, 50.0);
    let deviations: Vec<f32> = values.iter().map(|v| (v - median).abs()).collect();
    (median, 1.4826 * percentile(&deviations, 50.0))
}

fn percentile(values: &[f32], p: f32) -> f32 {
    let mut v: Vec<f32> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f32::NAN;
    }
    v.sort_by(f32::total_cmp);
    let rank = ((p / 100.0) * (v.len() - 1) as f32).round() as usize;
    v[rank.min(v.len() - 1)]
}

fn spread_row(name: &str, values: &[f32]) {
    println!(
        "| {name} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |",
        values.len(),
        percentile(values, 5.0),
        percentile(values, 25.0),
        percentile(values, 50.0),
        percentile(values, 75.0),
        percentile(values, 95.0)
    );
}

/// A synthetic surgical mask: from one cheek at nose level, down the jaw round the chin to
/// the other cheek, and back across the nose's middle.
fn masked(image: &RgbImage, face: &AnalysedFace, colour: [u8; 3]) -> Option<RgbImage> {
    let mesh = face.mesh.as_ref()?;
    let outline = [
        234, 93, 132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288,
        361, 323, 454, 357, 197, 128,
    ];
    let polygon: Vec<(f32, f32)> = outline
        .iter()
        .map(|&v| {
            let p = mesh.xy(v);
            (p.x, p.y)
        })
        .collect();
    Some(variants::painted_polygon(image, &polygon, colour))
}

fn stats(engine: &Engine) -> Res<()> {
    let labels = std::fs::read_to_string(faces_dir().join("labels.csv"))?;
    let rows: Vec<&str> = labels.lines().skip(1).step_by(4).take(600).collect();
    let mut outline: [Vec<f32>; 4] = Default::default();
    let (mut irregular, mut aspect, mut opening) = (Vec::new(), Vec::new(), Vec::new());
    let (mut spoofing, mut liveness) = (Vec::new(), Vec::new());
    let scores = Wanted {
        spoofing: true,
        liveness: true,
        ..Wanted::default()
    };
    let mut features: BTreeMap<&str, Vec<appearance::AppearanceFeatures>> = BTreeMap::new();
    for (i, row) in rows.iter().enumerate() {
        let rel = row.split(',').next().unwrap_or_default();
        let image = load(rel)?;
        let Some(mut face) = centre_face(engine, &image) else {
            continue;
        };
        let a = engine.attributes(&image, &mut face, &scores)?;
        spoofing.extend(a.spoofing);
        liveness.extend(a.liveness);

        let Some(mesh) = face.mesh.as_ref() else {
            continue;
        };
        for (k, v) in shape::outline_proportions(mesh).iter().enumerate() {
            outline[k].push(*v);
        }
        irregular.push(shape::irregularity(mesh));
        aspect.push(shape::eye_aspect(mesh, true));
        aspect.push(shape::eye_aspect(mesh, false));
        opening.push(shape::mouth_opening(mesh));
        let mut add = |kind: &'static str, img: &RgbImage| {
            if let Some(f) = appearance::appearance_features(img, &face) {
                features.entry(kind).or_default().push(f);
            }
        };
        add("photo", &image);
        // Variants on a third of the photos each, to keep the run short.
        match i % 3 {
            0 => {
                if let Some(m) = masked(&image, &face, [120, 170, 210]) {
                    add("mask, light blue", &m);
                }
            }
            1 => {
                if let Some(m) = masked(&image, &face, [235, 235, 235]) {
                    add("mask, white", &m);
                }
            }
            _ => {
                if let Some(m) = masked(&image, &face, [35, 35, 40]) {
                    add("mask, black", &m);
                }
            }
        }
        if i % 4 == 0 {
            add("cartoonised", &variants::cartoonised(&image));
        }
    }
    println!(
        "### Mesh proportions (median, 1.4826·MAD) over {} faces\n",
        irregular.len()
    );
    let names = [
        "length / cheek width",
        "jaw / cheek width",
        "forehead / cheek width",
        "chin / jaw width",
    ];
    for (name, values) in names.iter().zip(&outline) {
        let (m, s) = robust(values);
        println!("* {name}: ({m:.3}, {s:.3})");
    }
    let (m, s) = robust(&irregular);
    println!("* irregularity: ({m:.3}, {s:.3})\n");
    println!("| measure | n | p5 | p25 | p50 | p75 | p95 |\n|---|---|---|---|---|---|---|");
    spread_row("eye aspect ratio", &aspect);
    spread_row("mouth opening", &opening);
    spread_row("liveness", &liveness);
    spread_row("spoofing (1 − antispoof)", &spoofing);
    for p in [90.0, 97.0, 99.5] {
        println!("* spoofing p{p}: {:.3}", percentile(&spoofing, p));
    }
    for t in [0.05, 0.3, 0.9] {
        let below = liveness.iter().filter(|v| **v < t).count();
        println!(
            "* liveness below {t}: {:.1} % of genuine photos",
            100.0 * below as f32 / liveness.len().max(1) as f32
        );
    }
    println!("\n### Appearance features\n");
    println!(
        "| variant / feature | n | p5 | p25 | p50 | p75 | p95 |\n|---|---|---|---|---|---|---|"
    );
    for (kind, list) in &features {
        let column = |f: fn(&appearance::AppearanceFeatures) -> f32| -> Vec<f32> {
            list.iter().map(f).collect()
        };
        spread_row(
            &format!("{kind}: frame probability"),
            &column(appearance::frame_probability),
        );
        spread_row(
            &format!("{kind}: lens darkness"),
            &column(|f| f.lens_darkness),
        );
        spread_row(
            &format!("{kind}: mask evidence"),
            &column(appearance::mask_evidence),
        );
        spread_row(&format!("{kind}: flat share"), &column(|f| f.flat_share));
        let masked_share = list
            .iter()
            .filter(|f| appearance::mask_probability(f) >= 0.5)
            .count();
        let cartoon_share = list
            .iter()
            .filter(|f| appearance::cartoon_probability(f) >= 0.5)
            .count();
        println!(
            "| {kind}: called masked / cartoon | {} | {:.1} % | | {:.1} % | | |",
            list.len(),
            100.0 * masked_share as f32 / list.len() as f32,
            100.0 * cartoon_share as f32 / list.len() as f32
        );
    }
    Ok(())
}

/// Writes the quality canvas of a photo's centre face with the appearance windows drawn (to
/// check where they fall).
fn canvas(engine: &Engine, rel: &str, out: &str) -> Res<()> {
    let image = load(rel)?;
    let face = centre_face(engine, &image).ok_or("no face")?;
    let t = faced_engine::quality::canvas_transform(&face).ok_or("degenerate")?;
    let side = faced_engine::quality::CANVAS_SIDE;
    let rgb = faced_engine::geometry::sample_rgb(
        &image,
        &t,
        side,
        side,
        faced_engine::geometry::Border::Replicate,
    );
    let mut img = RgbImage::new(side, side);
    for (i, p) in img.pixels_mut().enumerate() {
        *p = image::Rgb([rgb[3 * i] as u8, rgb[3 * i + 1] as u8, rgb[3 * i + 2] as u8]);
    }
    for w in appearance::WINDOWS {
        for x in w.x1 as u32..w.x2 as u32 {
            img.put_pixel(x, w.y1 as u32, image::Rgb([255, 0, 0]));
            img.put_pixel(x, (w.y2 as u32).min(side - 1), image::Rgb([255, 0, 0]));
        }
        for y in w.y1 as u32..w.y2 as u32 {
            img.put_pixel(w.x1 as u32, y, image::Rgb([255, 0, 0]));
            img.put_pixel((w.x2 as u32).min(side - 1), y, image::Rgb([255, 0, 0]));
        }
    }
    let big = image::imageops::resize(
        &img,
        side * 3,
        side * 3,
        image::imageops::FilterType::Nearest,
    );
    big.save(out)?;
    Ok(())
}

/// Logistic regression by gradient descent on standardised features; returns weights and
/// bias in the raw feature space.
fn logistic_fit(x: &[Vec<f32>], y: &[f32]) -> (Vec<f32>, f32) {
    let d = x[0].len();
    let mean: Vec<f32> = (0..d)
        .map(|j| x.iter().map(|r| r[j]).sum::<f32>() / x.len() as f32)
        .collect();
    let sd: Vec<f32> = (0..d)
        .map(|j| {
            (x.iter().map(|r| (r[j] - mean[j]).powi(2)).sum::<f32>() / x.len() as f32)
                .sqrt()
                .max(1e-6)
        })
        .collect();
    let z: Vec<Vec<f32>> = x
        .iter()
        .map(|r| (0..d).map(|j| (r[j] - mean[j]) / sd[j]).collect())
        .collect();
    let (mut w, mut b) = (vec![0f32; d], 0f32);
    // Positives weighted up to balance the classes.
    let pos = y.iter().sum::<f32>().max(1.0);
    let neg = (y.len() as f32 - pos).max(1.0);
    for _ in 0..3000 {
        let (mut gw, mut gb) = (vec![0f32; d], 0f32);
        for (r, t) in z.iter().zip(y) {
            let p = 1.0 / (1.0 + (-(r.iter().zip(&w).map(|(a, b)| a * b).sum::<f32>() + b)).exp());
            let weight = if *t > 0.5 { 0.5 / pos } else { 0.5 / neg };
            for j in 0..d {
                gw[j] += weight * (p - t) * r[j];
            }
            gb += weight * (p - t);
        }
        for j in 0..d {
            w[j] -= 0.5 * (gw[j] + 0.01 * w[j]);
        }
        b -= 0.5 * gb;
    }
    let raw: Vec<f32> = (0..d).map(|j| w[j] / sd[j]).collect();
    let bias = b - (0..d).map(|j| w[j] * mean[j] / sd[j]).sum::<f32>();
    (raw, bias)
}

/// Fits the glasses frame classifier (leave-one-out accuracy, then on all rows) and prints
/// the raw evidence of expression and eye state per labelled class.
fn fit(engine: &Engine) -> Res<()> {
    let labels = labels()?;
    let (mut x, mut y) = (Vec::new(), Vec::new());
    let mut evidence: BTreeMap<String, Vec<f32>> = BTreeMap::new();
    for label in &labels {
        let image = load(&label.file)?;
        let Some(face) = centre_face(engine, &image) else {
            continue;
        };
        let mesh = face.mesh.as_ref().ok_or("mesh")?;
        let f = appearance::appearance_features(&image, &face).ok_or("features")?;
        if label.glasses != "sun" {
            x.push(f.frame_edges.to_vec());
            y.push(if label.glasses == "common" { 1.0 } else { 0.0 });
        }
        let [l, r, ..] = face.five.0;
        let roll = (r.y - l.y).atan2(r.x - l.x);
        let emotions = engine.attribute_nets().emotions(&image, mesh, roll)?;
        let mut note = |key: String, v: f32| evidence.entry(key).or_default().push(v);
        note(
            format!("happy, expression={}", label.expression),
            emotions[3],
        );
        if label.eyes != "na" {
            for (first, right) in [(36, true), (42, false)] {
                let eye: [faced_engine::geometry::Point; 6] =
                    std::array::from_fn(|i| face.landmarks.0[first + i]);
                if let Some(net) = engine.attribute_nets().eye_open(&image, &eye)? {
                    note(format!("fr_eye open, eyes={}", label.eyes), net);
                }
                note(
                    format!("eye aspect, eyes={}", label.eyes),
                    shape::eye_aspect(mesh, right),
                );
            }
        }
    }
    let mut right = 0;
    for i in 0..x.len() {
        let (xs, ys): (Vec<Vec<f32>>, Vec<f32>) = x
            .iter()
            .zip(&y)
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, (a, b))| (a.clone(), *b))
            .unzip();
        let (w, b) = logistic_fit(&xs, &ys);
        let p = w.iter().zip(&x[i]).map(|(a, b)| a * b).sum::<f32>() + b;
        if (p > 0.0) == (y[i] > 0.5) {
            right += 1;
        }
    }
    let (w, b) = logistic_fit(&x, &y);
    println!(
        "Frame classifier (common vs none, {} photos, {} with glasses): leave-one-out accuracy {:.1} %; fitted on all: weights {w:?}, bias {b}",
        x.len(),
        y.iter().filter(|v| **v > 0.5).count(),
        100.0 * right as f32 / x.len() as f32
    );
    println!("\n| evidence per labelled class | n | p5 | p25 | p50 | p75 | p95 |\n|---|---|---|---|---|---|---|");
    for (key, values) in &evidence {
        spread_row(key, values);
    }
    Ok(())
}

/// Liveness and spoofing scores of photos and of replayed, edited, smoothed and cartoonised
/// variants.
fn spoof(engine: &Engine) -> Res<()> {
    let labels = std::fs::read_to_string(faces_dir().join("labels.csv"))?;
    let wanted = Wanted {
        spoofing: true,
        liveness: true,
        ..Wanted::default()
    };
    let mut scores: BTreeMap<&str, (Vec<f32>, Vec<f32>)> = BTreeMap::new();
    let rows: Vec<&str> = labels.lines().skip(3).step_by(20).take(100).collect();
    for (i, row) in rows.iter().enumerate() {
        let rel = row.split(',').next().unwrap_or_default();
        let photo = load(rel)?;
        let donor_rel = rows[(i + 7) % rows.len()]
            .split(',')
            .next()
            .unwrap_or_default();
        let donor = load(donor_rel)?;
        let variants: [(&str, RgbImage); 5] = [
            ("photo", photo.clone()),
            ("screen replay", variants::screen_replay(&photo)),
            ("face swapped", variants::face_swapped(&photo, &donor)),
            ("smoothed", variants::smoothed(&photo)),
            ("cartoonised", variants::cartoonised(&photo)),
        ];
        for (name, image) in variants {
            let Some(mut face) = centre_face(engine, &image) else {
                continue;
            };
            let a = engine.attributes(&image, &mut face, &wanted)?;
            let entry = scores.entry(name).or_default();
            entry.0.extend(a.liveness);
            entry.1.extend(a.spoofing);
        }
    }
    println!("| variant / score | n | p5 | p25 | p50 | p75 | p95 |\n|---|---|---|---|---|---|---|");
    for (name, (live, spoofing)) in &scores {
        spread_row(&format!("{name}: liveness"), live);
        spread_row(&format!("{name}: spoofing"), spoofing);
    }
    Ok(())
}

/// One labelled row of `attribute_labels.csv`.
struct Label {
    file: String,
    gender: String,
    glasses: String,
    expression: String,
    age: f32,
    eyes: String,
}

fn labels() -> Res<Vec<Label>> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../faced-bench/data/attribute_labels.csv");
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("file,"))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f.len() == 6).then(|| Label {
                file: f[0].to_string(),
                gender: f[1].to_string(),
                glasses: f[2].to_string(),
                expression: f[3].to_string(),
                age: f[4].parse().unwrap_or(f32::NAN),
                eyes: f[5].to_string(),
            })
        })
        .collect())
}

fn all_wanted() -> Wanted {
    Wanted {
        age: true,
        gender: true,
        emotion: true,
        expression: true,
        eye_status: true,
        glasses: true,
        mask: true,
        face_shape: true,
        face_type: true,
        beauty: true,
        spoofing: true,
        liveness: true,
    }
}

fn confusion(title: &str, pairs: &[(String, String)], classes: &[&str]) {
    let right = pairs.iter().filter(|(t, p)| t == p).count();
    println!(
        "\n**{title}**: {right} of {} right ({:.1} %). Rows: label; columns: answer.\n",
        pairs.len(),
        100.0 * right as f32 / pairs.len().max(1) as f32
    );
    println!("| label \\ answer | {} |", classes.join(" | "));
    println!("|---|{}", "---|".repeat(classes.len()));
    for truth in classes {
        let counts: Vec<String> = classes
            .iter()
            .map(|answer| {
                pairs
                    .iter()
                    .filter(|(t, p)| t == truth && p == answer)
                    .count()
                    .to_string()
            })
            .collect();
        println!("| {truth} | {} |", counts.join(" | "));
    }
}

fn report(engine: &Engine) -> Res<()> {
    let labels = labels()?;
    let wanted = all_wanted();
    let (mut gender, mut glasses, mut expression) = (Vec::new(), Vec::new(), Vec::new());
    let (mut ages, mut eyes) = (Vec::new(), Vec::new());
    let mut evidence: BTreeMap<String, Vec<f32>> = BTreeMap::new();
    let mut other: BTreeMap<&str, Vec<f32>> = BTreeMap::new();
    let mut shapes: BTreeMap<&str, usize> = BTreeMap::new();
    let mut missed = 0;
    for label in &labels {
        let image = load(&label.file)?;
        let Some(mut face) = centre_face(engine, &image) else {
            missed += 1;
            continue;
        };
        let a = engine.attributes(&image, &mut face, &wanted)?;
        let mesh = face.mesh.as_ref().ok_or("mesh")?;
        let features = appearance::appearance_features(&image, &face).ok_or("features")?;
        if let Some(g) = a.gender {
            gender.push((label.gender.clone(), g.label.to_string()));
        }
        if let Some(g) = a.glasses {
            glasses.push((label.glasses.clone(), g.label.to_string()));
        }
        if let Some(e) = a.expression {
            expression.push((label.expression.clone(), e.label.to_string()));
        }
        if let Some(age) = a.age {
            ages.push((label.age, age as f32));
        }
        if let Some(e) = a.eye_status {
            if label.eyes != "na" {
                eyes.push((label.eyes.clone(), e.left_eye.min(e.right_eye)));
            }
        }
        if let Some(s) = a.face_shape {
            *shapes.entry(s.label).or_default() += 1;
        }
        let mut note = |key: String, v: f32| evidence.entry(key).or_default().push(v);
        note(
            format!("frame probability, glasses={}", label.glasses),
            appearance::frame_probability(&features),
        );
        note(
            format!("lens darkness, glasses={}", label.glasses),
            features.lens_darkness,
        );
        note(
            format!("mouth opening, expression={}", label.expression),
            shape::mouth_opening(mesh),
        );
        let mut o = |key: &'static str, v: Option<f32>| {
            if let Some(v) = v {
                other.entry(key).or_default().push(v);
            }
        };
        o("beauty", a.beauty);
        o("spoofing", a.spoofing);
        o("liveness", a.liveness);
        o(
            "mask probability (answer mask=0 share below)",
            a.mask.map(|(m, _)| f32::from(u8::from(m))),
        );
        o(
            "cartoon (face_type=cartoon share)",
            a.face_type
                .map(|t| f32::from(u8::from(t.label == "cartoon"))),
        );
    }
    println!(
        "{} labelled photos, {} without a detected centre face.",
        labels.len(),
        missed
    );
    confusion("gender", &gender, &["male", "female"]);
    confusion("glasses", &glasses, &["none", "common", "sun"]);
    confusion("expression", &expression, &["none", "smile", "laugh"]);
    let mae = ages.iter().map(|(t, p)| (t - p).abs()).sum::<f32>() / ages.len().max(1) as f32;
    let n = ages.len() as f32;
    let (mt, mp) = (
        ages.iter().map(|a| a.0).sum::<f32>() / n,
        ages.iter().map(|a| a.1).sum::<f32>() / n,
    );
    let cov: f32 = ages.iter().map(|(t, p)| (t - mt) * (p - mp)).sum();
    let (vt, vp): (f32, f32) = (
        ages.iter().map(|(t, _)| (t - mt).powi(2)).sum(),
        ages.iter().map(|(_, p)| (p - mp).powi(2)).sum(),
    );
    println!(
        "\n**age**: mean absolute difference from the visual estimate {mae:.1} years, Pearson r = {:.2}, over {} faces.",
        cov / (vt * vp).sqrt(),
        ages.len()
    );
    for class in ["open", "closed"] {
        let v: Vec<f32> = eyes
            .iter()
            .filter(|(t, _)| t == class)
            .map(|e| e.1)
            .collect();
        println!(
            "\n**eye_status** (the lower eye) for eyes labelled {class}: n {}, p5 {:.2}, median {:.2}, p95 {:.2}; below 0.5: {}",
            v.len(),
            percentile(&v, 5.0),
            percentile(&v, 50.0),
            percentile(&v, 95.0),
            v.iter().filter(|x| **x < 0.5).count()
        );
    }
    println!("\n**face_shape** answers: {shapes:?}\n");
    println!("| evidence per labelled class | n | p5 | p25 | p50 | p75 | p95 |\n|---|---|---|---|---|---|---|");
    for (key, values) in &evidence {
        spread_row(key, values);
    }
    for (key, values) in &other {
        spread_row(key, values);
    }
    timings(engine, &labels)
}

/// Milliseconds per face for each attribute alone (after the face and its mesh are found),
/// median of 40 faces.
fn timings(engine: &Engine, labels: &[Label]) -> Res<()> {
    let mut faces = Vec::new();
    for label in labels.iter().take(40) {
        let image = load(&label.file)?;
        if let Some(face) = centre_face(engine, &image) {
            faces.push((image, face));
        }
    }
    println!("\n| attribute | median ms per face | p90 ms |\n|---|---|---|");
    let singles: [(&str, SetOne); 12] = [
        ("age", |w| w.age = true),
        ("gender", |w| w.gender = true),
        ("emotion", |w| w.emotion = true),
        ("expression", |w| w.expression = true),
        ("eye_status", |w| w.eye_status = true),
        ("glasses", |w| w.glasses = true),
        ("mask", |w| w.mask = true),
        ("face_shape", |w| w.face_shape = true),
        ("face_type", |w| w.face_type = true),
        ("beauty", |w| w.beauty = true),
        ("spoofing", |w| w.spoofing = true),
        ("liveness", |w| w.liveness = true),
    ];
    for (name, set) in singles {
        let mut wanted = Wanted::default();
        set(&mut wanted);
        let mut ms = Vec::new();
        for (image, face) in &faces {
            let mut face = face.clone();
            let t = Instant::now();
            engine.attributes(image, &mut face, &wanted)?;
            ms.push(t.elapsed().as_secs_f32() * 1000.0);
        }
        println!(
            "| {name} | {:.2} | {:.2} |",
            percentile(&ms, 50.0),
            percentile(&ms, 90.0)
        );
    }
    let mut ms = Vec::new();
    for (image, face) in &faces {
        let mut face = face.clone();
        face.mesh = None;
        let t = Instant::now();
        engine.add_mesh(image, &mut face)?;
        ms.push(t.elapsed().as_secs_f32() * 1000.0);
    }
    println!(
        "| (FaceMesh, once per face, default pack only) | {:.2} | {:.2} |",
        percentile(&ms, 50.0),
        percentile(&ms, 90.0)
    );
    Ok(())
}
