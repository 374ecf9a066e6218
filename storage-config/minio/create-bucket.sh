#!/bin/sh
# Runs in the minio/mc image: creates the archive bucket (private: every read goes through ciku's access
# decision, never straight to MinIO), turns on versioning as a second safety net, and applies the lifecycle rule
# that aborts abandoned multipart uploads.
set -eu
mc alias set ciku "$S3_ENDPOINT" "$S3_ACCESS_KEY" "$S3_SECRET_KEY"
mc mb --ignore-existing "ciku/$S3_BUCKET"
mc anonymous set none "ciku/$S3_BUCKET"
mc version enable "ciku/$S3_BUCKET"
mc ilm import "ciku/$S3_BUCKET" < /config/lifecycle.json
