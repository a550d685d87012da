//! Elapsed wall time, natively and in the browser (where `std::time::Instant`
//! is unavailable).

/// Measures elapsed wall time, natively and in the browser (where
/// `std::time::Instant` is unavailable): `performance.now()`, else `Date.now()`.
pub struct Stopwatch {
    #[cfg(not(target_arch = "wasm32"))]
    start: std::time::Instant,
    #[cfg(target_arch = "wasm32")]
    start: f64,
}

impl Stopwatch {
    pub fn start() -> Self {
        #[cfg(not(target_arch = "wasm32"))]
        return Self {
            start: std::time::Instant::now(),
        };
        #[cfg(target_arch = "wasm32")]
        Self { start: js_now_ms() }
    }

    pub fn elapsed_ms(&self) -> f64 {
        #[cfg(not(target_arch = "wasm32"))]
        return self.start.elapsed().as_secs_f64() * 1e3;
        #[cfg(target_arch = "wasm32")]
        (js_now_ms() - self.start)
    }
}

#[cfg(target_arch = "wasm32")]
fn js_now_ms() -> f64 {
    use wasm_bindgen::JsCast;
    let global = js_sys::global();
    let performance = js_sys::Reflect::get(&global, &"performance".into())
        .ok()
        .filter(|p| p.is_object());
    if let Some(p) = performance {
        let now = js_sys::Reflect::get(&p, &"now".into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        if let Some(v) = now.and_then(|f| f.call0(&p).ok()).and_then(|v| v.as_f64()) {
            return v;
        }
    }
    js_sys::Date::now()
}
