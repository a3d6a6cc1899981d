#!/usr/bin/env bash
# Builds the real Go tools that tests and benchmarks run against (never the product):
# OPA (server, `opa test`, `opa check`, `opa fmt`), Regal, and the peers used by bench/.
# Each tool is pinned and built once into .tools/bin (git-ignored); a tool already built
# at the pinned version is reused, so CI and developers pay the build cost once per machine.
#
# Usage: scripts/build-tools.sh [opa] [regal] [conftest] [kubeconform]   (default: opa regal)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
bin="$here/.tools/bin"
mkdir -p "$bin"

declare -A MODULE=(
  [opa]=github.com/open-policy-agent/opa
  [regal]=github.com/styrainc/regal
  [conftest]=github.com/open-policy-agent/conftest
  [kubeconform]=github.com/yannh/kubeconform/cmd/kubeconform
)
declare -A VERSION=(
  [opa]=v1.22.3
  [regal]=v0.35.1
  [conftest]=v0.71.1
  [kubeconform]=v0.7.0
)

tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=(opa regal)

for tool in "${tools[@]}"; do
  module=${MODULE[$tool]:?unknown tool $tool}
  version=${VERSION[$tool]}
  stamp="$bin/.$tool.version"
  if [ -x "$bin/$tool" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
    continue
  fi
  echo "building $tool $version (once; cached in .tools/bin)" >&2
  # Build inside a throwaway module rather than `go install MODULE@VERSION`: the latter also
  # fetches the module's version list to check for deprecation, which the proxy refuses for
  # some modules (regal), while the pinned version itself is served and checksum-verified.
  work=$(mktemp -d)
  (
    cd "$work"
    go mod init tenancy-tools >/dev/null 2>&1
    GOFLAGS=-mod=mod go get "$module@$version" >/dev/null
    CGO_ENABLED=0 go build -trimpath -o "$bin/$tool" "$module"
  )
  rm -rf "$work"
  echo "$version" > "$stamp"
done
