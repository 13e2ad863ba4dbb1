# syntax=docker/dockerfile:1
# Four images from one file: the web dashboard and the worker (distributed mode, see docker-compose.yml), each for CPU
# or CUDA:
#   docker build --target cpu         -t training-dashboard:cpu  .
#   docker build --target cuda        -t training-dashboard:cuda .   (run with --gpus all)
#   docker build --target worker-cpu  -t training-dashboard-worker:cpu  .
#   docker build --target worker-cuda -t training-dashboard-worker:cuda .
# The web images listen on port 8080 inside the container and keep their state in /data (mount a volume there). Listening beyond
# loopback needs an access token: docker run -e Security__AccessToken=<16+ characters> …

# The SDK matches global.json (feature band 10.0.4xx, rolled forward to its newest patch).
FROM mcr.microsoft.com/dotnet/sdk:10.0.401 AS source
WORKDIR /src
COPY . .

FROM source AS build-cpu
RUN dotnet publish src/Dashboard.Web/Dashboard.Web.csproj -c Release -o /app -p:TorchBackend=cpu

# TorchSharp-cuda-linux bundles libtorch with CUDA and cuDNN; the host only needs the NVIDIA driver.
FROM source AS build-cuda
RUN dotnet publish src/Dashboard.Web/Dashboard.Web.csproj -c Release -o /app -p:TorchBackend=cuda

FROM source AS build-worker-cpu
RUN dotnet publish src/Dashboard.Worker/Dashboard.Worker.csproj -c Release -o /app -p:TorchBackend=cpu

FROM source AS build-worker-cuda
RUN dotnet publish src/Dashboard.Worker/Dashboard.Worker.csproj -c Release -o /app -p:TorchBackend=cuda

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
ENV Storage__DataDirectory=/data \
    Urls=http://0.0.0.0:8080 \
    DASHBOARD_CONTENT_ROOT=/app
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["dotnet", "Dashboard.Web.dll"]

FROM runtime AS cuda
ENV NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    Training__Device=auto
COPY --from=build-cuda /app .

FROM runtime AS cpu
ENV Training__Device=cpu
COPY --from=build-cpu /app .

# Workers have no web UI and listen on nothing; they need PostgreSQL, Redis and the shared /data (see docker-compose.yml).
FROM runtime AS worker-runtime
ENTRYPOINT ["dotnet", "Dashboard.Worker.dll"]

FROM worker-runtime AS worker-cpu
ENV Training__Device=cpu
COPY --from=build-worker-cpu /app .

FROM worker-runtime AS worker-cuda
ENV NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    Training__Device=auto
COPY --from=build-worker-cuda /app .
