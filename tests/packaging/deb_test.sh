#!/usr/bin/env bash
# ctest "package: deb": builds the Debian package with CPack from the build tree, unpacks it
# with dpkg-deb and checks the file list, the conffiles, the maintainer scripts, the packaged
# unit (systemd-analyze verify), the packaged sysusers file (systemd-sysusers --root creates
# the user) and lintian (no error-severity finding).
# Usage: deb_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

for p in cpack dpkg-deb lintian systemd-analyze systemd-sysusers; do
  command -v "$p" >/dev/null || fail "$p is not installed (scripts/setup.sh installs it)"
done

(cd "$build" && cpack -G DEB -B "$work/out" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; fail "cpack"; }
debs=("$work"/out/certwatch_*.deb)
[ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || fail "expected one certwatch_*.deb, got: ${debs[*]}"
deb=${debs[0]}
echo "package: $(basename "$deb")"

# File list: exactly these files (directories aside).
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print $6}' | sed 's|^\./|/|' | sort >"$work/files"
cat >"$work/expected" <<'LIST'
/etc/certwatch/certwatch.yaml
/lib/systemd/system/certwatch.service
/usr/bin/certwatch
/usr/lib/sysusers.d/certwatch.conf
/usr/lib/tmpfiles.d/certwatch.conf
/usr/share/certwatch/certwatch-rules.yml
/usr/share/certwatch/certwatch.json
/usr/share/doc/certwatch/README.md
/usr/share/doc/certwatch/changelog.Debian.gz
/usr/share/doc/certwatch/copyright
/usr/share/doc/certwatch/examples/certwatch.yaml
/usr/share/doc/certwatch/examples/minimal.yaml
LIST
sort -o "$work/expected" "$work/expected"
diff -u "$work/expected" "$work/files" || fail "file list differs (- expected, + packaged)"

dpkg-deb -x "$deb" "$work/root"
dpkg-deb -e "$deb" "$work/control"
[ "$(cat "$work/control/conffiles")" = "/etc/certwatch/certwatch.yaml" ] ||
  fail "conffiles: $(cat "$work/control/conffiles")"
grep -q '^Depends:.*libssl3' "$work/control/control" || fail "Depends lacks libssl3: $(cat "$work/control/control")"
grep -q 'systemd-sysusers certwatch.conf' "$work/control/postinst" || fail "postinst does not create the user"
for s in postinst prerm postrm; do sh -n "$work/control/$s" || fail "$s: syntax"; done

# The packaged binary runs, the packaged config is valid for it, and the unit verifies
# against the unpacked tree (ExecStart= must exist there).
"$work/root/usr/bin/certwatch" --version >/dev/null || fail "packaged binary does not run"
"$work/root/usr/bin/certwatch" config check --no-file-checks "$work/root/etc/certwatch/certwatch.yaml" >/dev/null ||
  fail "packaged config is refused by config check"
# The unpacked tree is the root; it gets the host's units (sysinit.target & co., without
# replacing the packaged one) and /bin/kill (ExecReload=), as an installed system has them.
cp -an /lib/systemd/system/. "$work/root/lib/systemd/system/"
mkdir -p "$work/root/bin" && cp /bin/kill "$work/root/bin/kill"
cmp -s "$work/root/lib/systemd/system/certwatch.service" <(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./lib/systemd/system/certwatch.service) ||
  fail "the unit under test is not the packaged one"
systemd-analyze verify --root="$work/root" --man=no /lib/systemd/system/certwatch.service 2>"$work/verify.log" || {
  cat "$work/verify.log"; fail "systemd-analyze verify"; }
if [ -s "$work/verify.log" ]; then cat "$work/verify.log"; fail "systemd-analyze verify printed warnings"; fi

# The sysusers file creates the service user (what postinst does on the host).
mkdir -p "$work/sysroot/etc"
: >"$work/sysroot/etc/passwd"; : >"$work/sysroot/etc/group"
systemd-sysusers --root="$work/sysroot" "$work/root/usr/lib/sysusers.d/certwatch.conf"
grep -q '^certwatch:x:[0-9]*:[0-9]*:certwatch certificate agent:/var/lib/certwatch:' "$work/sysroot/etc/passwd" ||
  fail "systemd-sysusers did not create certwatch: $(cat "$work/sysroot/etc/passwd")"

# lintian exits non-zero when a finding has error severity (--fail-on=error) or when it could
# not check; warnings and infos are printed, not failed.
rc=0
lintian --fail-on=error --tag-display-limit 0 "$deb" >"$work/lintian.log" 2>&1 || rc=$?
cat "$work/lintian.log"
grep -q '^E: ' "$work/lintian.log" && fail "lintian reports errors"
[ "$rc" -eq 0 ] || fail "lintian exited with $rc"
echo "ok"
