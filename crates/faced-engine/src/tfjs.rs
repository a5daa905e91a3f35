//! TensorFlow.js model files, read in Rust and handed to tract: no conversion step outside the
//! binary, no Python.
//!
//! Two kinds of files ship in the npm packages faced uses:
//!
//! * **graph models** (`model.json` with `"format": "graph-model"`, e.g. `@vladmandic/human`'s
//!   BlazeFace and FaceMesh): a TensorFlow `GraphDef` written as JSON (`modelTopology.node`)
//!   plus a weights manifest. [`read_graph_model`] turns it into a protobuf `GraphDef` that
//!   tract's TensorFlow front end loads. TensorFlow.js's converter fuses ops that tract does not
//!   know (`_FusedConv2D`, `FusedDepthwiseConv2dNative`, `_FusedMatMul`, `Prelu`); they are
//!   expanded here into plain `Conv2D` / `DepthwiseConv2dNative` / `MatMul` + `BiasAdd` +
//!   activation nodes with the same meaning.
//! * **weights-only manifests** (`*-weights_manifest.json`, e.g. `@vladmandic/face-api`'s
//!   ResNet): the network is defined in code ([`GraphBuilder`]) and fed these weights.
//!
//! Weights are float32 or int32, possibly quantised as the manifest says: `float16` (IEEE
//! half) or `uint8`/`uint16` with `value = q · scale + min`. Everything is widened to f32.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;
use tract_onnx::prelude::f16;
use tract_tensorflow::tfpb::tensorflow::attr_value::{ListValue, Value as AttrKind};
use tract_tensorflow::tfpb::tensorflow::tensor_shape_proto::Dim;
use tract_tensorflow::tfpb::tensorflow::{
    AttrValue, DataType, GraphDef, NodeDef, TensorProto, TensorShapeProto,
};

use crate::EngineError;

/// A graph-model file or a weights manifest could not be read.
fn bad(model: &'static str, message: impl Into<String>) -> EngineError {
    EngineError::Inference {
        model,
        message: message.into(),
    }
}

/// One group of a weights manifest: shard files and the tensors packed into them, in order.
#[derive(Debug, Clone, Deserialize)]
pub struct WeightGroup {
    /// Shard files (relative to the manifest), concatenated in this order.
    pub paths: Vec<String>,
    /// The tensors, back to back in the concatenated shards.
    pub weights: Vec<WeightSpec>,
}

/// One tensor of a weights manifest.
#[derive(Debug, Clone, Deserialize)]
pub struct WeightSpec {
    /// Name the graph (or the code building it) refers to.
    pub name: String,
    /// Dimensions.
    pub shape: Vec<usize>,
    /// `float32` or `int32`.
    pub dtype: String,
    /// How the values are stored, when not as `dtype` itself.
    #[serde(default)]
    pub quantization: Option<Quantization>,
}

/// Storage of a quantised tensor.
#[derive(Debug, Clone, Deserialize)]
pub struct Quantization {
    /// `float16`, `uint8` or `uint16`.
    pub dtype: String,
    /// For integer quantisation: the step.
    #[serde(default)]
    pub scale: Option<f32>,
    /// For integer quantisation: the value of 0.
    #[serde(default)]
    pub min: Option<f32>,
}

/// A decoded tensor from a weights manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Weight {
    /// Dimensions.
    pub shape: Vec<usize>,
    /// The values.
    pub values: WeightValues,
}

/// The values of a [`Weight`]: floats for parameters, integers for shapes and axes.
#[derive(Debug, Clone, PartialEq)]
pub enum WeightValues {
    /// float32 (or a widened float16 / dequantised integer).
    F32(Vec<f32>),
    /// int32 (shape and axis constants).
    I32(Vec<i32>),
}

/// Reads and decodes every tensor of a weights manifest whose shards lie in `dir`.
pub fn read_weights(
    model: &'static str,
    groups: &[WeightGroup],
    dir: &Path,
) -> Result<HashMap<String, Weight>, EngineError> {
    let mut out = HashMap::new();
    for group in groups {
        let mut bytes = Vec::new();
        for shard in &group.paths {
            let path = dir.join(shard);
            let data = std::fs::read(&path).map_err(|source| EngineError::Io { path, source })?;
            bytes.extend_from_slice(&data);
        }
        let mut offset = 0usize;
        for spec in &group.weights {
            let (weight, used) = decode_weight(model, spec, &bytes[offset.min(bytes.len())..])?;
            offset += used;
            out.insert(spec.name.clone(), weight);
        }
        if offset != bytes.len() {
            return Err(bad(
                model,
                format!(
                    "weight shards hold {} bytes, the manifest describes {offset}",
                    bytes.len()
                ),
            ));
        }
    }
    Ok(out)
}

/// Decodes one tensor from the start of `bytes`; returns it and the bytes it used.
fn decode_weight(
    model: &'static str,
    spec: &WeightSpec,
    bytes: &[u8],
) -> Result<(Weight, usize), EngineError> {
    let count: usize = spec.shape.iter().product();
    let stored = spec
        .quantization
        .as_ref()
        .map_or(spec.dtype.as_str(), |q| q.dtype.as_str());
    let width = match stored {
        "float32" | "int32" => 4,
        "float16" | "uint16" => 2,
        "uint8" => 1,
        other => return Err(bad(model, format!("{}: storage {other}", spec.name))),
    };
    let used = count * width;
    let raw = bytes.get(..used).ok_or_else(|| {
        bad(
            model,
            format!("{}: shards end before the tensor does", spec.name),
        )
    })?;
    let floats: Vec<f32> = match stored {
        "float32" => raw
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        "float16" => raw
            .chunks_exact(2)
            .map(|b| f16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f32())
            .collect(),
        "int32" => {
            let ints = raw
                .chunks_exact(4)
                .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            return Ok((
                Weight {
                    shape: spec.shape.clone(),
                    values: WeightValues::I32(ints),
                },
                used,
            ));
        }
        _ => {
            let q = spec.quantization.as_ref();
            let (scale, min) = (
                q.and_then(|q| q.scale).unwrap_or(1.0),
                q.and_then(|q| q.min).unwrap_or(0.0),
            );
            let level = |i: usize| {
                if width == 1 {
                    f32::from(raw[i])
                } else {
                    f32::from(u16::from_le_bytes([raw[2 * i], raw[2 * i + 1]]))
                }
            };
            (0..count).map(|i| level(i) * scale + min).collect()
        }
    };
    let values = if spec.dtype == "int32" {
        WeightValues::I32(floats.iter().map(|v| v.round() as i32).collect())
    } else {
        WeightValues::F32(floats)
    };
    Ok((
        Weight {
            shape: spec.shape.clone(),
            values,
        },
        used,
    ))
}

/// The parts of a `model.json` faced reads.
#[derive(Debug, Deserialize)]
struct ModelJson {
    #[serde(rename = "modelTopology")]
    topology: Topology,
    #[serde(rename = "weightsManifest")]
    weights_manifest: Vec<WeightGroup>,
}

#[derive(Debug, Deserialize)]
struct Topology {
    node: Vec<JsonNode>,
}

/// A `NodeDef` as TensorFlow.js writes it.
#[derive(Debug, Deserialize)]
struct JsonNode {
    name: String,
    op: String,
    #[serde(default)]
    input: Vec<String>,
    #[serde(default)]
    attr: HashMap<String, Value>,
}

/// The ops tract's TensorFlow front end runs that these files use, after expansion.
const PLAIN_OPS: &[&str] = &[
    "Add",
    "AddV2",
    "AvgPool",
    "BiasAdd",
    "ConcatV2",
    "Const",
    "Conv2D",
    "DepthwiseConv2dNative",
    "Identity",
    "MatMul",
    "Maximum",
    "MaxPool",
    "Mean",
    "Minimum",
    "Mul",
    "Pad",
    "Placeholder",
    "RealDiv",
    "Relu",
    "Relu6",
    "Reshape",
    "Sigmoid",
    "Softmax",
    "Sub",
    "Tanh",
];

/// Reads a TensorFlow.js graph model (`model.json` and its shards, in the same folder) as a
/// `GraphDef` of ops tract knows.
pub fn read_graph_model(model: &'static str, json_path: &Path) -> Result<GraphDef, EngineError> {
    let text = std::fs::read(json_path).map_err(|source| EngineError::Io {
        path: json_path.to_path_buf(),
        source,
    })?;
    let parsed: ModelJson = serde_json::from_slice(&text)
        .map_err(|e| bad(model, format!("{}: {e}", json_path.display())))?;
    let dir = json_path.parent().unwrap_or_else(|| Path::new("."));
    let mut weights = read_weights(model, &parsed.weights_manifest, dir)?;
    // Paddings are constants in these files; they are folded into the pad node itself
    // (see [`CONST_PAD_OP`]), so read them before their `Const` nodes are consumed.
    let mut paddings = HashMap::new();
    for node in parsed.topology.node.iter().filter(|n| n.op == "Pad") {
        let name = node.input.get(1).map(String::as_str).unwrap_or_default();
        if let Some(w) = weights.get(name) {
            paddings.insert(node.name.clone(), w.clone());
        }
    }
    let mut builder = GraphBuilder::default();
    for node in parsed.topology.node {
        if node.op == "Pad" {
            let pads = paddings
                .remove(&node.name)
                .ok_or_else(|| bad(model, format!("{}: paddings are not constant", node.name)))?;
            let WeightValues::I32(pads) = pads.values else {
                return Err(bad(
                    model,
                    format!("{}: paddings are not integers", node.name),
                ));
            };
            let x = node.input.first().map(String::as_str).unwrap_or_default();
            builder.const_pad(&node.name, x, &pads);
            continue;
        }
        builder.add_json_node(model, node, &mut weights)?;
    }
    Ok(builder.finish())
}

/// The op name under which a zero pad with constant paddings reaches tract.
///
/// tract's TensorFlow `Pad` takes its paddings as a second input and cannot be optimised; with
/// the paddings known at load time they become an attribute (`pads`: before/after per axis)
/// of this op, which [`tensorflow`] maps to tract's own typed pad.
pub const CONST_PAD_OP: &str = "FacedConstPad";

/// tract's TensorFlow front end with faced's constant pad registered.
pub fn tensorflow() -> tract_tensorflow::Tensorflow {
    let mut tf = tract_tensorflow::tensorflow();
    tf.op_register.insert(CONST_PAD_OP, |_, node| {
        let flat: Vec<usize> = node.get_attr_list_int("pads")?;
        let pads = flat.chunks_exact(2).map(|p| (p[0], p[1])).collect();
        Ok(Box::new(tract_onnx::tract_hir::ops::array::Pad::new(
            pads,
            tract_onnx::tract_hir::ops::array::PadMode::Constant(std::sync::Arc::new(
                tract_onnx::prelude::Tensor::from(0f32),
            )),
        )))
    });
    tf
}

/// Builds a `GraphDef` node by node: used for converted graph models and for networks that
/// exist only as code plus a weights manifest.
#[derive(Debug, Default)]
pub struct GraphBuilder {
    nodes: Vec<NodeDef>,
}

impl GraphBuilder {
    /// The graph built so far.
    pub fn finish(self) -> GraphDef {
        GraphDef {
            node: self.nodes,
            ..GraphDef::default()
        }
    }

    /// Adds a node of `op` named `name` over `inputs` with `attrs`; returns its name.
    pub fn op(
        &mut self,
        name: &str,
        op: &str,
        inputs: &[&str],
        attrs: Vec<(&str, AttrValue)>,
    ) -> String {
        self.nodes.push(NodeDef {
            name: name.to_string(),
            op: op.to_string(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            device: String::new(),
            attr: attrs.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        });
        name.to_string()
    }

    /// Adds a zero pad of `x`: `pads` holds before/after counts per axis, flattened.
    pub fn const_pad(&mut self, name: &str, x: &str, pads: &[i32]) -> String {
        let pads: Vec<i64> = pads.iter().map(|&p| i64::from(p.max(0))).collect();
        self.op(name, CONST_PAD_OP, &[x], vec![("pads", ints(&pads))])
    }

    /// Adds a float32 placeholder of `shape` (NHWC for images).
    pub fn placeholder(&mut self, name: &str, shape: &[usize]) -> String {
        let shape = AttrValue {
            value: Some(AttrKind::Shape(shape_proto(shape))),
        };
        self.op(
            name,
            "Placeholder",
            &[],
            vec![("dtype", float_type()), ("shape", shape)],
        )
    }

    /// Adds a constant.
    pub fn constant(&mut self, name: &str, weight: &Weight) -> String {
        let (dtype, content) = match &weight.values {
            WeightValues::F32(v) => (
                DataType::DtFloat,
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ),
            WeightValues::I32(v) => (
                DataType::DtInt32,
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ),
        };
        let tensor = TensorProto {
            dtype: dtype as i32,
            tensor_shape: Some(shape_proto(&weight.shape)),
            tensor_content: content,
            ..TensorProto::default()
        };
        self.op(
            name,
            "Const",
            &[],
            vec![
                (
                    "dtype",
                    AttrValue {
                        value: Some(AttrKind::Type(dtype as i32)),
                    },
                ),
                (
                    "value",
                    AttrValue {
                        value: Some(AttrKind::Tensor(tensor)),
                    },
                ),
            ],
        )
    }

    /// Adds an activation of `x` named `name`: `Relu`, `Relu6`, or `Prelu` with per-channel
    /// slopes `alpha` (expanded as `relu(x) + alpha · min(x, 0)`).
    pub fn activation(
        &mut self,
        model: &'static str,
        name: &str,
        kind: &str,
        x: &str,
        alpha: Option<&str>,
    ) -> Result<String, EngineError> {
        match (kind, alpha) {
            ("Relu" | "Relu6" | "Sigmoid" | "Tanh", _) => {
                Ok(self.op(name, kind, &[x], vec![("T", float_type())]))
            }
            ("Prelu", Some(alpha)) => {
                let relu = self.op(&format!("{name}/__relu"), "Relu", &[x], vec![]);
                let zero = self.constant(
                    &format!("{name}/__zero"),
                    &Weight {
                        shape: vec![],
                        values: WeightValues::F32(vec![0.0]),
                    },
                );
                let negative = self.op(&format!("{name}/__neg"), "Minimum", &[x, &zero], vec![]);
                let scaled = self.op(
                    &format!("{name}/__scaled"),
                    "Mul",
                    &[&negative, alpha],
                    vec![],
                );
                Ok(self.op(name, "AddV2", &[&relu, &scaled], vec![]))
            }
            (other, _) => Err(bad(model, format!("{name}: activation {other}"))),
        }
    }

    /// Converts one TensorFlow.js node, expanding fused ops and attaching its weight.
    fn add_json_node(
        &mut self,
        model: &'static str,
        node: JsonNode,
        weights: &mut HashMap<String, Weight>,
    ) -> Result<(), EngineError> {
        let inputs: Vec<&str> = node
            .input
            .iter()
            .map(String::as_str)
            .filter(|i| !i.starts_with('^'))
            .collect();
        match node.op.as_str() {
            "Const" => {
                let weight = weights
                    .remove(&node.name)
                    .ok_or_else(|| bad(model, format!("{}: no weight", node.name)))?;
                self.constant(&node.name, &weight);
            }
            "_FusedConv2D" | "FusedDepthwiseConv2dNative" | "_FusedMatMul" => {
                self.add_fused(model, &node, &inputs)?;
            }
            "Prelu" => {
                let [x, alpha] = inputs[..] else {
                    return Err(bad(model, format!("{}: Prelu wants 2 inputs", node.name)));
                };
                self.activation(model, &node.name, "Prelu", x, Some(alpha))?;
            }
            op if PLAIN_OPS.contains(&op) => {
                let attrs = convert_attrs(model, &node)?;
                self.op(&node.name, op, &inputs, attrs);
            }
            other => {
                return Err(bad(
                    model,
                    format!("{}: op {other} is not supported", node.name),
                ))
            }
        }
        Ok(())
    }

    /// `_FusedConv2D(x, w, b[, alpha])` → `Conv2D` + `BiasAdd` [+ activation], and likewise for
    /// depthwise convolutions and `_FusedMatMul`.
    fn add_fused(
        &mut self,
        model: &'static str,
        node: &JsonNode,
        inputs: &[&str],
    ) -> Result<(), EngineError> {
        let fused: Vec<String> = node
            .attr
            .get("fused_ops")
            .map(|v| list_strings(model, &node.name, v))
            .transpose()?
            .unwrap_or_default();
        let base = match node.op.as_str() {
            "_FusedConv2D" => "Conv2D",
            "FusedDepthwiseConv2dNative" => "DepthwiseConv2dNative",
            _ => "MatMul",
        };
        let (&[x, w, bias], extra) = inputs.split_at(inputs.len().min(3)) else {
            return Err(bad(model, format!("{}: too few inputs", node.name)));
        };
        let [first, rest @ ..] = &fused[..] else {
            return Err(bad(model, format!("{}: no fused ops", node.name)));
        };
        if first != "BiasAdd" || rest.len() > 1 {
            return Err(bad(
                model,
                format!("{}: fused ops {fused:?} are not supported", node.name),
            ));
        }
        let mut attrs = convert_attrs(model, node)?;
        attrs.retain(|(k, _)| {
            !matches!(*k, "fused_ops" | "num_args" | "epsilon" | "leakyrelu_alpha")
        });
        let core = self.op(&format!("{}/__core", node.name), base, &[x, w], attrs);
        match rest.first() {
            None => {
                self.op(&node.name, "BiasAdd", &[&core, bias], vec![]);
            }
            Some(kind) => {
                let biased = self.op(
                    &format!("{}/__bias", node.name),
                    "BiasAdd",
                    &[&core, bias],
                    vec![],
                );
                self.activation(model, &node.name, kind, &biased, extra.first().copied())?;
            }
        }
        Ok(())
    }
}

/// A list-of-integers attribute (`strides`, `ksize`, …).
pub fn ints(values: &[i64]) -> AttrValue {
    AttrValue {
        value: Some(AttrKind::List(ListValue {
            i: values.to_vec(),
            ..ListValue::default()
        })),
    }
}

/// The `Tidx` / `Tshape` attribute of int32 index inputs.
pub fn int_type() -> AttrValue {
    AttrValue {
        value: Some(AttrKind::Type(DataType::DtInt32 as i32)),
    }
}

/// A string attribute (`padding`, `data_format`).
pub fn text(s: &str) -> AttrValue {
    AttrValue {
        value: Some(AttrKind::S(s.as_bytes().to_vec())),
    }
}

/// The `T` attribute of float ops.
pub fn float_type() -> AttrValue {
    AttrValue {
        value: Some(AttrKind::Type(DataType::DtFloat as i32)),
    }
}

fn shape_proto(shape: &[usize]) -> TensorShapeProto {
    TensorShapeProto {
        dim: shape
            .iter()
            .map(|&size| Dim {
                size: size as i64,
                name: String::new(),
            })
            .collect(),
        unknown_rank: false,
    }
}

/// The attributes of a JSON node as protobuf values, under `'static` keys tract reads.
fn convert_attrs(
    model: &'static str,
    node: &JsonNode,
) -> Result<Vec<(&'static str, AttrValue)>, EngineError> {
    const KEYS: &[&str] = &[
        "T",
        "Tidx",
        "Tshape",
        "Tpaddings",
        "N",
        "data_format",
        "strides",
        "padding",
        "dilations",
        "ksize",
        "keep_dims",
        "transpose_a",
        "transpose_b",
        "dtype",
        "shape",
        "fused_ops",
        "num_args",
        "epsilon",
        "leakyrelu_alpha",
    ];
    let mut out = Vec::new();
    for (key, value) in &node.attr {
        // Converter bookkeeping (`_cloned`, `explicit_paddings`, `use_cudnn_on_gpu`, …) has no
        // bearing on the arithmetic.
        let Some(&key) = KEYS.iter().find(|k| **k == key.as_str()) else {
            continue;
        };
        out.push((key, attr_value(model, &node.name, value)?));
    }
    Ok(out)
}

fn attr_value(model: &'static str, node: &str, v: &Value) -> Result<AttrValue, EngineError> {
    let fail = |what: &str| bad(model, format!("{node}: attribute {what} unreadable"));
    let kind = if let Some(s) = v.get("s") {
        AttrKind::S(base64_bytes(s).ok_or_else(|| fail("s"))?)
    } else if let Some(i) = v.get("i") {
        AttrKind::I(json_int(i).ok_or_else(|| fail("i"))?)
    } else if let Some(f) = v.get("f") {
        AttrKind::F(f.as_f64().ok_or_else(|| fail("f"))? as f32)
    } else if let Some(b) = v.get("b") {
        AttrKind::B(b.as_bool().ok_or_else(|| fail("b"))?)
    } else if let Some(t) = v.get("type") {
        AttrKind::Type(
            data_type(t.as_str().ok_or_else(|| fail("type"))?).ok_or_else(|| fail("type"))?,
        )
    } else if let Some(shape) = v.get("shape") {
        AttrKind::Shape(json_shape(shape).ok_or_else(|| fail("shape"))?)
    } else if let Some(list) = v.get("list") {
        let ints = list
            .get("i")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(json_int).collect::<Option<Vec<_>>>())
            .unwrap_or(Some(Vec::new()))
            .ok_or_else(|| fail("list.i"))?;
        let strings = list
            .get("s")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(base64_bytes).collect::<Option<Vec<_>>>())
            .unwrap_or(Some(Vec::new()))
            .ok_or_else(|| fail("list.s"))?;
        let floats = list
            .get("f")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|x| x.as_f64().map(|x| x as f32))
                    .collect::<Option<Vec<_>>>()
            })
            .unwrap_or(Some(Vec::new()))
            .ok_or_else(|| fail("list.f"))?;
        AttrKind::List(ListValue {
            s: strings,
            i: ints,
            f: floats,
            ..ListValue::default()
        })
    } else {
        return Err(fail("of unknown kind"));
    };
    Ok(AttrValue { value: Some(kind) })
}

fn list_strings(model: &'static str, node: &str, v: &Value) -> Result<Vec<String>, EngineError> {
    v.get("list")
        .and_then(|l| l.get("s"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|s| base64_bytes(s).and_then(|b| String::from_utf8(b).ok()))
                .collect::<Option<Vec<_>>>()
        })
        .unwrap_or(Some(Vec::new()))
        .ok_or_else(|| bad(model, format!("{node}: fused_ops unreadable")))
}

/// JSON protobuf writes int64 as strings, int32 sometimes as numbers.
fn json_int(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str()?.parse().ok())
}

fn json_shape(v: &Value) -> Option<TensorShapeProto> {
    let dims = match v.get("dim") {
        Some(d) => d.as_array()?.clone(),
        None => Vec::new(),
    };
    Some(TensorShapeProto {
        dim: dims
            .iter()
            .map(|d| {
                Some(Dim {
                    size: d.get("size").map_or(Some(-1), json_int)?,
                    name: String::new(),
                })
            })
            .collect::<Option<Vec<_>>>()?,
        unknown_rank: v
            .get("unknownRank")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

fn data_type(name: &str) -> Option<i32> {
    // The first 30 codes cover every plain type (DT_FLOAT = 1 … DT_UINT64 = 23).
    (0..30).find(|&code| DataType::try_from(code).is_ok_and(|t| t.as_str_name() == name))
}

/// Standard base64 (JSON protobuf's encoding of `bytes`).
fn base64_bytes(v: &Value) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(v.as_str()?)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, shape: &[usize], dtype: &str, q: Option<Quantization>) -> WeightSpec {
        WeightSpec {
            name: name.into(),
            shape: shape.to_vec(),
            dtype: dtype.into(),
            quantization: q,
        }
    }

    #[test]
    fn decodes_every_storage() {
        let mut bytes = Vec::new();
        bytes.extend(1.5f32.to_le_bytes());
        bytes.extend(f16::from_f32(-2.0).to_bits().to_le_bytes());
        bytes.extend([0u8, 10]);
        bytes.extend(7i32.to_le_bytes());
        let specs = [
            spec("a", &[1], "float32", None),
            spec(
                "b",
                &[1],
                "float32",
                Some(Quantization {
                    dtype: "float16".into(),
                    scale: None,
                    min: None,
                }),
            ),
            spec(
                "c",
                &[2],
                "float32",
                Some(Quantization {
                    dtype: "uint8".into(),
                    scale: Some(0.5),
                    min: Some(-1.0),
                }),
            ),
            spec("d", &[1], "int32", None),
        ];
        let mut offset = 0;
        let mut got = Vec::new();
        for s in &specs {
            let (w, used) = decode_weight("test", s, &bytes[offset..]).expect("decodes");
            offset += used;
            got.push(w.values);
        }
        assert_eq!(offset, bytes.len());
        assert_eq!(
            got,
            vec![
                WeightValues::F32(vec![1.5]),
                WeightValues::F32(vec![-2.0]),
                WeightValues::F32(vec![-1.0, 4.0]),
                WeightValues::I32(vec![7]),
            ]
        );
    }

    #[test]
    fn short_shards_are_an_error_not_a_panic() {
        let s = spec("a", &[4, 4], "float32", None);
        assert!(decode_weight("test", &s, &[0u8; 10]).is_err());
    }

    #[test]
    fn base64_matches_known_strings() {
        assert_eq!(
            base64_bytes(&Value::from("TkhXQw==")).as_deref(),
            Some(&b"NHWC"[..])
        );
        assert_eq!(
            base64_bytes(&Value::from("U0FNRQ==")).as_deref(),
            Some(&b"SAME"[..])
        );
        assert_eq!(
            base64_bytes(&Value::from("Qmlhc0FkZA==")).as_deref(),
            Some(&b"BiasAdd"[..])
        );
        assert!(base64_bytes(&Value::from("not base64!")).is_none());
    }
}
