//! The face engine of faced: bytes in, faces out.
//!
//! It decodes an image under strict limits ([`decode`]), finds faces ([`detect`]), places
//! landmarks ([`landmarks`]), aligns each face to a canonical crop ([`geometry`]) and turns it
//! into an identity embedding ([`embed`]); on request it also measures the face's quality
//! ([`quality`]: illumination, blur, completeness, occlusion per region) and its attributes
//! ([`attributes`]: age, gender, emotion, eyes, glasses, mask, …), and reads Baidu's named
//! landmark sets off the 468-point mesh ([`landmark_sets`]). The models come
//! from a [`pack::ModelPack`] and run in-process on a small [`backend::Network`] abstraction
//! (tract today).
//!
//! The engine is pure computation: it knows nothing of HTTP, SQL, apps or Baidu error codes.
//! The service layer maps [`EngineError`] and [`decode::DecodeError`] to the wire's codes.

pub mod attributes;
pub mod backend;
pub mod blazeface;
pub mod decode;
pub mod detect;
pub mod dlib_resnet;
pub mod embed;
pub mod facemesh;
pub mod geometry;
pub mod landmark_sets;
pub mod landmarks;
pub mod pack;
pub mod quality;
pub mod tfjs;

mod engine;
mod error;

pub use engine::{AnalysedFace, Engine, FaceCrop};
pub use error::EngineError;
