# The gateway image: built with pnpm on Node 24, run as a non-root user.
FROM node:24-bookworm-slim AS build
WORKDIR /src
RUN npm i -g -E pnpm@12.4.2
COPY . .
RUN pnpm install --frozen-lockfile && pnpm run build && pnpm --filter @gateway/gateway deploy --prod /app

FROM node:24-bookworm-slim
WORKDIR /app
COPY --from=build /app /app
USER node
EXPOSE 8080 8443 10254
ENTRYPOINT ["node", "/app/dist/cli.js"]
CMD ["--config", "/etc/ingress-gateway"]
