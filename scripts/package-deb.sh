#!/usr/bin/env bash
# Builds the .deb (target/debian/nodepulse_*.deb) with dpkg-deb from a staged tree, then checks
# what it holds. Needs only what Debian's dpkg and binutils install: no packaging tool to compile.
set -euo pipefail
cd "$(dirname "$0")/.."
# What the package holds is readable by all, whatever the caller's umask.
umask 022

target="${CARGO_TARGET_DIR:-target}"
cargo build --release --locked
binary="$target/release/nodepulse"
version="$("$binary" --version | awk '{ print $2 }')-1"
arch=$(dpkg --print-architecture)
deb="$target/debian/nodepulse_${version}_${arch}.deb"

stage=$(mktemp -d)
tmp=$(mktemp -d)
trap 'rm -rf "$stage" "$tmp"' EXIT
chmod 755 "$stage"
install_file() { # MODE SOURCE DESTINATION (relative to the package root)
  install -D -m "$1" "$2" "$stage/$3"
}

# The release build keeps its symbol table (the symbol-order check reads it); the package does not.
install -d "$stage/usr/bin"
strip --strip-all -o "$stage/usr/bin/nodepulse" "$binary"
install_file 644 systemd/nodepulse.service lib/systemd/system/nodepulse.service
install_file 644 systemd/nodepulse-serve.service lib/systemd/system/nodepulse-serve.service
install_file 644 packaging/nodepulse.toml etc/nodepulse/nodepulse.toml
install_file 644 packaging/serve.toml etc/nodepulse/serve.toml
install_file 644 README.md usr/share/doc/nodepulse/README.md
install -d "$stage/usr/share/man/man1" "$stage/usr/share/bash-completion/completions" \
           "$stage/usr/share/zsh/vendor-completions" "$stage/usr/share/fish/vendor_completions.d"
"$binary" man | gzip -9n > "$stage/usr/share/man/man1/nodepulse.1.gz"
"$binary" completions bash > "$stage/usr/share/bash-completion/completions/nodepulse"
"$binary" completions zsh > "$stage/usr/share/zsh/vendor-completions/_nodepulse"
"$binary" completions fish > "$stage/usr/share/fish/vendor_completions.d/nodepulse.fish"
{
  echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
  echo "Upstream-Name: nodepulse"
  echo "Copyright: 2026, nodepulse developers"
  echo "License: MIT"
  sed 's/^$/./; s/^/ /' LICENSE
} > "$stage/usr/share/doc/nodepulse/copyright"

# The newest glibc symbol version the binary links against is the libc6 it needs.
glibc=$(readelf -V --wide "$binary" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)
[ -n "$glibc" ] || { echo "package: no glibc symbol version in $binary" >&2; exit 1; }
install -d "$stage/DEBIAN"
cat > "$stage/DEBIAN/control" <<EOF
Package: nodepulse
Version: $version
Architecture: $arch
Section: net
Priority: optional
Maintainer: nodepulse developers <nodepulse@users.noreply.invalid>
Installed-Size: $(du -sk --exclude=DEBIAN "$stage" | cut -f1)
Depends: libc6 (>= $glibc)
Description: telemetry sidecar and receiver for blockchain nodes
 nodepulse runs beside an unmodified blockchain node, scrapes its Prometheus
 endpoint, samples the host, and forwards standard payloads: beaconcha.in
 client-stats for Ethereum consensus clients, Prometheus Pushgateway pushes, and
 WebSocket telemetry for Starknet and Substrate nodes. \`nodepulse serve\` is a
 self-hosted receiver for all of them (SQLite or PostgreSQL).
EOF
printf '%s\n' /etc/nodepulse/nodepulse.toml /etc/nodepulse/serve.toml > "$stage/DEBIAN/conffiles"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) \
  > "$stage/DEBIAN/md5sums"

# The same sources give the same bytes: every timestamp is the commit's.
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}"
find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
mkdir -p "$target/debian"
rm -f "$target"/debian/nodepulse_*.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null

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
if grep -v '^-rw-r--r-- root/root \|^-rwxr-xr-x root/root .*/usr/bin/nodepulse$\|^drwxr-xr-x root/root ' \
     <<<"$contents"; then
  fail "$deb holds a file that is not root's or has the wrong mode (above)"
fi
[ "$(dpkg-deb --field "$deb" Package)" = nodepulse ] || fail "wrong package name"
for conffile in /etc/nodepulse/nodepulse.toml /etc/nodepulse/serve.toml; do
  dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -qx "$conffile" \
    || fail "$conffile is not a conffile"
done
dpkg-deb --extract "$deb" "$tmp"
(cd "$tmp" && dpkg-deb --ctrl-tarfile "$OLDPWD/$deb" | tar -xO ./md5sums | md5sum --quiet -c -) \
  || fail "a file does not match its md5sum"
"$tmp/usr/bin/nodepulse" --version | grep -q '^nodepulse ' || fail "the packaged binary does not run"
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
