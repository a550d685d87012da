//! The WebGPU glue the classes share: the browser's device, backend
//! preferences and fault injection named in JS.

use wasm_bindgen::prelude::*;

use super::{invalid, to_js};

/// A fault named in JS (`"lose-device"`, `"fail-readback"`).
#[cfg(feature = "gpu")]
pub(super) fn fault_named(kind: &str, after: u32) -> Result<crate::gpu::Fault, JsValue> {
    use crate::gpu::Fault;
    match kind {
        "lose-device" => Ok(Fault::LoseDevice { after }),
        "fail-readback" => Ok(Fault::FailReadback { after }),
        other => Err(invalid(&format!(
            "injectGpuFault: {other:?} is not \"lose-device\" or \"fail-readback\""
        ))),
    }
}

/// A backend preference named in JS (absent: `"auto"`).
#[cfg(feature = "gpu")]
pub(super) fn preference_named(
    name: Option<String>,
) -> Result<crate::encoder::backend::BackendPreference, JsValue> {
    name.as_deref().unwrap_or("auto").parse().map_err(to_js)
}

/// The browser's WebGPU device, or `None` when there is none and `preference` allows the CPU.
#[cfg(feature = "gpu")]
pub(super) async fn gpu_context(
    preference: crate::encoder::backend::BackendPreference,
) -> Result<Option<std::sync::Arc<crate::gpu::GpuContext>>, JsValue> {
    use crate::encoder::backend::BackendPreference;
    if preference == BackendPreference::Cpu {
        return Ok(None);
    }
    match crate::gpu::GpuContext::acquire().await {
        // One thread here; the API shares the context as an Arc for native threads.
        #[allow(clippy::arc_with_non_send_sync)]
        Ok(ctx) => Ok(Some(std::sync::Arc::new(ctx))),
        Err(_) if preference == BackendPreference::Auto => Ok(None),
        Err(e) => Err(to_js(e.into())),
    }
}
