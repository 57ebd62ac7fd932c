#!/usr/bin/env bash
# GPU check of `augstudy ablate` on a CUDA machine: benchmarks/gpu_check.sh OUTDIR
#
# Needs python3.11 (or python3) with pip; torch is reused from the system when present
# (the venv sees system site-packages), else installed from PyPI. Never hangs: every step
# has a timeout; everything is printed and logged to OUTDIR/gpu_check.log; the results
# table is OUTDIR/gpu_check.md (written section by section, so a timeout keeps what finished).
# Sections (gpu_check.py): 1 study verdicts on the device vs CPU, 2 img/s and augmentation share,
# 3 MFU, 5 loop overhead share + checkpoint cost, 6 fp32 vs bf16 and torch.compile, then 4 a real study.
# Target: under 8 minutes on one H100.
# Test run on a CPU: GPU_CHECK_VENV=.venv GPU_CHECK_DEVICE=cpu GPU_CHECK_ARGS=--quick benchmarks/gpu_check.sh /tmp/out
set -u
OUT=${1:?usage: benchmarks/gpu_check.sh OUTDIR}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
cd "$(dirname "$0")/.."
exec > >(tee -a "$OUT/gpu_check.log") 2>&1
START=$(date +%s)
elapsed() { echo $(( $(date +%s) - START )); }
echo "== augstudy gpu_check $(date -u +%FT%TZ) in $(pwd) -> $OUT"
timeout 20 nvidia-smi || echo "(nvidia-smi not available)"

PY=""
for cand in python3.11 python3; do
  if command -v "$cand" >/dev/null 2>&1; then PY=$cand; break; fi
done
[ -n "$PY" ] || { echo "error: no python3.11/python3 on PATH"; exit 2; }
echo "== python: $($PY --version 2>&1)"

VENV=${GPU_CHECK_VENV:-.gpucheck-venv}
if [ ! -x "$VENV/bin/python" ]; then
  timeout 120 "$PY" -m venv --system-site-packages "$VENV" || { echo "error: cannot create $VENV"; exit 2; }
fi
VPY="$VENV/bin/python"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_PROGRESS_BAR=off
if ! timeout 60 "$VPY" -c "import torch, torchvision" 2>/dev/null; then
  echo "== installing torch/torchvision (not found)"
  timeout 600 "$VPY" -m pip install -q "torch==2.14.1" "torchvision==0.29.1" \
    || timeout 600 "$VPY" -m pip install -q torch torchvision \
    || { echo "error: cannot install torch"; exit 2; }
fi
HERE=$(pwd)
if timeout 60 "$VPY" -c "import augstudy.ablation.execution.train, tensorboard, scipy, yaml, click, sys; sys.exit(not augstudy.__file__.startswith('$HERE/'))" 2>/dev/null; then
  echo "== augstudy already installed from $HERE in $VENV"
elif echo "== installing augstudy (pip install -e .) at $(elapsed) s" && ! timeout 400 "$VPY" -m pip install -q -e . ; then
  echo "warning: full install failed; trying without dependencies (ablate needs: torch, torchvision, numpy, scipy, PyYAML, click, tqdm, tensorboard)"
  timeout 120 "$VPY" -m pip install -q --no-deps -e . || { echo "error: cannot install augstudy"; exit 2; }
fi
timeout 120 "$VPY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"

LEFT=$(( 470 - $(elapsed) ))
[ "$LEFT" -lt 120 ] && LEFT=120
echo "== gpu_check.py with a ${LEFT} s budget at $(elapsed) s"
AUGSTUDY_NO_PROGRESS=1 timeout $(( LEFT + 60 )) "$VPY" benchmarks/gpu_check.py --device "${GPU_CHECK_DEVICE:-cuda}" \
  --out "$OUT" --budget-s "$LEFT" ${GPU_CHECK_ARGS:-}
RC=$?
echo "== done in $(elapsed) s, exit $RC; results: $OUT/gpu_check.md"
exit $RC
