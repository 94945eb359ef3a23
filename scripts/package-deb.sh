#!/usr/bin/env bash
# Builds the .deb (target/debian/nodepulse_*.deb) and checks what it holds with dpkg-deb.
# Installs cargo-deb from crates.io when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo-deb >/dev/null 2>&1 || cargo install cargo-deb --locked

# cargo-deb reads `target/release/...` assets from the real target directory.
release="${CARGO_TARGET_DIR:-target}/release"
cargo build --release --locked
mkdir -p "$release/assets"
"$release/nodepulse" man | gzip -9n > "$release/assets/nodepulse.1.gz"
"$release/nodepulse" completions bash > "$release/assets/nodepulse.bash"
"$release/nodepulse" completions zsh > "$release/assets/_nodepulse"
"$release/nodepulse" completions fish > "$release/assets/nodepulse.fish"
rm -f "${CARGO_TARGET_DIR:-target}"/debian/nodepulse_*.deb
cargo deb --no-build
deb=$(ls "${CARGO_TARGET_DIR:-target}"/debian/nodepulse_*.deb)

fail() { echo "package check: $*" >&2; exit 1; }
contents=$(dpkg-deb --contents "$deb")
for path in ./usr/bin/nodepulse ./lib/systemd/system/nodepulse.service ./etc/nodepulse/nodepulse.toml \
            ./lib/systemd/system/nodepulse-serve.service ./etc/nodepulse/serve.toml \
            ./usr/share/man/man1/nodepulse.1.gz ./usr/share/bash-completion/completions/nodepulse \
            ./usr/share/zsh/vendor-completions/_nodepulse \
            ./usr/share/fish/vendor_completions.d/nodepulse.fish \
            ./usr/share/doc/nodepulse/README.md ./usr/share/doc/nodepulse/copyright; do
  grep -q " $path\$" <<<"$contents" || fail "$deb lacks $path"
done
[ "$(dpkg-deb --field "$deb" Package)" = nodepulse ] || fail "wrong package name"
for conffile in /etc/nodepulse/nodepulse.toml /etc/nodepulse/serve.toml; do
  dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -qx "$conffile" \
    || fail "$conffile is not a conffile"
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb --extract "$deb" "$tmp"
"$tmp/usr/bin/nodepulse" --version | grep -q '^nodepulse ' || fail "the packaged binary does not run"
# The release build keeps its symbol table; the package must not.
if readelf -S "$tmp/usr/bin/nodepulse" | grep -q '\.symtab'; then fail "the packaged binary is not stripped"; fi
# Each completion script is the shell's own and knows the subcommands.
grep -q '^#compdef nodepulse' "$tmp/usr/share/zsh/vendor-completions/_nodepulse" || fail "zsh completion is not one"
grep -q "complete -c nodepulse" "$tmp/usr/share/fish/vendor_completions.d/nodepulse.fish" || fail "fish completion is not one"
for script in "$tmp/usr/share/bash-completion/completions/nodepulse" \
              "$tmp/usr/share/zsh/vendor-completions/_nodepulse" \
              "$tmp/usr/share/fish/vendor_completions.d/nodepulse.fish"; do
  grep -q "profiles" "$script" || fail "$script lacks the profiles subcommand"
  grep -q "serve" "$script" || fail "$script lacks the serve subcommand"
done
echo "package check: $deb holds the binary, both units, conffiles, man page, completions and docs"
