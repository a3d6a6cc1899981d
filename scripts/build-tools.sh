#!/usr/bin/env bash
# Builds the real Go tools that tests and benchmarks run against (never the product):
# OPA (server, `opa test`, `opa check`, `opa fmt`), Regal, the peers used by bench/, and the test
# cluster's kube-apiserver and etcd.
# Each tool is pinned and built once into .tools/bin (git-ignored); a tool already built
# at the pinned version is reused, so CI and developers pay the build cost once per machine.
#
# Usage: scripts/build-tools.sh [opa] [regal] [conftest] [kubeconform] [kube-apiserver] [etcd]
#        (default: opa regal)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
bin="$here/.tools/bin"
mkdir -p "$bin"

declare -A MODULE=(
  [opa]=github.com/open-policy-agent/opa
  [regal]=github.com/styrainc/regal
  [conftest]=github.com/open-policy-agent/conftest
  [kubeconform]=github.com/yannh/kubeconform/cmd/kubeconform
  [kube-apiserver]=k8s.io/kubernetes
  [etcd]=go.etcd.io/etcd/server/v3
)
declare -A VERSION=(
  [opa]=v1.22.3
  [regal]=v0.35.1
  [conftest]=v0.71.1
  [kubeconform]=v0.7.0
  [kube-apiserver]=v1.35.4
  [etcd]=v3.6.17
)

# kube-apiserver: k8s.io/kubernetes's go.mod replaces each of its staging modules
# (k8s.io/api, k8s.io/apiserver, ...) with a folder of its own repository, which `go build`
# outside that repository cannot follow. The throwaway module replaces each one with the
# published v0.<minor>.<patch> of the same release instead.
build_kube_apiserver() {
  local version=$1 out=$2 staging=v0.${1#v1.}
  go mod init tenancy-kube >/dev/null 2>&1
  go mod download -json "k8s.io/kubernetes@$version" \
    | python3 -c 'import json, sys; print(open(json.load(sys.stdin)["GoMod"]).read())' \
    | sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/.*#\1#p' > staging.txt
  [ -s staging.txt ] || { echo "no staging modules found in k8s.io/kubernetes $version" >&2; exit 1; }
  {
    echo "require k8s.io/kubernetes $version"
    while read -r m; do echo "replace $m => $m $staging"; done < staging.txt
  } >> go.mod
  printf '//go:build tools\n\npackage tools\n\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver"\n' > tools.go
  GOFLAGS=-mod=mod go mod tidy >/dev/null
  local minor=${version#v1.}; minor=${minor%%.*}
  CGO_ENABLED=0 go build -p 2 -trimpath -o "$out" -ldflags "-s -w \
    -X k8s.io/component-base/version.gitVersion=$version \
    -X k8s.io/component-base/version.gitMajor=1 \
    -X k8s.io/component-base/version.gitMinor=$minor \
    -X k8s.io/component-base/version.gitTreeState=clean" \
    k8s.io/kubernetes/cmd/kube-apiserver
}

# etcd: the server module's own main package sits behind replace directives too; a five-line
# main that calls etcdmain.Main is the same program.
build_etcd() {
  local version=$1 out=$2
  go mod init tenancy-etcd >/dev/null 2>&1
  printf 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n' > main.go
  GOFLAGS=-mod=mod go get "go.etcd.io/etcd/server/v3@$version" >/dev/null
  GOFLAGS=-mod=mod go mod tidy >/dev/null
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out" .
}

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
    case $tool in
      kube-apiserver) build_kube_apiserver "$version" "$bin/$tool" ;;
      etcd) build_etcd "$version" "$bin/$tool" ;;
      *)
        go mod init tenancy-tools >/dev/null 2>&1
        GOFLAGS=-mod=mod go get "$module@$version" >/dev/null
        CGO_ENABLED=0 go build -trimpath -o "$bin/$tool" "$module"
        ;;
    esac
  )
  rm -rf "$work"
  echo "$version" > "$stamp"
done
