# Sourced by the tools that run a pinned Python tool with forge on PATH (slither.sh, halmos.sh).
# pinned_tool VENV PACKAGE VERSION BINARY: installs PACKAGE==VERSION into VENV unless `BINARY --version` already
# names VERSION; then puts the native forge of this project first on PATH.
pinned_tool() {
  local venv=$1 package=$2 version=$3 binary=$4
  if ! "$venv/bin/$binary" --version 2>/dev/null | grep -q "\b$version$"; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$package==$version"
  fi
  local plat
  plat=$(node -p "process.platform + '-' + (process.arch === 'x64' ? 'amd64' : process.arch)")
  export PATH="$root/node_modules/@foundry-rs/forge-$plat/bin:$PATH"
}
