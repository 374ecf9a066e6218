FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg redis-tools ca-certificates \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
ENV HOST=0.0.0.0
# One glibc malloc arena per libvips thread fragments a long-running worker's memory (~370 → ~240 MiB).
ENV MALLOC_ARENA_MAX=2
# bin/ciku.js's shebang carries the Node flags (services/node-flags.ts; test/node-flags.test.ts keeps them equal).
ENTRYPOINT ["/app/bin/ciku.js"]
