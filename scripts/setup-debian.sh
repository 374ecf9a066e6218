#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks for ciku, then the npm dependencies. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
# better-sqlite3 (the embedded search index) compiles from source when its prebuilt binary cannot be downloaded.
command -v g++ >/dev/null 2>&1 || need+=(build-essential)
command -v python3 >/dev/null 2>&1 || need+=(python3)
# The portal's browser tests and bench (playwright-core drives Debian's Chromium; nothing is downloaded) and the
# CJK fonts its pages and screenshots are drawn with.
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -d /usr/share/fonts/opentype/noto ] && fc-list 2>/dev/null | grep -q "Noto Sans CJK" || need+=(fonts-noto-cjk)
# Documents (issue 17): poppler for PDFs, Tesseract 5 with the Chinese (horizontal and vertical) and English models
# for OCR, LibreOffice headless (no GUI) for office text and PDF copies, xmllint to check hOCR and XMP by hand.
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
command -v tesseract >/dev/null 2>&1 || need+=(tesseract-ocr)
for model in chi-sim chi-tra chi-sim-vert chi-tra-vert eng; do
  dpkg -s "tesseract-ocr-$model" >/dev/null 2>&1 || need+=("tesseract-ocr-$model")
done
command -v xmllint >/dev/null 2>&1 || need+=(libxml2-utils)
office=()
command -v soffice >/dev/null 2>&1 || office+=(libreoffice-core-nogui)
for part in writer calc impress; do
  dpkg -s "libreoffice-$part-nogui" >/dev/null 2>&1 || dpkg -s "libreoffice-$part" >/dev/null 2>&1 ||
    office+=("libreoffice-$part-nogui")
done
# A real S3 server for the storage tests (.ci/run starts it: scripts/dev/s3-ceph.sh): Ceph's RADOS Gateway on a
# single-node cluster. Installed without recommends (no systemd units are enabled; our script runs the daemons).
lean=()
for p in ceph-mon ceph-osd ceph-mgr radosgw ceph-common; do
  dpkg -s "$p" >/dev/null 2>&1 || lean+=("$p")
done
if [ ${#need[@]} -gt 0 ] || [ ${#office[@]} -gt 0 ] || [ ${#lean[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  [ ${#need[@]} -gt 0 ] && echo "installing Debian packages: ${need[*]}"
  $SUDO apt-get update -qq
  [ ${#need[@]} -gt 0 ] && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
  # LibreOffice without its recommends: no Java, no GUI toolkits, a few hundred MB less.
  if [ ${#office[@]} -gt 0 ]; then
    echo "installing LibreOffice (headless): ${office[*]}"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${office[@]}" >/dev/null
  fi
  if [ ${#lean[@]} -gt 0 ]; then
    echo "installing Ceph (mon, osd, mgr, radosgw): ${lean[*]}"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${lean[@]}" >/dev/null
  fi
fi

npm ci --no-audit --no-fund
