#!/usr/bin/env bash
# Builds Release and puts the two executables in ./bin: gpu-dev (NativeAOT) and gpu-dev-server.
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
mkdir -p bin
dotnet publish src/GpuDev.Cli/GpuDev.Cli.csproj -c Release -r linux-x64 -p:PublishAot=true -o artifacts/publish/cli --nologo -v quiet
dotnet publish src/GpuDev.Server/GpuDev.Server.csproj -c Release -r linux-x64 --self-contained false \
  -p:PublishSingleFile=true -p:IncludeNativeLibrariesForSelfExtract=true -o artifacts/publish/server --nologo -v quiet
install -m 0755 artifacts/publish/cli/gpu-dev bin/gpu-dev
install -m 0755 artifacts/publish/server/gpu-dev-server bin/gpu-dev-server
cp artifacts/publish/server/appsettings.json bin/appsettings.json
echo "built: bin/gpu-dev bin/gpu-dev-server"
