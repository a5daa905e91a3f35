//! The inference backend: a network takes one f32 tensor and returns its outputs.
//!
//! Kept to one small trait so that another runtime (ONNX Runtime, a GPU backend) can be added
//! beside tract without touching the face pipeline.

use std::path::Path;
use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_tensorflow::tfpb::tensorflow::GraphDef;

use crate::EngineError;

/// A dense f32 tensor in row-major order, the only currency between the pipeline and a network.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor4 {
    /// Shape, e.g. `[1, 3, 112, 112]` for one NCHW image.
    pub shape: Vec<usize>,
    /// `shape.iter().product()` values.
    pub data: Vec<f32>,
}

/// One loaded network, callable from many threads at once.
pub trait Network: Send + Sync {
    /// Runs the network on one input and returns every output flattened, in graph order.
    fn run(&self, input: Tensor4) -> Result<Vec<Vec<f32>>, EngineError>;
}

/// A network executed by tract, optimised for one fixed input shape.
pub struct TractNetwork {
    name: &'static str,
    plan: Arc<TypedRunnableModel>,
}

impl TractNetwork {
    /// Loads an ONNX file and optimises it for `input_shape`, so each call skips shape analysis.
    pub fn load_onnx(
        name: &'static str,
        path: &Path,
        input_shape: &[usize],
    ) -> Result<Self, EngineError> {
        Self::load_onnx_with_outputs(name, path, input_shape, &[])
    }

    /// Like [`TractNetwork::load_onnx`], with the graph cut at the named nodes (their outputs
    /// become the network's); an empty list keeps the file's own outputs.
    pub fn load_onnx_with_outputs(
        name: &'static str,
        path: &Path,
        input_shape: &[usize],
        outputs: &[&str],
    ) -> Result<Self, EngineError> {
        let fail = |e: TractError| EngineError::Inference {
            model: name,
            message: format!("{e:#}"),
        };
        let mut model = tract_onnx::onnx().model_for_path(path).map_err(fail)?;
        if !outputs.is_empty() {
            model.select_outputs_by_name(outputs).map_err(fail)?;
            model = model.eliminate_dead_branches().map_err(fail)?;
        }
        let plan = model
            .with_input_fact(0, f32::fact(input_shape).into())
            .map_err(fail)?
            .into_optimized()
            .map_err(fail)?
            .into_runnable()
            .map_err(fail)?;
        Ok(Self { name, plan })
    }

    /// Builds a network from a TensorFlow `GraphDef` (a converted TensorFlow.js graph model, or
    /// a network written in code over a weights manifest), fed one NHWC f32 input of
    /// `input_shape` and answering the named `outputs` in that order.
    pub fn from_graph_def(
        name: &'static str,
        graph: &GraphDef,
        input_shape: &[usize],
        outputs: &[&str],
    ) -> Result<Self, EngineError> {
        let fail = |e: TractError| EngineError::Inference {
            model: name,
            message: format!("{e:#}"),
        };
        let mut model = crate::tfjs::tensorflow()
            .model_for_proto_model(graph)
            .map_err(fail)?;
        model
            .set_input_fact(0, f32::fact(input_shape).into())
            .map_err(fail)?;
        model.select_outputs_by_name(outputs).map_err(fail)?;
        let plan = model
            .into_optimized()
            .map_err(fail)?
            .into_runnable()
            .map_err(fail)?;
        Ok(Self { name, plan })
    }
}

impl Network for TractNetwork {
    fn run(&self, input: Tensor4) -> Result<Vec<Vec<f32>>, EngineError> {
        let fail = |e: TractError| EngineError::Inference {
            model: self.name,
            message: format!("{e:#}"),
        };
        let tensor =
            tract_ndarray::Array::from_shape_vec(input.shape, input.data).map_err(|e| {
                EngineError::Inference {
                    model: self.name,
                    message: e.to_string(),
                }
            })?;
        let _denormals = DenormalsAreZero::enter();
        let outputs = self
            .plan
            .run(tvec!(Tensor::from(tensor).into()))
            .map_err(fail)?;
        outputs
            .iter()
            .map(|t| {
                t.try_as_plain_ram()
                    .and_then(|v| v.as_slice::<f32>().map(|s| s.to_vec()))
                    .map_err(fail)
            })
            .collect()
    }
}

/// Flushes subnormal floats to zero while alive.
///
/// Several of the packaged models carry tens of thousands of subnormal weights; on x86 each
/// operation touching one costs ~100 cycles, which made some models several times slower.
/// Results are unchanged at the precision the models have.
struct DenormalsAreZero {
    #[cfg(target_arch = "x86_64")]
    saved: u32,
}

impl DenormalsAreZero {
    #[cfg(target_arch = "x86_64")]
    #[allow(deprecated)]
    fn enter() -> Self {
        use std::arch::x86_64::{_mm_getcsr, _mm_setcsr};
        // SAFETY: reading and writing MXCSR only changes this thread's float rounding flags;
        // FTZ (bit 15) and DAZ (bit 6) are supported by every x86_64 CPU with SSE2.
        let saved = unsafe { _mm_getcsr() };
        unsafe { _mm_setcsr(saved | 0x8040) };
        Self { saved }
    }

    #[cfg(not(target_arch = "x86_64"))]
    fn enter() -> Self {
        Self {}
    }
}

#[cfg(target_arch = "x86_64")]
impl Drop for DenormalsAreZero {
    #[allow(deprecated)]
    fn drop(&mut self) {
        // SAFETY: restores the flags saved in `enter` on the same thread.
        unsafe { std::arch::x86_64::_mm_setcsr(self.saved) };
    }
}
