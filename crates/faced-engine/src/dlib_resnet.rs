//! dlib's face-recognition ResNet-29 (128-d, public domain), the clean pack's embedder.
//!
//! `@vladmandic/face-api@1.7.15` ships only its weights (a TensorFlow.js weights manifest,
//! uint8-quantised); the network is defined here, as face-api's `FaceRecognitionNet` defines
//! it: conv 7×7/2 (32) → max-pool 3×3/2 → residual blocks 32×3, 64 (down) + 3, 128 (down) + 2,
//! 256 (down) + 2, 256 (down) → global mean → fully connected 256×128. Each convolution is
//! followed by its bias and a per-channel scale `x·w + b`. A "down" block starts with a
//! stride-2 valid convolution; its shortcut is the input average-pooled 2×2 and zero-padded in
//! channels (and the branch zero-padded by a row and column where the sizes differ by one).
//!
//! Input: the face chip, 150×150 RGB 0–255, from which the network subtracts the mean
//! `[122.782, 117.001, 104.298]` and divides by 255. Output: 128 floats, L2-normalised here.

use std::collections::HashMap;
use std::path::Path;

use image::RgbImage;
use tract_tensorflow::tfpb::tensorflow::attr_value::Value as AttrKind;
use tract_tensorflow::tfpb::tensorflow::AttrValue;

use crate::backend::{Network, Tensor4, TractNetwork};
use crate::embed::normalise;
use crate::geometry::{sample_rgb, Affine, Border, Point};
use crate::tfjs::{
    float_type, int_type, ints, read_weights, text, GraphBuilder, Weight, WeightGroup, WeightValues,
};
use crate::EngineError;

/// Side of the face chip.
pub const CHIP_SIDE: u32 = 150;
/// Length of the embedding.
pub const DIM: usize = 128;
const NAME: &str = "dlib_resnet";
const MEAN_RGB: [f32; 3] = [122.782, 117.001, 104.298];

/// Where the five points (image-left eye, image-right eye, nose tip, mouth corners) fall in
/// dlib's own 150×150 chip (padding 0.25), measured on dlib's chips.
pub const CHIP_TEMPLATE: [Point; 5] = [
    Point::new(47.54, 46.38),
    Point::new(100.26, 46.38),
    Point::new(73.60, 76.30),
    Point::new(51.38, 101.39),
    Point::new(96.99, 101.59),
];

/// The residual stages: (block name, down-sampling).
const BLOCKS: [(&str, bool); 14] = [
    ("conv32_1", false),
    ("conv32_2", false),
    ("conv32_3", false),
    ("conv64_down", true),
    ("conv64_1", false),
    ("conv64_2", false),
    ("conv64_3", false),
    ("conv128_down", true),
    ("conv128_1", false),
    ("conv128_2", false),
    ("conv256_down", true),
    ("conv256_1", false),
    ("conv256_2", false),
    ("conv256_down_out", true),
];

/// The loaded ResNet-29.
pub struct DlibResNet {
    net: Box<dyn Network>,
    add_mirror: bool,
}

impl DlibResNet {
    /// Reads `face_recognition_model-weights_manifest.json` (and its shard beside it) and
    /// builds the network; `add_mirror` adds the mirrored chip's embedding.
    pub fn load(manifest: &Path, add_mirror: bool) -> Result<Self, EngineError> {
        let text = std::fs::read(manifest).map_err(|source| EngineError::Io {
            path: manifest.to_path_buf(),
            source,
        })?;
        let groups: Vec<WeightGroup> =
            serde_json::from_slice(&text).map_err(|e| EngineError::Inference {
                model: NAME,
                message: format!("{}: {e}", manifest.display()),
            })?;
        let dir = manifest.parent().unwrap_or_else(|| Path::new("."));
        let weights = read_weights(NAME, &groups, dir)?;
        let graph = build(&weights)?;
        let side = CHIP_SIDE as usize;
        let net = TractNetwork::from_graph_def(NAME, &graph, &[1, side, side, 3], &["embedding"])?;
        Ok(Self {
            net: Box::new(net),
            add_mirror,
        })
    }

    /// The unit-length embedding of the face whose five points are given.
    pub fn embed(&self, image: &RgbImage, five: &[Point; 5]) -> Result<Vec<f32>, EngineError> {
        let to_chip = Affine::similarity(five, &CHIP_TEMPLATE).ok_or(EngineError::Inference {
            model: NAME,
            message: "degenerate landmarks".into(),
        })?;
        let chip = sample_rgb(image, &to_chip, CHIP_SIDE, CHIP_SIDE, Border::Replicate);
        let mut embedding = self.run(chip.clone())?;
        if self.add_mirror {
            let mirrored = crate::embed::mirror(&chip, CHIP_SIDE);
            for (e, m) in embedding.iter_mut().zip(self.run(mirrored)?) {
                *e += m;
            }
        }
        normalise(&mut embedding);
        Ok(embedding)
    }

    fn run(&self, chip: Vec<f32>) -> Result<Vec<f32>, EngineError> {
        let side = CHIP_SIDE as usize;
        let mut outputs = self.net.run(Tensor4 {
            shape: vec![1, side, side, 3],
            data: chip,
        })?;
        let mut embedding = outputs.drain(..).next().unwrap_or_default();
        if embedding.len() != DIM {
            return Err(EngineError::Inference {
                model: NAME,
                message: format!("embedding has {} values", embedding.len()),
            });
        }
        normalise(&mut embedding);
        Ok(embedding)
    }
}

/// The network as a graph over the manifest's weights.
fn build(
    weights: &HashMap<String, Weight>,
) -> Result<tract_tensorflow::tfpb::tensorflow::GraphDef, EngineError> {
    let mut g = Net {
        b: GraphBuilder::default(),
        weights,
    };
    let input =
        g.b.placeholder("input", &[1, CHIP_SIDE as usize, CHIP_SIDE as usize, 3]);
    let mean = g.vector("mean_rgb", MEAN_RGB.to_vec());
    let centred = g.b.op("centred", "Sub", &[&input, &mean], vec![]);
    let inv = g.vector("inv_255", vec![1.0 / 255.0]);
    let x = g.b.op("normalised", "Mul", &[&centred, &inv], vec![]);
    let x = g.conv(&x, "conv32_down", 2, true)?;
    let mut x = g.b.op(
        "pool",
        "MaxPool",
        &[&x],
        vec![
            ("ksize", ints(&[1, 3, 3, 1])),
            ("strides", ints(&[1, 2, 2, 1])),
            ("padding", text("VALID")),
            ("data_format", text("NHWC")),
        ],
    );
    // Spatial sizes through the network (150 → 72 → 35 → 17 → 8 → 3 (4) → 1 (2)) decide the
    // padding of each down block's branch.
    let mut side = 35usize;
    let mut channels = 32usize;
    for (name, down) in BLOCKS {
        if down {
            let out_channels = g.channels_of(&format!("{name}/conv1"))?;
            x = g.residual_down(&x, name, side, channels, out_channels)?;
            side /= 2;
            channels = out_channels;
        } else {
            x = g.residual(&x, name)?;
        }
    }
    let axes = g.int_vector("pool_axes", vec![1, 2]);
    let pooled = g.b.op(
        "global_mean",
        "Mean",
        &[&x, &axes],
        vec![
            ("T", float_type()),
            ("Tidx", int_type()),
            (
                "keep_dims",
                AttrValue {
                    value: Some(AttrKind::B(false)),
                },
            ),
        ],
    );
    let fc = g.weight("fc")?;
    let no = || AttrValue {
        value: Some(AttrKind::B(false)),
    };
    g.b.op(
        "embedding",
        "MatMul",
        &[&pooled, &fc],
        vec![
            ("T", float_type()),
            ("transpose_a", no()),
            ("transpose_b", no()),
        ],
    );
    Ok(g.b.finish())
}

/// Builder state: the graph and the weights it draws on.
struct Net<'a> {
    b: GraphBuilder,
    weights: &'a HashMap<String, Weight>,
}

impl Net<'_> {
    fn weight(&mut self, name: &str) -> Result<String, EngineError> {
        let w = self
            .weights
            .get(name)
            .ok_or_else(|| EngineError::Inference {
                model: NAME,
                message: format!("the manifest has no {name}"),
            })?;
        Ok(self.b.constant(name, w))
    }

    fn vector(&mut self, name: &str, values: Vec<f32>) -> String {
        let shape = vec![values.len()];
        self.b.constant(
            name,
            &Weight {
                shape,
                values: WeightValues::F32(values),
            },
        )
    }

    fn int_vector(&mut self, name: &str, values: Vec<i32>) -> String {
        let shape = vec![values.len()];
        self.b.constant(
            name,
            &Weight {
                shape,
                values: WeightValues::I32(values),
            },
        )
    }

    fn channels_of(&self, prefix: &str) -> Result<usize, EngineError> {
        self.weights
            .get(&format!("{prefix}/conv/filters"))
            .and_then(|w| w.shape.get(3).copied())
            .ok_or_else(|| EngineError::Inference {
                model: NAME,
                message: format!("the manifest has no {prefix}/conv/filters"),
            })
    }

    /// conv (stride 1 same, or stride 2 valid) + bias + scale [+ relu].
    fn conv(
        &mut self,
        x: &str,
        prefix: &str,
        stride: i64,
        relu: bool,
    ) -> Result<String, EngineError> {
        let filters = self.weight(&format!("{prefix}/conv/filters"))?;
        let bias = self.weight(&format!("{prefix}/conv/bias"))?;
        let scale_w = self.weight(&format!("{prefix}/scale/weights"))?;
        let scale_b = self.weight(&format!("{prefix}/scale/biases"))?;
        let padding = if stride == 1 { "SAME" } else { "VALID" };
        let conv = self.b.op(
            &format!("{prefix}/conv"),
            "Conv2D",
            &[x, &filters],
            vec![
                ("strides", ints(&[1, stride, stride, 1])),
                ("padding", text(padding)),
                ("data_format", text("NHWC")),
                ("dilations", ints(&[1, 1, 1, 1])),
            ],
        );
        let biased = self.b.op(
            &format!("{prefix}/bias"),
            "BiasAdd",
            &[&conv, &bias],
            vec![],
        );
        let scaled = self.b.op(
            &format!("{prefix}/scale"),
            "Mul",
            &[&biased, &scale_w],
            vec![],
        );
        let shifted = self.b.op(
            &format!("{prefix}/shift"),
            "AddV2",
            &[&scaled, &scale_b],
            vec![],
        );
        Ok(if relu {
            self.b
                .op(&format!("{prefix}/relu"), "Relu", &[&shifted], vec![])
        } else {
            shifted
        })
    }

    fn residual(&mut self, x: &str, name: &str) -> Result<String, EngineError> {
        let a = self.conv(x, &format!("{name}/conv1"), 1, true)?;
        let b = self.conv(&a, &format!("{name}/conv2"), 1, false)?;
        let sum = self.b.op(&format!("{name}/sum"), "AddV2", &[&b, x], vec![]);
        Ok(self.b.op(&format!("{name}/out"), "Relu", &[&sum], vec![]))
    }

    fn residual_down(
        &mut self,
        x: &str,
        name: &str,
        side: usize,
        in_channels: usize,
        out_channels: usize,
    ) -> Result<String, EngineError> {
        let a = self.conv(x, &format!("{name}/conv1"), 2, true)?;
        let mut branch = self.conv(&a, &format!("{name}/conv2"), 1, false)?;
        let branch_side = (side - 3) / 2 + 1;
        let pooled_side = side / 2;
        if branch_side < pooled_side {
            let extra = (pooled_side - branch_side) as i32;
            branch = self.b.const_pad(
                &format!("{name}/branch_padded"),
                &branch,
                &[0, 0, 0, extra, 0, extra, 0, 0],
            );
        }
        let mut shortcut = self.b.op(
            &format!("{name}/pool"),
            "AvgPool",
            &[x],
            vec![
                ("ksize", ints(&[1, 2, 2, 1])),
                ("strides", ints(&[1, 2, 2, 1])),
                ("padding", text("VALID")),
                ("data_format", text("NHWC")),
            ],
        );
        if out_channels > in_channels {
            let extra = (out_channels - in_channels) as i32;
            shortcut = self.b.const_pad(
                &format!("{name}/shortcut_padded"),
                &shortcut,
                &[0, 0, 0, 0, 0, 0, 0, extra],
            );
        }
        let sum = self.b.op(
            &format!("{name}/sum"),
            "AddV2",
            &[&branch, &shortcut],
            vec![],
        );
        Ok(self.b.op(&format!("{name}/out"), "Relu", &[&sum], vec![]))
    }
}
